/**
 * `poolsink token rotate`: a new admin token, the old one refused at once. With a server running,
 * the server rotates (POST /api/v1/token/rotate with the current token: it writes the file and
 * switches in one step); with none, the token file is rewritten here. A token set inline in the
 * configuration (admin.token) cannot be rewritten: the operator changes it and reloads.
 */
import { adminTokenSource, writeNewTokenFile } from '../admin/auth.js';
import type { Config } from '../config/types.js';
import { PoolsinkError, isPoolsinkError } from '../errors.js';
import { call } from './lists.js';

function hasCode(err: unknown, code: string): boolean {
  return err instanceof Error && 'code' in err && err.code === code;
}

/** No server listens on the admin address (as opposed to one that answered badly). */
function isConnectionRefused(err: unknown): boolean {
  return err instanceof Error && (hasCode(err, 'ECONNREFUSED') || hasCode(err.cause, 'ECONNREFUSED'));
}

/** Rotates; returns what to print: the new token on stdout, where it lives on stderr. */
export async function rotateToken(config: Config): Promise<{ stdout: string; stderr: string }> {
  const source = adminTokenSource({
    ...(config.admin.token !== undefined ? { token: config.admin.token } : {}),
    ...(config.admin.tokenFile !== undefined ? { tokenFile: config.admin.tokenFile } : {}),
    dataDir: config.dataDir,
  });
  if (source.kind === 'inline') {
    throw new PoolsinkError(
      'ERR_USAGE',
      'admin.token is set in the configuration file, which poolsink does not rewrite: put a new token there ' +
        '(or move it to admin.tokenFile) and reload the server (kill -HUP <pid>, or POST /api/v1/reload)',
    );
  }
  try {
    const answer = await call(config, 'POST', '/api/v1/token/rotate');
    const token = typeof answer.token === 'string' ? answer.token : '';
    return {
      stdout: `${token}\n`,
      stderr: `new admin token written to ${source.path} by the running server; the old token no longer works\n`,
    };
  } catch (err: unknown) {
    // No server (nothing listens), or no token file yet (never started): rewritten here.
    if (!isConnectionRefused(err) && !isPoolsinkError(err, 'ERR_ADMIN_TOKEN')) throw err;
  }
  const token = writeNewTokenFile(source.path);
  return {
    stdout: `${token}\n`,
    stderr: `no server is running: new admin token written to ${source.path}; it applies when poolsink starts\n`,
  };
}
