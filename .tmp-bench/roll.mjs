const b = await import('/work/wt-writer/dist/store/batch-writer.js');
const N = 400000, B = 512;
const text = Array.from({ length: N }, (_, i) => `r${i}-x.pool-${i % 100000}.bench-mining.test`).join('');
let pos = 0;
const events = Array.from({ length: N }, (_, i) => { const q = `r${i}-x.pool-${i % 100000}.bench-mining.test`; const qn = text.slice(pos, pos + q.length); pos += q.length; return { timeMs: Date.now(), clientIp: '127.0.0.1', clientPort: 1, protocol: 'udp', qname: qn, qtype: 1, list: 'bench', rule: 'x', action: 'blocked', answer: 'nxdomain' }; });
for (let rep = 0; rep < 3; rep++) {
  const t0 = process.cpuUsage();
  let r = b.createRollups();
  for (let s = 0; s < N; s += B) { b.addEvents(r, events, s, Math.min(N, s + B)); if (r.keys >= 50000) r = b.createRollups(); }
  const u = process.cpuUsage(t0);
  console.log(((u.user + u.system) / N).toFixed(2), 'us/event addEvents');
}
