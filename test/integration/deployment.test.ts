/**
 * The deployment artifacts, each alone and how they fit together: Dockerfile, .dockerignore,
 * docker-compose.yml, deploy/poolsink.service and the two configurations in deploy/. No Docker
 * engine or systemd runs here, so these tests read the files, load the configurations through the
 * real loader, run the healthcheck command against a local HTTP server, and let
 * `systemd-analyze verify` read the unit. scripts/check-compose.sh validates docker-compose.yml
 * with a Compose client; deploy/rehearse-image.sh runs the image layout for real.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, join, posix } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { runCli } from '../helpers/cli.js';

const ROOT = join(import.meta.dirname, '..', '..');
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');
const tmp = mkdtempSync(join(tmpdir(), 'poolsink-deployment-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// ---------------------------------------------------------------------------------------------
// Dockerfile

interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

/** Instructions by stage: continuation lines joined, comments dropped. */
function parseDockerfile(text: string): Instruction[][] {
  const logical: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue; // a comment inside a continued instruction
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trimEnd()} `;
      continue;
    }
    logical.push(pending + line);
    pending = '';
  }
  const stages: Instruction[][] = [[]];
  for (const line of logical) {
    const space = line.indexOf(' ');
    const keyword = (space < 0 ? line : line.slice(0, space)).toUpperCase();
    const args = space < 0 ? '' : line.slice(space + 1).trim();
    if (keyword === 'FROM') stages.push([]);
    stages[stages.length - 1]?.push({ keyword, args });
  }
  return stages;
}

const dockerfile = parseDockerfile(read('Dockerfile'));
const preamble = dockerfile[0] ?? [];
const buildStage = dockerfile[1] ?? [];
const runtimeStage = dockerfile[dockerfile.length - 1] ?? [];
const all = (stage: readonly Instruction[], keyword: string): string[] =>
  stage.filter((i) => i.keyword === keyword).map((i) => i.args);
const one = (stage: readonly Instruction[], keyword: string): string => {
  const found = all(stage, keyword);
  expect(found, `exactly one ${keyword}`).toHaveLength(1);
  return found[0] ?? '';
};
const jsonArray = (args: string): string[] => {
  const value: unknown = JSON.parse(args);
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string')) {
    throw new Error(`not a JSON array of strings: ${args}`);
  }
  return value;
};
/** COPY's sources and destination, without flags such as --from=build. */
const copyParts = (args: string): { from?: string; sources: string[]; dest: string } => {
  const words = args.split(/\s+/);
  const fromFlag = words.find((w) => w.startsWith('--from='));
  const paths = words.filter((w) => !w.startsWith('--'));
  const dest = paths.pop() ?? '';
  return { ...(fromFlag === undefined ? {} : { from: fromFlag.slice('--from='.length) }), sources: paths, dest };
};

/** Docker's .dockerignore rule: the last pattern matching the path or one of its parents wins. */
function inBuildContext(path: string): boolean {
  const patterns = read('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  let included = true;
  const prefixes = path.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
  for (const pattern of patterns) {
    const negated = pattern.startsWith('!');
    const glob = posix.normalize(negated ? pattern.slice(1) : pattern);
    if (glob !== '*' && /[*?[\]]/.test(glob))
      throw new Error(`this test understands only "*" and literal paths, not ${pattern}`);
    if (prefixes.some((p) => glob === '*' || glob === p)) included = negated;
  }
  return included;
}

describe('Dockerfile', () => {
  test('two stages on node:20-bookworm-slim; the build stage compiles (npm ci, build, prune --omit=dev)', () => {
    expect(preamble).toEqual([{ keyword: 'ARG', args: 'NODE_IMAGE=node:20-bookworm-slim' }]);
    expect(dockerfile).toHaveLength(3);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a Dockerfile variable, literally
    expect(one(buildStage, 'FROM')).toBe('${NODE_IMAGE} AS build');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a Dockerfile variable, literally
    expect(one(runtimeStage, 'FROM')).toBe('${NODE_IMAGE} AS runtime');
    const buildRuns = all(buildStage, 'RUN').join('\n');
    expect(buildRuns).toMatch(/apt-get install -y --no-install-recommends python3 make g\+\+/);
    expect(buildRuns).toMatch(/\bnpm ci\b/);
    expect(buildRuns).toMatch(/npm run build && npm prune --omit=dev/);
    // better-sqlite3 from source: no prebuilt binary download, no compiler in the runtime stage.
    expect(all(buildStage, 'ENV').join(' ')).toMatch(/npm_config_build_from_source=true/);
    expect(all(runtimeStage, 'RUN').join('\n')).not.toMatch(/apt-get|g\+\+|python3|npm /);
  });

  test('the runtime stage runs as a non-root numeric user and copies only what serve needs', () => {
    const [uid, gid] = one(runtimeStage, 'USER').split(':');
    expect(Number(uid)).toBeGreaterThanOrEqual(1000);
    expect(Number(gid)).toBeGreaterThanOrEqual(1000);
    expect(all(runtimeStage, 'RUN').join('\n')).toContain(`useradd --system --uid ${uid}`);
    expect(one(runtimeStage, 'WORKDIR')).toBe('/app');
    const copies = all(runtimeStage, 'COPY').map(copyParts);
    expect(copies.map((c) => [c.from ?? '(context)', ...c.sources, c.dest])).toEqual([
      ['build', '/src/package.json', './package.json'], // "type": "module": dist/*.js are ES modules
      ['build', '/src/node_modules', './node_modules'],
      ['build', '/src/dist', './dist'],
      ['(context)', 'blocklists', './blocklists'],
      ['(context)', 'deploy/poolsink.docker.yaml', '/etc/poolsink/poolsink.yaml'],
    ]);
    // USER comes after every COPY and RUN: nothing the process runs as can rewrite its own code.
    const userAt = runtimeStage.findIndex((i) => i.keyword === 'USER');
    expect(runtimeStage.slice(userAt).some((i) => i.keyword === 'COPY' || i.keyword === 'RUN')).toBe(false);
  });

  test('DNS on 53/udp and 53/tcp, admin on 8053, the data volume, and serve with the image config', () => {
    expect(one(runtimeStage, 'EXPOSE').split(/\s+/).sort()).toEqual(['53/tcp', '53/udp', '8053/tcp']);
    expect(jsonArray(one(runtimeStage, 'VOLUME'))).toEqual(['/var/lib/poolsink']);
    expect(jsonArray(one(runtimeStage, 'ENTRYPOINT'))).toEqual(['node', '/app/dist/cli.js']);
    expect(jsonArray(one(runtimeStage, 'CMD'))).toEqual(['serve', '--config', '/etc/poolsink/poolsink.yaml']);
  });

  test('every file the build copies from the context exists and passes .dockerignore; secrets and state do not', () => {
    const sources = dockerfile
      .flat()
      .filter((i) => i.keyword === 'COPY')
      .map((i) => copyParts(i.args))
      .filter((c) => c.from === undefined)
      .flatMap((c) => c.sources);
    expect(sources.length).toBeGreaterThan(3);
    for (const source of sources) {
      expect(existsSync(join(ROOT, source)), `${source} exists`).toBe(true);
      expect(inBuildContext(source), `${source} is in the build context`).toBe(true);
    }
    for (const outside of [
      'data/poolsink.db',
      'data/admin-token',
      '.env',
      'node_modules/pino/package.json',
      'dist/cli.js',
      '.git/config',
      'poolsink.yaml',
    ]) {
      expect(inBuildContext(outside), `${outside} stays out of the build context`).toBe(false);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The healthcheck command (Dockerfile HEALTHCHECK and docker-compose.yml healthcheck)

const HEALTH_URL = 'http://127.0.0.1:8053/healthz';

function dockerfileHealthcheck(): string[] {
  const args = one(runtimeStage, 'HEALTHCHECK');
  const cmd = args.indexOf('CMD ');
  expect(cmd).toBeGreaterThan(0);
  expect(args.slice(0, cmd)).toMatch(/--timeout=\d+s/);
  return jsonArray(args.slice(cmd + 'CMD '.length));
}

function runNode(args: readonly string[], timeoutMs = 10_000): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('healthcheck', () => {
  test('exits 0 when /healthz answers 200, 1 on 503, 1 when nothing listens', async () => {
    const [node, flag, script] = dockerfileHealthcheck();
    expect([node, flag]).toEqual(['node', '-e']);
    expect(script).toContain(HEALTH_URL);
    let status = 200;
    const paths: string[] = [];
    const server = createServer((req, res) => {
      paths.push(req.url ?? '');
      res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
    });
    const port = await listen(server);
    const against = (url: string): string => (script ?? '').replace(HEALTH_URL, url);
    try {
      expect(await runNode(['-e', against(`http://127.0.0.1:${port}/healthz`)])).toBe(0);
      status = 503;
      expect(await runNode(['-e', against(`http://127.0.0.1:${port}/healthz`)])).toBe(1);
      expect(paths).toEqual(['/healthz', '/healthz']);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(await runNode(['-e', against(`http://127.0.0.1:${port}/healthz`)])).toBe(1);
  });
});

