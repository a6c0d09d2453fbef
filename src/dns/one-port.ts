/**
 * A UDP and a TCP listener on one port. TCP binds the port UDP got, so `port: 0` yields one port
 * serving both. With port 0 that port may already be held for TCP by another socket: then both
 * are tried again on a new port, up to `attempts` times. A configured port that is taken fails at
 * once (the error names it).
 */
import { isPoolsinkError } from '../errors.js';

export interface PortBound {
  readonly address: { readonly port: number };
  close(): Promise<void>;
}

/** True for ERR_LISTEN caused by EADDRINUSE. */
function addressInUse(err: unknown): boolean {
  const cause = isPoolsinkError(err, 'ERR_LISTEN') ? err.cause : undefined;
  return cause instanceof Error && 'code' in cause && cause.code === 'EADDRINUSE';
}

export async function startOnOnePort<U extends PortBound, T>(options: {
  readonly port: number;
  readonly startUdp: () => Promise<U>;
  readonly startTcp: (port: number) => Promise<T>;
  readonly attempts?: number;
}): Promise<{ udp: U; tcp: T }> {
  const attempts = options.port === 0 ? (options.attempts ?? 5) : 1;
  for (let attempt = 1; ; attempt += 1) {
    const udp = await options.startUdp();
    try {
      return { udp, tcp: await options.startTcp(udp.address.port) };
    } catch (err: unknown) {
      await udp.close();
      if (attempt >= attempts || !addressInUse(err)) throw err;
    }
  }
}
