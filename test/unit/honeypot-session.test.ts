import { describe, expect, test } from 'vitest';
import {
  MAX_ALGORITHMS,
  MAX_FIELD_CHARS,
  MAX_REQUESTS_BEFORE_LOGIN,
  REFUSAL,
  createStratumSession,
  type SessionStep,
  type StratumLogin,
} from '../../src/honeypot/stratum-session.js';
import { createLineFramer } from '../../src/honeypot/line-framer.js';

function run(lines: readonly string[]): SessionStep[] {
  const session = createStratumSession();
  return lines.map((line) => session.line(line));
}

function loginOf(steps: readonly SessionStep[]): StratumLogin | undefined {
  const last = steps[steps.length - 1];
  return last?.kind === 'login' ? last.login : undefined;
}

const WALLET = '44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A';

describe('stratum login flavours', () => {
  test('monero login: every field, an error reply', () => {
    const line = JSON.stringify({
      id: 1,
      jsonrpc: '2.0',
      method: 'login',
      params: { login: `${WALLET}.rig7`, pass: 'x', agent: 'XMRig/6.21.0 (Linux x86_64)', algo: ['rx/0', 'cn/r'] },
    });
    const steps = run([line]);
    expect(loginOf(steps)).toEqual({
      flavour: 'monero',
      login: `${WALLET}.rig7`,
      wallet: WALLET,
      worker: 'rig7',
      password: 'x',
      agent: 'XMRig/6.21.0 (Linux x86_64)',
      algorithms: ['rx/0', 'cn/r'],
    });
    const reply = JSON.parse(steps[0]?.kind === 'login' ? (steps[0].replies[0] ?? '') : '');
    expect(reply).toEqual({ id: 1, jsonrpc: '2.0', result: null, error: { code: -1, message: REFUSAL } });
  });

  test('monero rigid wins over the login suffix', () => {
    const line = '{"id":1,"method":"login","params":{"login":"W.a","rigid":"b"}}';
    expect(loginOf(run([line]))?.worker).toBe('b');
  });

  test('bitcoin: subscribe answered with a result (no work), authorize is the login', () => {
    const steps = run([
      '{"id":1,"method":"mining.subscribe","params":["cgminer/4.12.1"]}',
      '{"id":2,"method":"mining.extranonce.subscribe","params":[]}',
      '{"id":3,"method":"mining.authorize","params":["bc1qwallet.worker1","pw"]}',
    ]);
    expect(steps[0]?.kind).toBe('reply');
    const subscribe = JSON.parse(steps[0]?.kind === 'reply' ? (steps[0].replies[0] ?? '') : '');
    expect(subscribe).toMatchObject({ id: 1, error: null });
    expect(JSON.stringify(subscribe)).not.toContain('"mining.notify",[');
    expect(steps[1]).toEqual({ kind: 'reply', replies: ['{"id":2,"result":true,"error":null}'] });
    expect(loginOf(steps)).toEqual({
      flavour: 'bitcoin',
      login: 'bc1qwallet.worker1',
      wallet: 'bc1qwallet',
      worker: 'worker1',
      password: 'pw',
      agent: 'cgminer/4.12.1',
      algorithms: [],
    });
    const last = steps[2];
    expect(last?.kind === 'login' ? JSON.parse(last.replies[0] ?? '') : undefined).toEqual({
      id: 3,
      result: null,
      error: [24, REFUSAL, null],
    });
  });

  test('EthereumStratum/1.0.0', () => {
    const steps = run([
      '{"id":1,"method":"mining.subscribe","params":["ethminer/0.19.0","EthereumStratum/1.0.0"]}',
      '{"id":2,"method":"mining.authorize","params":["0xabc.rig","x"]}',
    ]);
    const subscribe = steps[0]?.kind === 'reply' ? JSON.parse(steps[0].replies[0] ?? '') : undefined;
    expect(subscribe.result[0][2]).toBe('EthereumStratum/1.0.0');
    expect(loginOf(steps)).toMatchObject({
      flavour: 'ethereum-stratum',
      wallet: '0xabc',
      worker: 'rig',
      agent: 'ethminer/0.19.0',
    });
  });

  test('eth_submitLogin with a worker field', () => {
    const steps = run(['{"id":1,"jsonrpc":"2.0","method":"eth_submitLogin","params":["0xabc","pw"],"worker":"rig9"}']);
    expect(loginOf(steps)).toEqual({
      flavour: 'eth-proxy',
      login: '0xabc',
      wallet: '0xabc',
      worker: 'rig9',
      password: 'pw',
      agent: null,
      algorithms: [],
    });
  });
});

