/**
 * `poolsink check DOMAIN...`: the verdict the running server gives each name (`GET /api/v1/check`,
 * so runtime lists and runtime allowlist entries count). When no server answers at `admin.listen`,
 * the verdicts come from the configuration's files, with a note on stderr saying so.
 * `--files` asks for the files' verdicts on purpose (no note). Both paths print the API's words
 * (blocklist/verdict-view.ts).
 */
import type { Logger } from 'pino';
import { loadLists } from '../blocklist/list-snapshot.js';
import { verdictView, type VerdictView } from '../blocklist/verdict-view.js';
import type { Config } from '../config/types.js';
import { errorMessage, isPoolsinkError } from '../errors.js';
import { normalizeDomain } from '../net/domain-name.js';
import { presentName, terminalText } from '../net/presentation.js';
import { call } from './lists.js';

export interface CheckOutput {
  lines: string;
  /** Set when the verdicts come from the files: why the server was not asked. */
  note?: string;
}

function line(input: string, view: VerdictView): string {
  const list = view.list === undefined ? '' : ` ${terminalText(view.list)}`;
  const rule = view.rule === undefined ? '' : ` ${presentName(view.rule)}`;
  return `${terminalText(input)} ${view.verdict}${list}${rule}\n`;
}

function isVerdictView(body: Record<string, unknown>): body is Record<string, unknown> & VerdictView {
  const verdict = body['verdict'];
  return (
    typeof body['domain'] === 'string' &&
    (verdict === 'allow' || verdict === 'allowlisted' || verdict === 'block' || verdict === 'alert')
  );
}

/** The server's verdict, or why it cannot be asked (not running, no token yet); other failures throw. */
async function askServer(config: Config, name: string): Promise<VerdictView | string> {
  if (config.admin.listen.port === 0) return 'admin.listen has port 0, so there is no fixed address to ask';
  try {
    const body = await call(config, 'GET', `/api/v1/check?domain=${encodeURIComponent(name)}`);
    if (!isVerdictView(body)) return 'the admin API gave an unexpected answer';
    return body;
  } catch (err: unknown) {
    if (isPoolsinkError(err, 'ERR_UPSTREAM_FAILED') || isPoolsinkError(err, 'ERR_ADMIN_TOKEN'))
      return errorMessage(err);
    throw err;
  }
}

async function filesVerdicts(config: Config, log: Logger): Promise<(name: string) => VerdictView> {
  const { matcher } = await loadLists(config, log);
  return (name) => verdictView(name, matcher.match(name));
}

export async function checkDomains(
  config: Config,
  inputs: readonly string[],
  log: Logger,
  options: { filesOnly?: boolean } = {},
): Promise<CheckOutput> {
  let fromFiles = options.filesOnly === true ? await filesVerdicts(config, log) : undefined;
  let note: string | undefined;
  let lines = '';
  for (const input of inputs) {
    const name = normalizeDomain(input);
    if (name === undefined) {
      lines += `${terminalText(input)} invalid\n`;
      continue;
    }
    if (fromFiles === undefined) {
      const answer = await askServer(config, name);
      if (typeof answer !== 'string') {
        lines += line(input, answer);
        continue;
      }
      note =
        `no running server answered (${answer}); these verdicts come from the configuration's list files ` +
        'and ignore runtime lists and runtime allowlist entries';
      fromFiles = await filesVerdicts(config, log);
    }
    lines += line(input, fromFiles(name));
  }
  return note === undefined ? { lines } : { lines, note };
}
