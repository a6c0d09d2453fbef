/** Checks of the store's factory options, failing fast with a message naming the option. */
import { PoolsinkError } from '../errors.js';

/** `value` if it is a positive integer; otherwise ERR_CONFIG_INVALID naming `owner` and `name`. */
export function positiveInteger(owner: string, name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new PoolsinkError('ERR_CONFIG_INVALID', `${owner}: ${name} must be a positive integer (got ${value})`);
  }
  return value;
}
