/**
 * Which configuration file a command reads: `--config FILE`, then `POOLSINK_CONFIG`, then
 * `./poolsink.yaml`, then `/etc/poolsink/poolsink.yaml` (where the container image puts its own).
 * A file named explicitly is used even when absent (loading it then fails naming it); when none
 * is named and neither default exists, the error lists every place that was looked at.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { PoolsinkError } from '../errors.js';
import type { Environment } from './env.js';

export const CONFIG_ENV = 'POOLSINK_CONFIG';
export const LOCAL_CONFIG = 'poolsink.yaml';
export const SYSTEM_CONFIG = '/etc/poolsink/poolsink.yaml';

export interface ConfigSearch {
  /** The value of `--config`, when given. */
  flag?: string | undefined;
  /** Defaults to process.env and process.cwd(). */
  env?: Environment;
  cwd?: string;
  exists?: (path: string) => boolean;
}

export function findConfigFile(search: ConfigSearch): string {
  const cwd = search.cwd ?? process.cwd();
  if (search.flag !== undefined) return resolve(cwd, search.flag);
  const fromEnv = (search.env ?? process.env)[CONFIG_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return resolve(cwd, fromEnv);
  const exists = search.exists ?? existsSync;
  const candidates = [resolve(cwd, LOCAL_CONFIG), SYSTEM_CONFIG];
  const found = candidates.find((path) => exists(path));
  if (found !== undefined) return found;
  throw new PoolsinkError(
    'ERR_CONFIG_READ',
    `no configuration file found; looked at: --config (not given), ${CONFIG_ENV} (not set), ${candidates.join(', ')}`,
  );
}