describe('hostile input', () => {
  test.each<[string, string]>([
    ['not JSON', 'GET / HTTP/1.1'],
    ['TLS hello on a plain port', '\u0016\u0003\u0001\u0002\u0000'],
    ['an array', '[1,2,3]'],
    ['no method', '{"id":1}'],
    ['method not a string', '{"id":1,"method":5}'],
    ['null', 'null'],
  ])('%s is garbage', (_name, line) => {
    expect(run([line])).toEqual([{ kind: 'garbage' }]);
  });

  test('blank lines are ignored and count for nothing', () => {
    expect(run(['', '  '])).toEqual([
      { kind: 'reply', replies: [] },
      { kind: 'reply', replies: [] },
    ]);
  });

  test('too many requests before a login is garbage', () => {
    const lines = Array.from(
      { length: MAX_REQUESTS_BEFORE_LOGIN + 1 },
      (_, i) => `{"id":${i},"method":"mining.configure"}`,
    );
    const steps = run(lines);
    expect(steps[MAX_REQUESTS_BEFORE_LOGIN - 1]?.kind).toBe('reply');
    expect(steps[MAX_REQUESTS_BEFORE_LOGIN]).toEqual({ kind: 'garbage' });
  });

  test('fields are capped and wrong types become null', () => {
    const line = JSON.stringify({
      id: { evil: true },
      method: 'login',
      params: {
        login: 'w'.repeat(10_000),
        pass: { a: 1 },
        agent: ['x'],
        algo: Array.from({ length: 100 }, () => 'a'.repeat(999)),
      },
    });
    const steps = run([line]);
    const login = loginOf(steps);
    expect(login?.login.length).toBe(MAX_FIELD_CHARS);
    expect(login?.password).toBeNull();
    expect(login?.agent).toBeNull();
    expect(login?.algorithms).toHaveLength(MAX_ALGORITHMS);
    expect(login?.algorithms[0]?.length).toBe(MAX_FIELD_CHARS);
    expect(steps[0]?.kind === 'login' ? JSON.parse(steps[0].replies[0] ?? '').id : 'x').toBeNull();
  });

  test('a login without params still records (empty login)', () => {
    expect(loginOf(run(['{"id":1,"method":"login"}']))).toMatchObject({ login: '', wallet: '', worker: null });
  });
});

describe('line framer', () => {
  test('splits lines across chunks, strips CR', () => {
    const framer = createLineFramer(100);
    expect(framer.push(Buffer.from('{"a":1}\r\n{"b"'))).toEqual({ lines: ['{"a":1}'], tooLong: false });
    expect(framer.push(Buffer.from(':2}\n'))).toEqual({ lines: ['{"b":2}'], tooLong: false });
  });

  test('a line exactly at the cap passes, one byte more is too long', () => {
    expect(createLineFramer(4).push(Buffer.from('abcd\n'))).toEqual({ lines: ['abcd'], tooLong: false });
    expect(createLineFramer(4).push(Buffer.from('abcde\n')).tooLong).toBe(true);
  });

  test('an unterminated line past the cap is too long before its newline arrives', () => {
    const framer = createLineFramer(8);
    expect(framer.push(Buffer.from('12345')).tooLong).toBe(false);
    expect(framer.push(Buffer.from('6789')).tooLong).toBe(true);
  });

  test('multi-byte UTF-8 split across chunks', () => {
    const framer = createLineFramer(100);
    const bytes = Buffer.from('Zürich\n');
    expect(framer.push(bytes.subarray(0, 2)).lines).toEqual([]);
    expect(framer.push(bytes.subarray(2)).lines).toEqual(['Zürich']);
  });
});
