import { describe, expect, test } from 'vitest';
import { FIRST_RETRY_MS, MAX_RETRY_DELAY_MS, retryDelayMs, withinDeliveryAge } from '../../src/notify/backoff.js';
import { digestOf } from '../../src/notify/digest.js';
import { escapeSdValue, escapeSlack, octetFrame, slackBody, syslogLine, webhookBody } from '../../src/notify/render.js';
import { signatureHeader, signatureOf, verifySignature } from '../../src/notify/signature.js';
import { createSendWindow } from '../../src/notify/send-window.js';

const KNOWN = '47b6ce0fca59474308e2921c247cb2493dce6b8101d90ac05bd0c6a37d0e046e';

const MESSAGE = {
  id: '6f1c7a52-3c1e-4b5e-9a59-0d1f5e7e1a10',
  type: 'incident.opened',
  createdMs: Date.UTC(2025, 0, 2, 3, 4, 5, 678),
  payload: { host: { name: 'web-7' }, qname: 'pool.supportxmr.com' },
};

describe('RFC 5424', () => {
  test.each([
    ['plain', 'plain'],
    ['a"b', 'a\\"b'],
    ['a\\b', 'a\\\\b'],
    ['a]b', 'a\\]b'],
    ['"]\\', '\\"\\]\\\\'],
  ])('SD param value %j → %j', (input, escaped) => {
    expect(escapeSdValue(input)).toBe(escaped);
  });

  test('a line: PRI, version, timestamp, hostname, app, procid, msgid, SD, JSON MSG in ASCII', () => {
    const line = syslogLine({ ...MESSAGE, payload: { name: 'ü"]', note: 'a\nb' } }, { hostname: 'host 1', procId: 42 });
    expect(line).toBe(
      `<132>1 2025-01-02T03:04:05.678Z host1 poolsink 42 incident.opened [poolsink@32473 id="${MESSAGE.id}" type="incident.opened"] ` +
        `{"id":"${MESSAGE.id}","type":"incident.opened","data":{"name":"\\u00fc\\"]","note":"a\\nb"}}`,
    );
    expect(/^[\x20-\x7e]*$/.test(line)).toBe(true);
  });

  test('an empty hostname is the NILVALUE', () => {
    expect(syslogLine(MESSAGE, { hostname: '', procId: 1 }).split(' ')[2]).toBe('-');
  });

  test.each([
    ['abc', '3 abc'],
    ['ü', '2 ü'],
  ])('octet counting counts bytes: %j', (line, framed) => {
    expect(octetFrame(line).toString('utf8')).toBe(framed);
  });
});

describe('webhook and Slack bodies', () => {
  test('webhook: { id, type, time, data }', () => {
    expect(JSON.parse(webhookBody(MESSAGE))).toEqual({
      id: MESSAGE.id,
      type: 'incident.opened',
      time: '2025-01-02T03:04:05.678Z',
      data: MESSAGE.payload,
    });
  });

  test.each([
    ['<@U123> & <!channel>', '&lt;@U123&gt; &amp; &lt;!channel&gt;'],
    ['<https://evil|click>', '&lt;https://evil|click&gt;'],
    ['&amp;', '&amp;amp;'],
  ])('Slack escaping %j', (input, escaped) => {
    expect(escapeSlack(input)).toBe(escaped);
  });

  test('Slack text escapes hostile names and carries the id', () => {
    const text = String(JSON.parse(slackBody({ ...MESSAGE, payload: { host: '<!here> web-7' } })).text);
    expect(text).toContain('&lt;!here&gt; web-7');
    expect(text).not.toContain('<!here>');
    expect(text).toContain(MESSAGE.id);
  });
});

