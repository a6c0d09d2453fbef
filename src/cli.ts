#!/usr/bin/env node
/**
 * argv → command. `serve` runs the resolver; `check` prints verdicts without opening a socket;
 * `hosts` and `events` print the block log from the database.
 * Exit codes: 0 ok, 1 runtime failure, 2 bad usage, configuration or argument.
 */
import { loadConfig } from './config/load.js';
import { PoolsinkError, errorMessage, isPoolsinkError } from './errors.js';
import { createLogger } from './log.js';
import { startPoolsink } from './main.js';
import { loadLists } from './blocklist/list-snapshot.js';
import { normalizeDomain } from './net/domain-name.js';
import { openStoreConnection } from './store/database.js';
import { createEventQueries } from './store/queries.js';
import { eventsReport, hostsReport } from './commands/report.js';
import { listsReport, refreshLists } from './commands/lists.js';
import { changeIncident, incidentReport, incidentsReport, parseIncidentId } from './commands/incidents.js';
import { rotateToken } from './commands/token.js';

const USAGE = `usage:
  poolsink serve [--config FILE]            run the resolver (default FILE: poolsink.yaml)
  poolsink check [--config FILE] DOMAIN...  print the verdict for each domain
  poolsink hosts [--config FILE] [--since 24h] [--limit N]
                                            hosts that tried to resolve blocked names, most recent first
  poolsink events [--config FILE] [--client IP] [--domain NAME] [--since 1h] [--limit N]
                                            block events, newest first
  poolsink lists [--config FILE]            the running server's lists (through its admin API)
  poolsink lists refresh [NAME] [--force] [--config FILE]
                                            fetch now; --force overrides the shrink guard
  poolsink incidents [--config FILE] [--state open|acknowledged|resolved] [--since 7d] [--client IP] [--limit N]
                                            incidents, newest first
  poolsink incident ID [--config FILE]      one incident: names, history
  poolsink incident ID acknowledge|resolve --note TEXT [--config FILE]
                                            change its state (through the admin API)
  poolsink token rotate [--config FILE]     a new admin token (printed once); the old one stops working
  kill -HUP <pid>                           the server reads its configuration file again (see README)`;

/** Options taking a value, besides --config. */
const VALUE_OPTIONS = ['since', 'client', 'domain', 'limit', 'state', 'note'] as const;
type ValueOption = (typeof VALUE_OPTIONS)[number] | 'force';

function isValueOption(name: string): name is ValueOption {
  return VALUE_OPTIONS.some((o) => o === name);
}

async function lists(args: Args): Promise<void> {
  const [sub, name, ...extra] = args.rest;
  const config = loadConfig({ file: args.config });
  if (sub === undefined) {
    process.stdout.write(await listsReport(config));
    return;
  }
  if (sub !== 'refresh' || extra.length > 0)
    throw new PoolsinkError('ERR_USAGE', `unknown lists command ${args.rest.join(' ')}\n${USAGE}`);
  process.stdout.write(await refreshLists(config, name, args.values.force === 'true'));
}

async function incident(args: Args): Promise<void> {
  const [idText, action, ...extra] = args.rest;
  const id = parseIncidentId(idText);
  if (action === undefined) return report({ ...args, rest: [] }, (queries) => incidentReport(queries, id));
  if ((action !== 'acknowledge' && action !== 'resolve') || extra.length > 0)
    throw new PoolsinkError('ERR_USAGE', `unknown incident command ${args.rest.join(' ')}\n${USAGE}`);
  const note = args.values.note;
  if (note === undefined) throw new PoolsinkError('ERR_USAGE', `incident ${action} needs --note TEXT\n${USAGE}`);
  process.stdout.write(await changeIncident(loadConfig({ file: args.config }), id, action, note));
}

async function token(args: Args): Promise<void> {
  if (args.rest.length !== 1 || args.rest[0] !== 'rotate')
    throw new PoolsinkError('ERR_USAGE', `unknown token command ${args.rest.join(' ')}\n${USAGE}`);
  const out = await rotateToken(loadConfig({ file: args.config }));
  process.stderr.write(out.stderr);
  process.stdout.write(out.stdout);
}

interface Args {
  command: string;
  config: string;
  rest: string[];
  values: Partial<Record<ValueOption, string>>;
}