// ---------------------------------------------------------------------------------------------
// docker-compose.yml

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
function field(value: unknown, key: string): unknown {
  if (!isRecord(value)) throw new Error(`not a mapping where ${key} was expected`);
  return value[key];
}
function strings(value: unknown): string[] {
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string'))
    throw new Error('not a list of strings');
  return value;
}

const compose: unknown = parseYaml(read('docker-compose.yml'));
const service = field(field(compose, 'services'), 'poolsink');

describe('docker-compose.yml', () => {
  test('publishes DNS on 53 udp and tcp, and the admin API on the host loopback only', () => {
    const ports = strings(field(service, 'ports'));
    expect(ports.filter((p) => p.endsWith(':53:53/udp'))).toHaveLength(1);
    expect(ports.filter((p) => p.endsWith(':53:53/tcp'))).toHaveLength(1);
    const admin = ports.filter((p) => /:8053\/tcp$|:8053$/.test(p));
    expect(admin).toEqual(['127.0.0.1:8053:8053/tcp']);
  });

  test('mounts the container config read-only where the image reads it, and a named volume at the data dir', () => {
    const volumes = strings(field(service, 'volumes'));
    const configMount = volumes.find((v) => v.includes(':/etc/poolsink/poolsink.yaml'));
    expect(configMount).toBe('./deploy/poolsink.docker.yaml:/etc/poolsink/poolsink.yaml:ro');
    // A bind-mount source that does not exist would make Docker create an empty directory there.
    expect(statSync(join(ROOT, 'deploy/poolsink.docker.yaml')).isFile()).toBe(true);
    const dataMount = volumes.find((v) => v.endsWith(':/var/lib/poolsink'));
    const volumeName = dataMount?.split(':')[0] ?? '';
    expect(volumeName).toMatch(/^[a-z][a-z0-9_-]*$/); // named, not a host path
    expect(Object.keys(field(compose, 'volumes') ?? {})).toContain(volumeName);
    expect(jsonArray(one(runtimeStage, 'VOLUME'))).toContain('/var/lib/poolsink');
  });

  test('runs with no capabilities: port 53 through the namespaced sysctl, no-new-privileges, read-only root', () => {
    expect(field(field(service, 'sysctls'), 'net.ipv4.ip_unprivileged_port_start')).toBe('0');
    expect(field(service, 'cap_drop')).toEqual(['ALL']);
    expect(field(service, 'cap_add')).toBeUndefined();
    expect(field(service, 'network_mode')).toBeUndefined(); // the sysctl needs a private namespace
    expect(field(service, 'privileged')).toBeUndefined();
    expect(strings(field(service, 'security_opt'))).toContain('no-new-privileges:true');
    expect(field(service, 'read_only')).toBe(true);
    expect(field(service, 'restart')).toBe('unless-stopped');
  });

  test('runs the same healthcheck as the Dockerfile and requires POOLSINK_UPSTREAMS', () => {
    expect(field(field(service, 'healthcheck'), 'test')).toEqual(['CMD', ...dockerfileHealthcheck()]);
    expect(String(field(field(service, 'environment'), 'POOLSINK_UPSTREAMS'))).toMatch(
      /^\$\{POOLSINK_UPSTREAMS:\?.+\}$/,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// deploy/poolsink.docker.yaml and deploy/poolsink.host.yaml through the real loader

const unitText = read('deploy/poolsink.service');

/** [Section] → key → every value given (systemd lets keys repeat). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header?.[1] !== undefined) {
      current = new Map();
      sections.set(header[1], current);
      continue;
    }
    const eq = line.indexOf('=');
    if (current === undefined || eq < 0) throw new Error(`unexpected unit line: ${line}`);
    const key = line.slice(0, eq);
    current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1)]);
  }
  return sections;
}
const unit = parseUnit(unitText);
const svc = (key: string): string[] => unit.get('Service')?.get(key) ?? [];

// Loaded inside each test, so a rejected file fails its tests and not the whole suite.
const dockerConfig = (): Config =>
  loadConfig({ file: join(ROOT, 'deploy/poolsink.docker.yaml'), env: { POOLSINK_UPSTREAMS: '10.0.0.2' } });
const hostConfig = (): Config => loadConfig({ file: join(ROOT, 'deploy/poolsink.host.yaml'), env: {} });

const fileLists = (config: Config): Config['blocklists'] =>
  config.blocklists.filter((list) => !/^https?:\/\//.test(list.source));
/** The URL lists of a configuration, as they are fetched (name, source, format, mode, refresh). */
const feeds = (config: Config) =>
  config.blocklists
    .filter((list) => /^https?:\/\//.test(list.source))
    .map(({ name, source, format, mode, refreshSec, maxShrinkPercent }) => ({
      name,
      source,
      format,
      mode,
      refreshSec,
      maxShrinkPercent,
    }));

describe('production configurations and the default one', () => {
  test('fetch the same feeds (NoCoin and CoinMiner) and load the same bundled lists, in the same modes', () => {
    const defaults = loadConfig({ file: join(ROOT, 'poolsink.yaml'), env: { POOLSINK_UPSTREAMS: '10.0.0.2' } });
    expect(feeds(defaults).map((list) => list.name)).toEqual(['nocoin', 'coinminer']);
    expect(feeds(dockerConfig())).toEqual(feeds(defaults));
    expect(feeds(hostConfig())).toEqual(feeds(defaults));
    const bundled = (config: Config): string[] =>
      fileLists(config).map(
        (list) => `${list.name} ${basename(list.source)} ${list.mode} ${list.severity ?? '(by mode)'}`,
      );
    expect(bundled(dockerConfig())).toEqual(bundled(defaults));
    expect(bundled(hostConfig())).toEqual(bundled(defaults));
  });
});

describe('deploy/poolsink.docker.yaml', () => {
  test('serves every interface of the container on 53, admin on the port the healthcheck and compose use', () => {
    const config = dockerConfig();
    expect(config.dns.listen).toEqual([{ host: '0.0.0.0', port: 53, family: 4 }]);
    expect(config.upstreams).toEqual([{ host: '10.0.0.2', port: 53, family: 4 }]);
    expect(config.admin.listen).toMatchObject({ host: '0.0.0.0', port: 8053 });
    expect(config.admin.token).toBeUndefined(); // generated into the volume, never baked into the image
  });

  test('keeps all state in the volume and reads lists from where the image puts them', () => {
    const config = dockerConfig();
    expect(config.dataDir).toBe('/var/lib/poolsink');
    expect(config.database.path.startsWith('/var/lib/poolsink/')).toBe(true);
    // WORKDIR /app + COPY blocklists ./blocklists: /app/blocklists/X is blocklists/X here.
    for (const list of fileLists(config)) {
      expect(list.source.startsWith('/app/blocklists/')).toBe(true);
      expect(existsSync(join(ROOT, list.source.slice('/app/'.length)))).toBe(true);
    }
  });

  test('with /app mapped to this checkout, `poolsink check` blocks a listed pool and passes an ordinary name', async () => {
    const mapped = join(tmp, 'docker.yaml');
    writeFileSync(
      mapped,
      read('deploy/poolsink.docker.yaml')
        .replaceAll('/app/', `${ROOT}/`)
        .replaceAll('/var/lib/poolsink', join(tmp, 'data')),
    );
    const result = await runCli(['check', '--files', '--config', mapped, 'pool.supportxmr.com', 'example.com'], {
      env: { POOLSINK_UPSTREAMS: '10.0.0.2' },
    });
    expect(result.stderr).toBe('');
    // The feeds have no downloaded copy here: `check` warns about them in JSON lines of its own.
    const verdicts = result.stdout
      .trim()
      .split('\n')
      .filter((line) => !line.startsWith('{'));
    expect(verdicts).toEqual(['pool.supportxmr.com block mining-pools supportxmr.com', 'example.com allow']);
  });
});

describe('deploy/poolsink.host.yaml', () => {
  test('serves the VM on 53 with an explicit cloud upstream; admin on loopback only', () => {
    const config = hostConfig();
    expect(config.dns.listen).toEqual([{ host: '0.0.0.0', port: 53, family: 4 }]);
    expect(config.upstreams).toEqual([{ host: '169.254.169.253', port: 53, family: 4 }]);
    expect(config.admin.listen).toMatchObject({ host: '127.0.0.1', port: 8053 });
  });

  test("keeps state in the unit's StateDirectory and reads lists from the unit's install directory", () => {
    const config = hostConfig();
    expect(svc('StateDirectory')).toEqual(['poolsink']);
    expect(config.dataDir).toBe('/var/lib/poolsink');
    expect(config.database.path.startsWith('/var/lib/poolsink/')).toBe(true);
    expect(svc('WorkingDirectory')).toEqual(['/opt/poolsink']);
    for (const list of fileLists(config)) {
      expect(list.source.startsWith('/opt/poolsink/blocklists/')).toBe(true);
      expect(existsSync(join(ROOT, list.source.slice('/opt/poolsink/'.length)))).toBe(true);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// deploy/poolsink.service

describe('deploy/poolsink.service', () => {
  test('a dedicated user whose only privilege is CAP_NET_BIND_SERVICE', () => {
    expect(svc('User')).toEqual(['poolsink']);
    expect(svc('DynamicUser')).toEqual([]);
    expect(svc('AmbientCapabilities')).toEqual(['CAP_NET_BIND_SERVICE']);
    expect(svc('CapabilityBoundingSet')).toEqual(['CAP_NET_BIND_SERVICE']);
    expect(svc('NoNewPrivileges')).toEqual(['yes']);
    // A capability inside a private user namespace cannot bind the host's port 53.
    expect(svc('PrivateUsers')).toEqual([]);
  });

  test('serves the installed configuration', () => {
    expect(svc('ExecStart')).toEqual([
      '/usr/bin/node /opt/poolsink/dist/cli.js serve --config /etc/poolsink/poolsink.yaml',
    ]);
    expect(svc('ExecReload')).toEqual(['/bin/kill -HUP $MAINPID']);
    expect(svc('Restart')).toEqual(['on-failure']);
    expect(unit.get('Install')?.get('WantedBy')).toEqual(['multi-user.target']);
  });

  test('read-only system, writable state directory only, private /tmp, no /home', () => {
    expect(svc('ProtectSystem')).toEqual(['strict']);
    expect(svc('ReadWritePaths')).toEqual([]);
    expect(svc('ProtectHome')).toEqual(['yes']);
    expect(svc('PrivateTmp')).toEqual(['yes']);
  });

  test('network families, system calls and resources are bounded in ways Node survives', () => {
    expect(svc('RestrictAddressFamilies')).toEqual(['AF_INET AF_INET6 AF_UNIX']);
    expect(svc('SystemCallFilter')[0]).toBe('@system-service');
    // Node calls pkey_alloc (outside @system-service) at start: EPERM lets it carry on, the
    // default action (SIGSYS) would kill it.
    expect(svc('SystemCallErrorNumber')).toEqual(['EPERM']);
    // V8's JIT needs writable, then executable memory.
    expect(svc('MemoryDenyWriteExecute')).toEqual([]);
    expect(svc('MemoryMax')).toHaveLength(1);
    expect(Number(svc('LimitNOFILE')[0])).toBeGreaterThanOrEqual(4096);
  });

  test('the cloud metadata service is unreachable, and it is not the configured upstream', () => {
    expect(svc('IPAddressDeny')).toEqual(['169.254.169.254 fd00:ec2::254']);
    const denied = (svc('IPAddressDeny')[0] ?? '').split(' ');
    for (const upstream of hostConfig().upstreams) expect(denied).not.toContain(upstream.host);
  });

  test('the systemd guide compiles better-sqlite3 from source, as the Dockerfile does', () => {
    // A plain `npm ci` downloads a prebuilt binary that package-lock.json does not pin.
    const guide = read('docs/deploying.md');
    expect(guide).toMatch(/^sudo env npm_config_build_from_source=true npm ci\b/m);
    expect(guide).not.toMatch(/^sudo npm ci\b/m);
    expect(guide).toMatch(/NODE_IMAGE=node:20-bookworm-slim@sha256:/);
  });

  const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  test.skipIf(analyze.status !== 0)('systemd-analyze verify reports nothing (unknown keys, bad values)', () => {
    // verify checks that ExecStart's binary exists: point it at this machine's node.
    const copy = join(tmp, 'poolsink.service');
    writeFileSync(copy, unitText.replace('ExecStart=/usr/bin/node ', `ExecStart=${process.execPath} `));
    const result = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------
// SECURITY.md cites tests as proof: each cited file must exist and hold each cited test name.

describe('SECURITY.md', () => {
  const citations = read('SECURITY.md')
    .split('\n')
    .map((line) => /^\s*- `(test\/[^`]+\.test\.ts)`(?::\s*(.*))?/.exec(line))
    .filter((match) => match !== null);

  test('cites tests for every threat', () => {
    expect(citations.length).toBeGreaterThanOrEqual(15);
  });

  test.each(citations.map((match) => [match[1] ?? '', match[2] ?? '']))(
    '%s exists and holds the names cited',
    (file, names) => {
      const files = file.includes('*')
        ? readdirSync(join(ROOT, posix.dirname(file))).filter((name) =>
            new RegExp(`^${posix.basename(file).replaceAll('.', '\\.').replaceAll('*', '.*')}$`).test(name),
          )
        : existsSync(join(ROOT, file))
          ? [posix.basename(file)]
          : [];
      expect(files, `${file} matches a test file`).not.toEqual([]);
      const text = files.map((name) => read(join(posix.dirname(file), name))).join('\n');
      for (const [, name] of names.matchAll(/"([^"]+)"/g)) {
        expect(text.includes(name ?? ''), `${file} has a test named "${name}"`).toBe(true);
      }
    },
  );
});
