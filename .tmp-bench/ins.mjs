import { pino } from 'pino';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
const db_ = await import('/work/wt-writer/dist/store/database.js');
const { reverseName } = await import('/work/wt-writer/dist/store/reversed-names.js');
const mode = process.argv[2]; const R = Number(process.argv[3] ?? 1); const dropIdx = process.argv[4] ?? '';
const conn = db_.openStoreConnection(join(mkdtempSync(join(tmpdir(), 'ins-')), 'p.db'), { log: pino({ level: 'silent' }) });
const db = conn.db;
for (const i of dropIdx.split(',').filter(Boolean)) db.exec(`DROP INDEX ${i}`);
const cols = '(time_ms, client_ip, client_port, protocol, qname, rname, qtype, list, rule, action, answer, via, incident_id, identity_id, count, last_ms)';
const one = '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';
const stmtR = db.prepare(`INSERT INTO events ${cols} VALUES ${Array(R).fill(one).join(',')}`);
const stmt1 = db.prepare(`INSERT INTO events ${cols} VALUES ${one}`);
const params = new Array(16 * R);
const N = 300000, B = 500;
let off = 0;
const cpu = () => { const u = process.cpuUsage(); return u.user + u.system; };
const ev = (i) => { const q = `r${i}-x.pool-${(process.env.SEQ ? i % 100000 : (i * 7919) % 100000)}.bench-mining.test`; return [Date.now(), '127.0.0.1', 1024 + (i % 60000), 'udp', q, reverseName(q), 1, 'bench', `pool-${i % 100000}.bench-mining.test`, 'blocked', 'nxdomain', null, 1, null, 1, null]; };
const t0 = cpu();
for (let b = 0; b < N / B; b++) {
  const rows = Array.from({ length: B }, (_, j) => ev(off + j)); off += B;
  db.transaction(() => {
    let j = 0;
    if (mode === 'multi') for (; j + R <= B; j += R) { for (let k = 0; k < R; k++) { const r = rows[j + k]; for (let c = 0; c < 16; c++) params[k * 16 + c] = r[c]; } stmtR.run(params); }
    for (; j < B; j++) stmt1.run(...rows[j]);
  }).immediate();
}
console.log(mode, R, dropIdx, ((cpu() - t0) / N).toFixed(2), 'us/row (incl. row building)');