describe('signature', () => {
  const secret = 'sixteen-chars-or-more';
  const body = '{"id":"x"}';

  test('HMAC-SHA256 over "<t>.<body>" (RFC 4231-style known vector)', () => {
    // printf '1700000000.body' | openssl dgst -sha256 -hmac key
    expect(signatureOf('key', 1700000000, 'body')).toBe(KNOWN);
    expect(signatureOf('key', 1, 'a')).not.toBe(signatureOf('key', 2, 'a'));
  });

  test.each([
    ['valid', signatureHeader(secret, 1000, body), body, 1000, { ok: true, timestampSec: 1000 }],
    ['within tolerance', signatureHeader(secret, 1000, body), body, 1300, { ok: true, timestampSec: 1000 }],
    ['replayed later', signatureHeader(secret, 1000, body), body, 1301, { ok: false, reason: 'stale' }],
    ['body changed', signatureHeader(secret, 1000, body), `${body} `, 1000, { ok: false, reason: 'mismatch' }],
    [
      'timestamp changed',
      signatureHeader(secret, 1000, body).replace('t=1000', 't=1001'),
      body,
      1000,
      { ok: false, reason: 'mismatch' },
    ],
    ['missing', undefined, body, 1000, { ok: false, reason: 'malformed' }],
    ['garbage', 't=x,v1=y', body, 1000, { ok: false, reason: 'malformed' }],
  ])('%s', (_name, header, received, nowSec, expected) => {
    expect(verifySignature(secret, header, received, nowSec)).toEqual(expected);
  });
});

describe('backoff', () => {
  test.each([
    [1, 500, 1_000],
    [2, 1_000, 2_000],
    [3, 2_000, 4_000],
    [12, 1_024_000, 2_048_000],
    [13, MAX_RETRY_DELAY_MS / 2, MAX_RETRY_DELAY_MS],
    [60, MAX_RETRY_DELAY_MS / 2, MAX_RETRY_DELAY_MS],
  ])('after %i failures: between %i and %i ms', (failures, low, high) => {
    expect(retryDelayMs(failures, () => 0)).toBe(low);
    expect(retryDelayMs(failures, () => 0.999_999_9)).toBe(high);
  });

  test('first retry a second out at most; 24 h limit', () => {
    expect(retryDelayMs(1, () => 0.999_999_9)).toBe(FIRST_RETRY_MS);
    expect(withinDeliveryAge(0, 24 * 3_600_000)).toBe(true);
    expect(withinDeliveryAge(0, 24 * 3_600_000 + 1)).toBe(false);
  });
});

describe('send window', () => {
  test('perMinute at once, then each send frees its slot 60 s later', () => {
    const window = createSendWindow(3);
    expect([window.take(0), window.take(0), window.take(0), window.take(0)]).toEqual([true, true, true, false]);
    expect(window.take(59_999)).toBe(false);
    expect(window.take(60_000)).toBe(true);
    expect(window.available(60_000)).toBe(2);
    expect(window.available(10 * 60_000)).toBe(3);
  });

  test('a steady flood never gets more than perMinute in any sliding minute', () => {
    const perMinute = 5;
    const window = createSendWindow(perMinute);
    const sent: number[] = [];
    for (let nowMs = 0; nowMs < 10 * 60_000; nowMs += 1_000) if (window.take(nowMs)) sent.push(nowMs);
    for (const startMs of sent) {
      const inMinute = sent.filter((timeMs) => timeMs >= startMs && timeMs < startMs + 60_000).length;
      expect(inMinute).toBeLessThanOrEqual(perMinute);
    }
    expect(sent.length).toBe(50);
  });

  test('rejects a zero rate', () => {
    expect(() => createSendWindow(0)).toThrow(RangeError);
  });
});

describe('digest', () => {
  test('counts by type and top hosts', () => {
    const digest = digestOf([
      { type: 'incident.opened', payload: { host: { name: 'web-7' } } },
      { type: 'incident.opened', payload: { host: { name: 'web-7' } } },
      { type: 'incident.escalated', payload: { clientIp: '10.0.0.9' } },
      { type: 'list.failing', payload: { list: 'pools' } },
    ]);
    expect(digest).toMatchObject({
      held: 4,
      byType: { 'incident.opened': 2, 'incident.escalated': 1, 'list.failing': 1 },
      topHosts: [
        { host: 'web-7', count: 2 },
        { host: '10.0.0.9', count: 1 },
      ],
    });
    expect(digest.summary).toBe(
      '4 more notifications held by the rate limit: 2 incident.opened, 1 incident.escalated, 1 list.failing; top hosts: web-7 (2), 10.0.0.9 (1)',
    );
  });
});
