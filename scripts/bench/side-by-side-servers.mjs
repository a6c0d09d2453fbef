/**
 * The servers `side-by-side.mjs` compares, each started on its own 127.0.0.1 port with a local
 * upstream stand-in (never the internet): how to configure and start dnsmasq, unbound, dnsdist
 * and poolsink for the same three loads. "Blocked" means each server's own way to answer a listed
 * name with NXDOMAIN: dnsmasq `address=/name/`, unbound `local-zone: always_nxdomain`, a dnsdist
 * SuffixMatchNode rule, poolsink's blocklist. Every server caches (100,000 entries) and forwards
 * everything else to the upstream stand-in.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchPoolsinkYamlLines } from './poolsink-config.mjs';

export const FOREIGN_SERVERS = [
  { name: 'dnsmasq', binary: '/usr/sbin/dnsmasq', package: 'dnsmasq' },
  { name: 'unbound', binary: '/usr/sbin/unbound', package: 'unbound' },
  { name: 'dnsdist', binary: '/usr/bin/dnsdist', package: 'dnsdist' },
];

export function installed(server) {
  return existsSync(server.binary);
}

function listNames(listFile) {
  return readFileSync(listFile, 'utf8')
    .split('\n')
    .filter((line) => line !== '');
}

/** argv (and files written in `dir`) to start `name` on `port`, forwarding to `upstreamPort`. */
export function serverArgv(name, { dir, port, upstreamPort, listFile, distDir }) {
  switch (name) {
    case 'dnsmasq': {
      const conf = join(dir, 'dnsmasq.conf');
      const lines = [
        'no-resolv',
        'no-hosts',
        'no-poll',
        'bind-interfaces',
        'listen-address=127.0.0.1',
        `port=${port}`,
        `server=127.0.0.1#${upstreamPort}`,
        'cache-size=100000',
        'dns-forward-max=10000',
        'user=root',
        'pid-file=',
        ...listNames(listFile).map((domain) => `address=/${domain}/`),
      ];
      writeFileSync(conf, `${lines.join('\n')}\n`);
      return ['/usr/sbin/dnsmasq', '--keep-in-foreground', `--conf-file=${conf}`, '--log-facility=-'];
    }
    case 'unbound': {
      const conf = join(dir, 'unbound.conf');
      const zones = listNames(listFile).map((domain) => `  local-zone: "${domain}." always_nxdomain`);
      const lines = [
        'server:',
        '  interface: 127.0.0.1',
        `  port: ${port}`,
        '  do-ip6: no',
        '  do-tcp: yes',
        '  do-daemonize: no',
        '  use-syslog: no',
        '  logfile: ""',
        '  verbosity: 0',
        '  chroot: ""',
        '  username: ""',
        `  directory: "${dir}"`,
        '  pidfile: ""',
        '  num-threads: 1',
        '  so-reuseport: no',
        '  access-control: 127.0.0.0/8 allow',
        '  module-config: "iterator"',
        '  do-not-query-localhost: no',
        '  qname-minimisation: no',
        '  msg-cache-size: 64m',
        '  rrset-cache-size: 128m',
        '  local-zone: "test." nodefault', // the bench names are under test. (RFC 6761), served by default as NXDOMAIN
        '  outgoing-range: 4096',
        '  num-queries-per-thread: 4096',
        ...zones,
        'forward-zone:',
        '  name: "."',
        `  forward-addr: 127.0.0.1@${upstreamPort}`,
      ];
      writeFileSync(conf, `${lines.join('\n')}\n`);
      return ['/usr/sbin/unbound', '-d', '-c', conf];
    }
    case 'dnsdist': {
      const conf = join(dir, 'dnsdist.conf');
      const lines = [
        'setSecurityPollSuffix("")', // no security polling: it would query the internet
        `setLocal("127.0.0.1:${port}")`,
        `newServer({address="127.0.0.1:${upstreamPort}", healthCheckMode="up"})`,
        'setServerPolicy(firstAvailable)',
        'getPool(""):setCache(newPacketCache(100000, {maxTTL=86400}))',
        'local blocked = newSuffixMatchNode()',
        `for line in io.lines("${listFile}") do if line ~= "" then blocked:add(line) end end`,
        'addAction(SuffixMatchNodeRule(blocked), RCodeAction(DNSRCode.NXDOMAIN))',
      ];
      writeFileSync(conf, `${lines.join('\n')}\n`);
      return ['/usr/bin/dnsdist', '--supervised', '--disable-syslog', '-C', conf];
    }
    case 'poolsink': {
      const conf = join(dir, 'poolsink-side-by-side.yaml');
      const lines = [
        ...benchPoolsinkYamlLines({ port, upstreamPort, listFile }),
        'admin: { listen: "127.0.0.1:0" }', // any free port: several poolsink builds may run side by side (BENCH_COMPARE)
        `database: { path: ${JSON.stringify(join(dir, 'poolsink-side-by-side.db'))} }`,
      ];
      writeFileSync(conf, `${lines.join('\n')}\n`);
      return [process.execPath, join(distDir, 'cli.js'), 'serve', '--config', conf];
    }
    default:
      throw new Error(`unknown server ${name}`);
  }
}
