/**
 * BIND 9 (`named -g`) as a DNSSEC-signed authoritative upstream for interop tests (issue 17). At
 * start it writes two zones in a temp dir, signs them with fresh keys (dnssec-keygen,
 * dnssec-signzone): `nsec.test` with NSEC and `nsec3.test` with NSEC3 (no salt, 0 iterations),
 * each with a wildcard, a CNAME chain, a large TXT, one too large for UDP, and a pool name that tests block. Listens on
 * 127.0.0.1 only, on a free port; no rndc, no recursion.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startDnsChild, hasProgram } from './dns-child.js';
import { freeDnsPort } from './free-port.js';

const run = promisify(execFile);

export const SIGNED_ZONES = ['nsec.test', 'nsec3.test'] as const;

export interface BindServer {
  readonly port: number;
  /** The zones' DS records (dsset files), for a validator's trust anchors. */
  readonly dsRecords: string;
  stop(): Promise<void>;
}

export function hasBind(): boolean {
  return hasProgram('named') && hasProgram('dnssec-signzone') && hasProgram('dnssec-keygen');
}

function zoneText(zone: string): string {
  const bigTxt = Array.from({ length: 4 }, (_, i) => `"${`t${i}`.repeat(100)}"`).join(' ');
  const hugeTxt = Array.from({ length: 8 }, (_, i) => `"${`h${i}`.repeat(120)}"`).join(' ');
  return [
    '$TTL 300',
    `@ IN SOA ns.${zone}. admin.${zone}. 1 3600 600 86400 300`,
    `@ IN NS ns.${zone}.`,
    'ns IN A 127.0.0.1',
    'www IN A 192.0.2.10',
    '*.wild IN A 192.0.2.20',
    'c1 IN CNAME c2',
    'c2 IN CNAME www',
    `big IN TXT ${bigTxt}`,
    `huge IN TXT ${hugeTxt}`, // past 1232 bytes: BIND truncates over UDP
    'pool IN A 192.0.2.66',
    '',
  ].join('\n');
}

export async function startBind(): Promise<BindServer> {
  const dir = await mkdtemp(join(tmpdir(), 'poolsink-bind-'));
  try {
    let dsRecords = '';
    for (const zone of SIGNED_ZONES) {
      await writeFile(join(dir, `${zone}.zone`), zoneText(zone));
      await run('dnssec-keygen', ['-q', '-K', dir, '-a', 'ECDSAP256SHA256', '-f', 'KSK', zone], { cwd: dir });
      const nsec3 = zone === 'nsec3.test' ? ['-3', '-', '-H', '0'] : [];
      const signArgs = ['-q', '-z', '-S', '-K', dir, ...nsec3, '-o', zone, '-f', `${zone}.signed`, `${zone}.zone`];
      await run('dnssec-signzone', signArgs, { cwd: dir });
      dsRecords += await readFile(join(dir, `dsset-${zone}.`), 'utf8');
    }
    const port = await freeDnsPort();
    const zones = SIGNED_ZONES.map((zone) => `zone "${zone}" { type primary; file "${zone}.signed"; };`);
    const conf = [
      `options { directory "${dir}"; listen-on port ${port} { 127.0.0.1; }; listen-on-v6 { none; };`,
      '  recursion no; dnssec-validation no; minimal-responses no; pid-file none; session-keyfile none; };',
      'controls { };',
      ...zones,
      '',
    ].join('\n');
    await writeFile(join(dir, 'named.conf'), conf);
    const child = await startDnsChild('named', ['-g', '-c', join(dir, 'named.conf')], port, 'www.nsec.test');
    return {
      port,
      dsRecords,
      async stop() {
        await child.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err: unknown) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
