import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config/types.js';

/** JSON lines to stdout (or an injected sink, for tests). */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options = { level, base: { service: 'poolsink' } };
  return destination === undefined ? pino(options) : pino(options, destination);
}
