/**
 * The login phase of stratum, pure: one line in, the replies to send, a miner login when one is
 * complete, and whether to close. No I/O, no clock: honeypot-server.ts frames the lines and owns
 * the socket. Flavours (docs/deploying.md lists the miners behind each):
 *
 * - `monero`: JSON-RPC `login` {login, pass, agent, algo[], rigid} (xmrig, xmr-stak, cpuminer-multi).
 * - `bitcoin`: stratum v1 `mining.subscribe` [agent], then `mining.authorize` [user, password];
 *   `mining.extranonce.subscribe` and `mining.configure` answered on the way.
 * - `ethereum-stratum`: EthereumStratum/1.0.0 (NiceHash): `mining.subscribe` [agent,
 *   "EthereumStratum/1.0.0"], then `mining.authorize`.
 * - `eth-proxy`: `eth_submitLogin` [wallet, password] with an optional top-level `worker`.
 *
 * A subscribe is answered with a result (the miner needs it to go on to authorize); a login is
 * answered with an error, and the connection closes. Work (mining.notify, job) is never sent.
 * Every string taken from the client is capped; nothing here trusts a type.
 */

export const STRATUM_FLAVOURS = ['monero', 'bitcoin', 'ethereum-stratum', 'eth-proxy'] as const;
export type StratumFlavour = (typeof STRATUM_FLAVOURS)[number];

/** What the client said at login; strings capped at MAX_FIELD_CHARS, algorithms at MAX_ALGORITHMS. */
export interface StratumLogin {
  readonly flavour: StratumFlavour;
  /** The login as sent (wallet, often with ".worker" or "+difficulty"). */
  readonly login: string;
  /** The wallet: the login up to its first "." (none: the whole login). */
  readonly wallet: string;
  /** The worker (rig) name: an explicit one (rigid, worker), else what follows the first "." of the login. */
  readonly worker: string | null;
  readonly password: string | null;
  /** The miner program and version (XMRig/6.21.0 ...). */
  readonly agent: string | null;
  readonly algorithms: readonly string[];
}

export type SessionStep =
  | { readonly kind: 'reply'; readonly replies: readonly string[] }
  | { readonly kind: 'login'; readonly replies: readonly string[]; readonly login: StratumLogin }
  /** Not stratum (not JSON, not an object with a method): close, count as garbage. */
  | { readonly kind: 'garbage' };

export interface StratumSession {
  /** One line without its terminator. */
  line(text: string): SessionStep;
}

export const MAX_FIELD_CHARS = 256;
export const MAX_ALGORITHMS = 32;
/** Requests before a login at most (subscribe, configure, extranonce ...); more is garbage. */
export const MAX_REQUESTS_BEFORE_LOGIN = 8;

/** What the miner's log shows: say why, plainly. */
export const REFUSAL = 'mining is not permitted on this network (poolsink)';

const ETHEREUM_STRATUM = 'EthereumStratum/1.0.0';

type Id = string | number | null;

function idOf(value: unknown): Id {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string') return value.slice(0, MAX_FIELD_CHARS);
  return null;
}

function text(value: unknown): string | null {
  if (typeof value === 'string') return value.slice(0, MAX_FIELD_CHARS);
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return null;
}

function algorithmsOf(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  const algorithms: string[] = [];
  for (const item of value.slice(0, MAX_ALGORITHMS)) {
    const name = text(item);
    if (name !== null) algorithms.push(name);
  }
  return algorithms;
}

/** Splits "wallet.worker" once; an explicit worker wins. */
function loginOf(
  flavour: StratumFlavour,
  login: string,
  fields: { worker: string | null; password: string | null; agent: string | null; algorithms: string[] },
): StratumLogin {
  const dot = login.indexOf('.');
  const wallet = dot > 0 ? login.slice(0, dot) : login;
  const suffix = dot > 0 && dot < login.length - 1 ? login.slice(dot + 1) : null;
  return { ...fields, flavour, login, wallet, worker: fields.worker ?? suffix };
}

/** A JSON-RPC 2.0 error (monero, eth-proxy). */
function rpcError(id: Id, message: string): string {
  return JSON.stringify({ id, jsonrpc: '2.0', result: null, error: { code: -1, message } });
}

/** A stratum v1 error: [code, message, traceback]; 24 is "unauthorized worker". */
function stratumError(id: Id, code: number, message: string): string {
  return JSON.stringify({ id, result: null, error: [code, message, null] });
}

function stratumResult(id: Id, result: unknown): string {
  return JSON.stringify({ id, result, error: null });
}

function parseRequest(line: string): { id: Id; method: string; params: unknown; worker: unknown } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const method: unknown = Reflect.get(value, 'method');
  if (typeof method !== 'string') return undefined;
  return {
    id: idOf(Reflect.get(value, 'id')),
    method,
    params: Reflect.get(value, 'params'),
    worker: Reflect.get(value, 'worker'),
  };
}

function arrayParam(params: unknown, index: number): string | null {
  return Array.isArray(params) ? text(params[index]) : null;
}

export function createStratumSession(): StratumSession {
  let agent: string | null = null;
  let flavour: StratumFlavour = 'bitcoin';
  let requests = 0;

  function reply(replies: string[]): SessionStep {
    return { kind: 'reply', replies };
  }

  return {
    line(line: string): SessionStep {
      if (line.trim() === '') return reply([]);
      const request = parseRequest(line);
      requests += 1;
      if (request === undefined || requests > MAX_REQUESTS_BEFORE_LOGIN) return { kind: 'garbage' };
      const { id, method, params } = request;
      switch (method) {
        case 'login': {
          const p: object = typeof params === 'object' && params !== null ? params : {};
          const login = text(Reflect.get(p, 'login')) ?? '';
          const found = loginOf('monero', login, {
            worker: text(Reflect.get(p, 'rigid')),
            password: text(Reflect.get(p, 'pass')),
            agent: text(Reflect.get(p, 'agent')),
            algorithms: algorithmsOf(Reflect.get(p, 'algo')),
          });
          return { kind: 'login', replies: [rpcError(id, REFUSAL)], login: found };
        }
        case 'eth_submitLogin': {
          const found = loginOf('eth-proxy', arrayParam(params, 0) ?? '', {
            worker: text(request.worker),
            password: arrayParam(params, 1),
            agent: null,
            algorithms: [],
          });
          return { kind: 'login', replies: [rpcError(id, REFUSAL)], login: found };
        }
        case 'mining.subscribe': {
          agent = arrayParam(params, 0);
          if (arrayParam(params, 1) === ETHEREUM_STRATUM) {
            flavour = 'ethereum-stratum';
            return reply([stratumResult(id, [['mining.notify', '0000000000000000', ETHEREUM_STRATUM], '0000'])]);
          }
          flavour = 'bitcoin';
          const subscriptions = [
            ['mining.set_difficulty', '1'],
            ['mining.notify', '1'],
          ];
          return reply([stratumResult(id, [subscriptions, '00000000', 4])]);
        }
        case 'mining.authorize': {
          const found = loginOf(flavour, arrayParam(params, 0) ?? '', {
            worker: null,
            password: arrayParam(params, 1),
            agent,
            algorithms: [],
          });
          return { kind: 'login', replies: [stratumError(id, 24, REFUSAL)], login: found };
        }
        case 'mining.extranonce.subscribe':
          return reply([stratumResult(id, true)]);
        default:
          // mining.configure (version rolling) and the like: refused, the login may still follow.
          return reply([stratumError(id, 20, 'not supported')]);
      }
    },
  };
}
