#!/usr/bin/env node
/**
 * argv → command. `serve` runs the resolver; `check` prints verdicts (the running server's, else the
 * files'); `hosts` and `events` print the block log from the database. Usage text: commands/usage.ts;
 * which configuration file: config/config-path.ts.
 * Exit codes: 0 ok (and help), 1 runtime failure, 2 bad usage, configuration or argument.
 */
import { loadConfig } from './config/load.js';
import { findConfigFile } from './config/config-path.js';
import type { Config } from './config/types.js';
import { PoolsinkError, errorMessage, isPoolsinkError } from './errors.js';
import { createLogger } from './log.js';
import { startPoolsink } from './main.js';
import { openStoreConnection } from './store/database.js';
import { createEventQueries } from './store/queries.js';
import type { EventQueries } from './store/types.js';
import { hostsReport } from './commands/report.js';
import { EVENT_FILTER_OPTIONS, eventsCommand } from './commands/events.js';
import { checkDomains } from './commands/check.js';
import { listsReport, refreshLists } from './commands/lists.js';
import { changeIncident, incidentReport, incidentsReport, parseIncidentId } from './commands/incidents.js';
import { isCommandName, usage, type CommandName } from './commands/usage.js';
import { rotateToken } from './commands/token.js';
import { LOGIN_FILTER_OPTIONS, loginsReport } from './commands/logins.js';
import { retroHunt } from './commands/retro-hunt.js';
import { poolIpsCommand } from './commands/pool-ips.js';
import { createReloadSignal } from './commands/reload-signal.js';
import { fleetEventsReport, fleetHostsReport, fleetIncidentsReport, fleetLoginsReport } from './commands/fleet.js';

/** Options taking a value, besides --config. */
const VALUE_OPTIONS = [...EVENT_FILTER_OPTIONS, 'limit', 'state', 'note', 'format', 'wallet', 'instance'] as const;
/** Flags without a value, stored as 'true'. */
const FLAG_OPTIONS = ['force', 'files', 'record', 'fleet'] as const;
type ValueOption = (typeof VALUE_OPTIONS)[number] | (typeof FLAG_OPTIONS)[number];

function isValueOption(name: string): name is ValueOption {
  return VALUE_OPTIONS.some((o) => o === name);
}

interface Args {
  command: CommandName;
  /** --config, when given (config/config-path.ts looks elsewhere otherwise). */
  config?: string;
  rest: string[];
  values: Partial<Record<ValueOption, string>>;
  help: boolean;
}

function usageError(message: string, command?: CommandName): PoolsinkError {
  return new PoolsinkError('ERR_USAGE', `${message}\n${usage(command)}`);
}

function parseArgs(argv: readonly string[]): Args {
  const [first, ...tail] = argv;
  if (first === undefined) throw usageError('no command');
  if (first === '-h' || first === '--help') return { command: 'help', rest: [], values: {}, help: true };
  if (!isCommandName(first)) throw usageError(`unknown command ${first}`);
  const args: Args = { command: first, rest: [], values: {}, help: false };
  for (let i = 0; i < tail.length; i++) {
    const arg = tail[i]!;
    if (arg === '--help' || arg === '-h') {
      args.help = true;
    } else if (arg === '--config' || arg === '-c') {
      const value = tail[++i];
      if (value === undefined) throw usageError('--config needs a file', first);
      args.config = value;
    } else if (arg.startsWith('--config=')) {
      args.config = arg.slice('--config='.length);
    } else if (arg.startsWith('--') && isValueOption(arg.slice(2).split('=')[0] ?? '')) {
      const [name = '', inline] = arg.slice(2).split(/=(.*)/s);
      const value = inline ?? tail[++i];
      if (value === undefined || !isValueOption(name)) throw usageError(`${arg} needs a value`, first);
      args.values[name] = value;
    } else if (arg.startsWith('--') && FLAG_OPTIONS.some((flag) => flag === arg.slice(2))) {
      for (const flag of FLAG_OPTIONS) if (`--${flag}` === arg) args.values[flag] = 'true';
    } else if (arg.startsWith('-')) {
      throw usageError(`unknown option ${arg}`, first);
    } else {
      args.rest.push(arg);
    }
  }
  return args;
}