function parseArgs(argv: readonly string[]): Args {
  const [command, ...tail] = argv;
  if (command === undefined || command === '-h' || command === '--help') {
    throw new PoolsinkError('ERR_USAGE', USAGE);
  }
  let config = 'poolsink.yaml';
  const rest: string[] = [];
  const values: Partial<Record<ValueOption, string>> = {};
  for (let i = 0; i < tail.length; i++) {
    const arg = tail[i]!;
    if (arg === '--config' || arg === '-c') {
      const value = tail[++i];
      if (value === undefined) throw new PoolsinkError('ERR_USAGE', `--config needs a file\n${USAGE}`);
      config = value;
    } else if (arg.startsWith('--config=')) {
      config = arg.slice('--config='.length);
    } else if (arg.startsWith('--') && isValueOption(arg.slice(2).split('=')[0] ?? '')) {
      const [name = '', inline] = arg.slice(2).split(/=(.*)/s);
      const value = inline ?? tail[++i];
      if (value === undefined || !isValueOption(name))
        throw new PoolsinkError('ERR_USAGE', `${arg} needs a value\n${USAGE}`);
      values[name] = value;
    } else if (arg === '--force') {
      values.force = 'true';
    } else if (arg.startsWith('-')) {
      throw new PoolsinkError('ERR_USAGE', `unknown option ${arg}\n${USAGE}`);
    } else {
      rest.push(arg);
    }
  }
  return { command, config, rest, values };
}

async function serve(args: Args): Promise<void> {
  const config = loadConfig({ file: args.config });
  const log = createLogger(config.log.level);
  const poolsink = await startPoolsink(config, { log, loadConfig: () => loadConfig({ file: args.config }) });
  // SIGHUP: read the configuration file again (the reload logs its outcome; a bad file changes nothing).
  process.on('SIGHUP', () => {
    poolsink.reload().catch((err: unknown) => log.error({ err }, 'configuration reload failed'));
  });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    poolsink.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

async function check(args: Args): Promise<void> {
  if (args.rest.length === 0) throw new PoolsinkError('ERR_USAGE', `check needs at least one domain\n${USAGE}`);
  const config = loadConfig({ file: args.config });
  const log = createLogger('warn');
  const { matcher } = await loadLists(config, log);
  for (const input of args.rest) {
    const name = normalizeDomain(input);
    if (name === undefined) {
      process.stdout.write(`${input} invalid\n`);
      continue;
    }
    const verdict = matcher.match(name);
    if (verdict.kind === 'block') {
      const alert = verdict.mode === 'alert' ? ' (alert only)' : '';
      process.stdout.write(`${input} blocked ${verdict.list} ${verdict.rule}${alert}\n`);
    } else if (verdict.kind === 'allowlisted') {
      process.stdout.write(`${input} allowed allowlist ${verdict.rule}\n`);
    } else {
      process.stdout.write(`${input} allowed\n`);
    }
  }
}

function limitOf(args: Args): number {
  const text = args.values.limit ?? '50';
  const limit = Number(text);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
    throw new PoolsinkError('ERR_USAGE', `--limit must be an integer from 1 to 10000 (got ${text})`);
  return limit;
}

function report(args: Args, print: (queries: ReturnType<typeof createEventQueries>) => string): void {
  if (args.rest.length > 0) throw new PoolsinkError('ERR_USAGE', `unexpected argument ${args.rest[0] ?? ''}\n${USAGE}`);
  const config = loadConfig({ file: args.config });
  const store = openStoreConnection(config.database.path, { log: createLogger('warn') });
  try {
    process.stdout.write(print(createEventQueries(store)));
  } finally {
    store.close();
  }
}

async function run(argv: readonly string[]): Promise<void> {
  const args = parseArgs(argv);
  switch (args.command) {
    case 'serve':
      return serve(args);
    case 'check':
      return check(args);
    case 'lists':
      return lists(args);
    case 'hosts':
      return report(args, (queries) =>
        hostsReport(
          queries,
          { limit: limitOf(args), ...(args.values.since !== undefined ? { since: args.values.since } : {}) },
          Date.now(),
        ),
      );
    case 'events':
      return report(args, (queries) => {
        const { client, domain, since } = args.values;
        const filters = {
          ...(client !== undefined ? { client } : {}),
          ...(domain !== undefined ? { domain } : {}),
          ...(since !== undefined ? { since } : {}),
        };
        return eventsReport(queries, { limit: limitOf(args), ...filters }, Date.now());
      });
    case 'incidents':
      return report(args, (queries) => {
        const { state, since, client } = args.values;
        const filters = {
          ...(state !== undefined ? { state } : {}),
          ...(since !== undefined ? { since } : {}),
          ...(client !== undefined ? { client } : {}),
        };
        return incidentsReport(queries, { limit: limitOf(args), ...filters }, Date.now());
      });
    case 'incident':
      return incident(args);
    case 'token':
      return token(args);
    default:
      throw new PoolsinkError('ERR_USAGE', `unknown command ${args.command}\n${USAGE}`);
  }
}

run(process.argv.slice(2)).catch((err: unknown) => {
  const usageOrConfig =
    isPoolsinkError(err) && ['ERR_USAGE', 'ERR_CONFIG_INVALID', 'ERR_CONFIG_READ', 'ERR_INVALID'].includes(err.code);
  process.stderr.write(`poolsink: ${errorMessage(err)}\n`);
  process.exit(usageOrConfig ? 2 : 1);
});
