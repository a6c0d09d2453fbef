#!/usr/bin/env node
/**
 * argv → command. `serve` runs the resolver; `check` prints verdicts without opening a socket.
 * Exit codes: 0 ok, 1 runtime failure, 2 bad usage or configuration.
 */
import { loadConfig } from './config/load.js';
import { PoolsinkError, errorMessage, isPoolsinkError } from './errors.js';
import { createLogger } from './log.js';
import { startPoolsink } from './main.js';
import { loadLists } from './blocklist/lists.js';
import { normalizeDomain } from './blocklist/parse.js';

const USAGE = `usage:
  poolsink serve [--config FILE]            run the resolver (default FILE: poolsink.yaml)
  poolsink check [--config FILE] DOMAIN...  print the verdict for each domain`;

interface Args {
  command: string;
  config: string;
  rest: string[];
}

function parseArgs(argv: readonly string[]): Args {
  const [command, ...tail] = argv;
  if (command === undefined || command === '-h' || command === '--help') {
    throw new PoolsinkError('ERR_USAGE', USAGE);
  }
  let config = 'poolsink.yaml';
  const rest: string[] = [];
  for (let i = 0; i < tail.length; i++) {
    const arg = tail[i]!;
    if (arg === '--config' || arg === '-c') {
      const value = tail[++i];
      if (value === undefined) throw new PoolsinkError('ERR_USAGE', `--config needs a file\n${USAGE}`);
      config = value;
    } else if (arg.startsWith('--config=')) {
      config = arg.slice('--config='.length);
    } else if (arg.startsWith('-')) {
      throw new PoolsinkError('ERR_USAGE', `unknown option ${arg}\n${USAGE}`);
    } else {
      rest.push(arg);
    }
  }
  return { command, config, rest };
}

async function serve(args: Args): Promise<void> {
  const config = loadConfig({ file: args.config });
  const log = createLogger(config.log.level);
  const poolsink = await startPoolsink(config, { log });
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

async function run(argv: readonly string[]): Promise<void> {
  const args = parseArgs(argv);
  switch (args.command) {
    case 'serve':
      return serve(args);
    case 'check':
      return check(args);
    default:
      throw new PoolsinkError('ERR_USAGE', `unknown command ${args.command}\n${USAGE}`);
  }
}

run(process.argv.slice(2)).catch((err: unknown) => {
  const usageOrConfig = isPoolsinkError(err) && ['ERR_USAGE', 'ERR_CONFIG_INVALID', 'ERR_CONFIG_READ'].includes(err.code);
  process.stderr.write(`poolsink: ${errorMessage(err)}\n`);
  process.exit(usageOrConfig ? 2 : 1);
});
