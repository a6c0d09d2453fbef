import { X509Certificate, createPrivateKey } from 'node:crypto';
import { expect, test } from 'vitest';
import { createSelfSignedCertificate } from '../../src/honeypot/self-signed-cert.js';

const DAY_MS = 86_400_000;

test.each<[string, number]>([
  ['UTCTime validity', Date.UTC(2026, 0, 1)],
  ['GeneralizedTime after 2049', Date.UTC(2049, 6, 1)],
])('a well-formed self-signed ECDSA P-256 certificate (%s)', (_name, notBeforeMs) => {
  const { certPem, keyPem } = createSelfSignedCertificate({
    commonName: 'poolsink honeypot',
    notBeforeMs,
    validDays: 3650,
  });
  const cert = new X509Certificate(certPem);
  expect(cert.subject).toBe('CN=poolsink honeypot');
  expect(cert.issuer).toBe('CN=poolsink honeypot');
  expect(new Date(cert.validFrom).getTime()).toBe(notBeforeMs);
  expect(new Date(cert.validTo).getTime()).toBe(notBeforeMs + 3650 * DAY_MS);
  expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
  expect(cert.verify(cert.publicKey)).toBe(true);
  expect(cert.checkPrivateKey(createPrivateKey(keyPem))).toBe(true);
  if (process.env['CERT_DUMP'] !== undefined) process.stdout.write(certPem);
});

test('each certificate has its own key and serial', () => {
  const a = new X509Certificate(createSelfSignedCertificate({ commonName: 'x', notBeforeMs: 0, validDays: 1 }).certPem);
  const b = new X509Certificate(createSelfSignedCertificate({ commonName: 'x', notBeforeMs: 0, validDays: 1 }).certPem);
  expect(a.serialNumber).not.toBe(b.serialNumber);
  expect(a.fingerprint256).not.toBe(b.fingerprint256);
});
