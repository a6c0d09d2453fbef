/**
 * unbound as a validating resolver forwarding the signed test zones to poolsink (issue 17): the
 * zones' DS records as trust anchors, loopback only, a free port, no chroot, no user switch, no
 * root trust anchor (other names are simply insecure), caching off so every query reaches poolsink.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasProgram, startDnsChild } from './dns-child.js';
import { freeDnsPort } from './free-port.js';

export interface UnboundServer {
  readonly port: number;
  stop(): Promise<void>;
}

export function hasUnbound(): boolean {
  return hasProgram('unbound');
}

export async function startUnbound(options: {
  forwardPort: number;
  zones: readonly string[];
  dsRecords: string;
}): Promise<UnboundServer> {
  const dir = await mkdtemp(join(tmpdir(), 'poolsink-unbound-'));
  try {
    const port = await freeDnsPort();
    await writeFile(join(dir, 'anchors'), options.dsRecords);
    const forwards = options.zones.map(
      (zone) => `forward-zone:\n  name: "${zone}"\n  forward-addr: 127.0.0.1@${options.forwardPort}\n`,
    );
    const conf = [
      'server:',
      '  interface: 127.0.0.1',
      `  port: ${port}`,
      '  do-ip6: no',
      '  access-control: 127.0.0.0/8 allow',
      '  do-not-query-localhost: no',
      '  chroot: ""',
      '  username: ""',
      `  directory: "${dir}"`,
      '  pidfile: ""',
      '  use-syslog: no',
      '  logfile: ""',
      '  verbosity: 1',
      '  msg-cache-size: 0',
      '  rrset-cache-size: 0',
      '  key-cache-size: 0',
      '  val-log-level: 2',
      '  ede: yes',
      '  local-zone: "test." nodefault', // RFC 6761 names are local to unbound by default
      `  trust-anchor-file: "${join(dir, 'anchors')}"`,
      ...forwards,
      '',
    ].join('\n');
    await writeFile(join(dir, 'unbound.conf'), conf);
    const child = await startDnsChild('unbound', ['-d', '-c', join(dir, 'unbound.conf')], port, 'www.nsec.test');
    return {
      port,
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