function configOf(args: Args): Config {
  return loadConfig({ file: findConfigFile({ flag: args.config }) });
}

function help(args: Args): void {
  const [topic, ...extra] = args.rest;
  if (topic === undefined) return void process.stdout.write(usage());
  if (!isCommandName(topic) || extra.length > 0) throw usageError(`unknown command ${args.rest.join(' ')}`);
  process.stdout.write(usage(topic));
}

async function serve(args: Args): Promise<void> {
  const file = findConfigFile({ flag: args.config });
  const config = loadConfig({ file });
  const log = createLogger(config.log.level);
  // SIGHUP: read the configuration file again (the reload logs its outcome; a bad file changes nothing).
  const hangup = createReloadSignal(() =>
    log.info('SIGHUP while starting: the configuration is read again once started'),
  );
  process.on('SIGHUP', () => hangup.signal());
  const poolsink = await startPoolsink(config, { log, loadConfig: () => loadConfig({ file }) });
  hangup.ready(() => {
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
  if (args.rest.length === 0) throw usageError('check needs at least one domain', 'check');
  const { lines, note } = await checkDomains(configOf(args), args.rest, createLogger('warn'), {
    filesOnly: args.values.files === 'true',
  });
  if (note !== undefined) process.stderr.write(`poolsink: note: ${note}\n`);
  process.stdout.write(lines);
}

async function lists(args: Args): Promise<number> {
  const [sub, name, ...extra] = args.rest;
  const config = configOf(args);
  if (sub === undefined) {
    process.stdout.write(await listsReport(config));
    return 0;
  }
  if (sub !== 'refresh' || extra.length > 0) throw usageError(`unknown lists command ${args.rest.join(' ')}`, 'lists');
  const { table, failed } = await refreshLists(config, name, args.values.force === 'true');
  process.stdout.write(table);
  return failed ? 1 : 0;
}

async function incident(args: Args): Promise<void> {
  const [idText, action, ...extra] = args.rest;
  const id = parseIncidentId(idText);
  if (action === undefined) return report({ ...args, rest: [] }, (queries) => incidentReport(queries, id));
  if ((action !== 'acknowledge' && action !== 'resolve') || extra.length > 0)
    throw usageError(`unknown incident command ${args.rest.join(' ')}`, 'incident');
  const note = args.values.note;
  if (note === undefined) throw usageError(`incident ${action} needs --note TEXT`, 'incident');
  process.stdout.write(await changeIncident(configOf(args), id, action, note));
}

async function token(args: Args): Promise<void> {
  if (args.rest.length !== 1 || args.rest[0] !== 'rotate')
    throw usageError(`unknown token command ${args.rest.join(' ')}`, 'token');
  const out = await rotateToken(configOf(args));
  process.stderr.write(out.stderr);
  process.stdout.write(out.stdout);
}

function limitOf(args: Args): number {
  const text = args.values.limit ?? '50';
  const limit = Number(text);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
    throw new PoolsinkError('ERR_USAGE', `--limit must be an integer from 1 to 10000 (got ${text})`);
  return limit;
}

async function report(
  args: Args,
  print: (queries: ReturnType<typeof createEventQueries>) => string | Promise<string> | Promise<void>,
): Promise<void> {
  if (args.rest.length > 0) throw usageError(`unexpected argument ${args.rest[0] ?? ''}`, args.command);
  const config = configOf(args);
  const store = openStoreConnection(config.database.path, { log: createLogger('warn') });
  try {
    const text = await print(createEventQueries(store));
    if (typeof text === 'string') process.stdout.write(text);
  } finally {
    store.close();
  }
}

/** Whether `--fleet` asks for the fleet view; `--instance` without it, or extra arguments, are usage errors. */
function fleetView(args: Args): boolean {
  const fleet = args.values.fleet === 'true';
  if (!fleet && args.values.instance !== undefined) throw usageError('--instance needs --fleet', args.command);
  if (fleet && args.rest.length > 0) throw usageError(`unexpected argument ${args.rest[0] ?? ''}`, args.command);
  return fleet;
}

/** Like report(), but hands the text back (a fleet command's fallback to this instance's database). */
async function readLocal(args: Args, print: (queries: EventQueries) => Promise<string>): Promise<string> {
  const store = openStoreConnection(configOf(args).database.path, { log: createLogger('warn') });
  try {
    return await print(createEventQueries(store));
  } finally {
    store.close();
  }
}

function definedValues<K extends ValueOption>(args: Args, keys: readonly K[]): Partial<Record<K, string>> {
  const picked: Partial<Record<K, string>> = {};
  for (const key of keys) {
    const value = args.values[key];
    if (value !== undefined) picked[key] = value;
  }
  return picked;
}

async function run(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv);
  if (args.help) {
    process.stdout.write(usage(args.command === 'help' ? undefined : args.command));
    return 0;
  }
  switch (args.command) {
    case 'help':
      help(args);
      return 0;
    case 'serve':
      await serve(args);
      return 0;
    case 'check':
      await check(args);
      return 0;
    case 'lists':
      return lists(args);
    case 'hosts':
      if (fleetView(args)) {
        const options = { limit: limitOf(args), ...definedValues(args, ['since', 'instance']) };
        process.stdout.write(await fleetHostsReport(configOf(args), options));
        return 0;
      }
      await report(args, (queries) =>
        hostsReport(queries, { limit: limitOf(args), ...definedValues(args, ['since']) }, Date.now()),
      );
      return 0;
    case 'events':
      if (fleetView(args)) {
        const options = {
          filters: definedValues(args, [...EVENT_FILTER_OPTIONS, 'instance']),
          limit: limitOf(args),
          ...definedValues(args, ['format']),
        };
        process.stdout.write(await fleetEventsReport(configOf(args), options));
        return 0;
      }
      await report(args, (queries) =>
        eventsCommand(
          queries,
          {
            filters: definedValues(args, EVENT_FILTER_OPTIONS),
            limit: limitOf(args),
            ...definedValues(args, ['format']),
          },
          Date.now(),
          (text) => process.stdout.write(text),
        ),
      );
      return 0;
    case 'incidents': {
      const local = (queries: EventQueries): Promise<string> =>
        incidentsReport(
          queries,
          { limit: limitOf(args), ...definedValues(args, ['state', 'since', 'client']) },
          Date.now(),
        );
      if (fleetView(args)) {
        const options = { limit: limitOf(args), ...definedValues(args, ['state', 'client', 'instance']) };
        const text = await fleetIncidentsReport(configOf(args), options, () => readLocal(args, local));
        process.stdout.write(text);
        return 0;
      }
      await report(args, local);
      return 0;
    }
    case 'incident':
      await incident(args);
      return 0;
    case 'logins':
      if (fleetView(args)) {
        const filters = definedValues(args, [...LOGIN_FILTER_OPTIONS, 'instance']);
        process.stdout.write(await fleetLoginsReport(configOf(args), { filters, limit: limitOf(args) }));
        return 0;
      }
      await report(args, (queries) =>
        loginsReport(
          queries,
          { limit: limitOf(args), filters: definedValues(args, ['client', 'wallet', 'since', 'until']) },
          Date.now(),
        ),
      );
      return 0;
    case 'token':
      await token(args);
      return 0;
    case 'retro-hunt':
      if (args.rest.length === 0) throw usageError('retro-hunt needs at least one domain', 'retro-hunt');
      process.stdout.write(
        await retroHunt(configOf(args), args.rest, {
          record: args.values.record === 'true',
          ...definedValues(args, ['since']),
        }),
      );
      return 0;
    case 'pool-ips':
      if (args.rest.length > 0) throw usageError(`unexpected argument ${args.rest[0] ?? ''}`, 'pool-ips');
      process.stdout.write(await poolIpsCommand(configOf(args), args.values.format, args.values.action));
      return 0;
  }
}

run(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (err: unknown) => {
    const usageOrConfig =
      isPoolsinkError(err) && ['ERR_USAGE', 'ERR_CONFIG_INVALID', 'ERR_CONFIG_READ', 'ERR_INVALID'].includes(err.code);
    process.stderr.write(`poolsink: ${errorMessage(err)}\n`);
    process.exit(usageOrConfig ? 2 : 1);
  },
);
