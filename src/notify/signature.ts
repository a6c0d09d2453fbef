/**
 * Webhook signatures. The sender computes HMAC-SHA256 over `${timestamp}.${body}` with the sink's
 * secret and sends `X-Poolsink-Signature: t=<unix seconds>,v1=<hex>`. A receiver recomputes it over
 * the raw body, compares in constant time, and rejects a timestamp outside its tolerance (a replay).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-poolsink-signature';
export const MESSAGE_ID_HEADER = 'x-poolsink-id';
/** How far a receiver should accept a timestamp from its own clock, by default. */
export const DEFAULT_TOLERANCE_SEC = 300;

export function signatureOf(secret: string, timestampSec: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestampSec}.${body}`).digest('hex');
}

export function signatureHeader(secret: string, timestampSec: number, body: string): string {
  return `t=${timestampSec},v1=${signatureOf(secret, timestampSec, body)}`;
}

export type SignatureCheck =
  | { readonly ok: true; readonly timestampSec: number }
  | { readonly ok: false; readonly reason: 'malformed' | 'mismatch' | 'stale' };

/** What a receiver does: parse the header, recompute, compare in constant time, check the age. */
export function verifySignature(
  secret: string,
  header: string | undefined,
  body: string,
  nowSec: number,
  toleranceSec = DEFAULT_TOLERANCE_SEC,
): SignatureCheck {
  const match = /^t=(\d{1,12}),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (match === null) return { ok: false, reason: 'malformed' };
  const timestampSec = Number(match[1]);
  const expected = Buffer.from(signatureOf(secret, timestampSec, body), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(match[2] ?? '', 'hex'))) return { ok: false, reason: 'mismatch' };
  if (Math.abs(nowSec - timestampSec) > toleranceSec) return { ok: false, reason: 'stale' };
  return { ok: true, timestampSec };
}
