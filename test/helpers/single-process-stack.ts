/**
 * A local upstream and a single-process stack (dns.workers 1) forwarding to it, for tests that
 * read one resolver's or listener's counters. Both closes go on `cleanups`, which the test's
 * afterEach runs in reverse.
 */
import { startLocalUpstream, type LocalUpstream } from './local-upstream.js';
import { startStack, type Stack } from './stack.js';

export type Cleanups = (() => Promise<void> | void)[];

export async function singleProcessStack(
  cleanups: Cleanups,
  config: Record<string, unknown> = {},
): Promise<{ stack: Stack; upstream: LocalUpstream }> {
  const upstream = await startLocalUpstream();
  cleanups.push(() => upstream.close());
  const stack = await startStack({ upstreams: [upstream.address], config, singleProcess: true });
  cleanups.push(() => stack.close());
  return { stack, upstream };
}
