/**
 * The honeypot's TLS certificate and key under dataDir (honeypot-cert.pem, honeypot-key.pem, the
 * key mode 0600): generated at the first start that has a TLS listener, reused after (miners that
 * remember a certificate see the same one). A pair that does not load or does not match is an
 * ERR_LISTEN naming the files: an operator's file is never overwritten.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { PoolsinkError, errorMessage } from '../errors.js';
import { createSelfSignedCertificate, type SelfSignedCertificate } from './self-signed-cert.js';

export const CERT_FILE = 'honeypot-cert.pem';
export const KEY_FILE = 'honeypot-key.pem';
const VALID_DAYS = 3650;
const DAY_MS = 86_400_000;

function checkPair(pair: SelfSignedCertificate, certPath: string, keyPath: string): void {
  try {
    const cert = new X509Certificate(pair.certPem);
    if (!cert.checkPrivateKey(createPrivateKey(pair.keyPem))) throw new Error('the key does not match the certificate');
  } catch (err: unknown) {
    throw new PoolsinkError('ERR_LISTEN', `honeypot TLS: ${certPath} and ${keyPath}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
}

/** The pair in dataDir, created when neither file exists. */
export function loadOrCreateCertificate(dataDir: string, log: Logger, nowMs = Date.now()): SelfSignedCertificate {
  const certPath = join(dataDir, CERT_FILE);
  const keyPath = join(dataDir, KEY_FILE);
  if (existsSync(certPath) || existsSync(keyPath)) {
    let pair: SelfSignedCertificate;
    try {
      pair = { certPem: readFileSync(certPath, 'utf8'), keyPem: readFileSync(keyPath, 'utf8') };
    } catch (err: unknown) {
      throw new PoolsinkError(
        'ERR_LISTEN',
        `honeypot TLS: cannot read ${certPath} or ${keyPath}: ${errorMessage(err)}`,
        {
          cause: err,
        },
      );
    }
    checkPair(pair, certPath, keyPath);
    return pair;
  }
  const pair = createSelfSignedCertificate({
    commonName: 'poolsink honeypot',
    notBeforeMs: nowMs - DAY_MS,
    validDays: VALID_DAYS,
  });
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(keyPath, pair.keyPem, { mode: 0o600, flag: 'wx' });
    writeFileSync(certPath, pair.certPem, { mode: 0o644, flag: 'wx' });
  } catch (err: unknown) {
    throw new PoolsinkError('ERR_LISTEN', `honeypot TLS: cannot write ${keyPath}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  log.info({ cert: certPath }, 'honeypot TLS certificate generated');
  return pair;
}
