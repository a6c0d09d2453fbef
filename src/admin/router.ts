/**
 * Path templates (`/api/v1/hosts/{ip}`) to routes. Paths are compared segment by segment before
 * any decoding, so an encoded slash (`%2F`) stays inside its segment; a `{param}` segment is
 * percent-decoded afterwards, and a segment that does not decode is a 400 naming the parameter.
 * When several templates match a path, the most specific one that has the method wins (a literal
 * segment beats a parameter at the first place they differ). Decoding waits until the caller has
 * checked the token, so an unauthenticated client cannot tell a bad parameter from a missing route.
 */
import { InvalidParameterError } from './http-errors.js';

export interface RouteShape {
  readonly method: string;
  readonly path: string;
}

export type RouteMatch<R extends RouteShape> =
  | {
      readonly kind: 'match';
      readonly route: R;
      /** The path parameters, percent-decoded; throws a 400 for one that does not decode. */
      decodeParams(): Readonly<Record<string, string>>;
    }
  /** The path exists, with other methods (`allow`); `routes` are the ones on this path. */
  | { readonly kind: 'method-not-allowed'; readonly allow: readonly string[]; readonly routes: readonly R[] }
  | { readonly kind: 'not-found' };

export interface Router<R extends RouteShape> {
  readonly routes: readonly R[];
  match(method: string, pathname: string): RouteMatch<R>;
}

type Segment = { readonly kind: 'literal'; readonly text: string } | { readonly kind: 'param'; readonly name: string };

interface Compiled<R> {
  readonly route: R;
  readonly segments: readonly Segment[];
}

const PARAM = /^\{([A-Za-z][A-Za-z0-9]*)\}$/;

function compile(path: string): Segment[] {
  if (!path.startsWith('/')) throw new Error(`route path must start with "/": ${path}`);
  return path
    .slice(1)
    .split('/')
    .map((text): Segment => {
      const param = PARAM.exec(text);
      return param?.[1] !== undefined ? { kind: 'param', name: param[1] } : { kind: 'literal', text };
    });
}

/** Negative when `a` is more specific than `b`. */
function bySpecificity(a: readonly Segment[], b: readonly Segment[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i]?.kind;
    const y = b[i]?.kind;
    if (x !== y) return x === 'literal' ? -1 : 1;
  }
  return 0;
}

function matches(segments: readonly Segment[], parts: readonly string[]): boolean {
  if (segments.length !== parts.length) return false;
  return segments.every((segment, i) => {
    const part = parts[i] ?? '';
    return segment.kind === 'literal' ? segment.text === part : part.length > 0;
  });
}

function decodeParams(segments: readonly Segment[], parts: readonly string[]): Record<string, string> {
  const params: Record<string, string> = {};
  segments.forEach((segment, i) => {
    if (segment.kind !== 'param') return;
    const raw = parts[i] ?? '';
    try {
      params[segment.name] = decodeURIComponent(raw);
    } catch {
      throw new InvalidParameterError(segment.name, 'is not valid percent-encoded text');
    }
  });
  return params;
}

export function createRouter<R extends RouteShape>(routes: readonly R[]): Router<R> {
  const compiled: Compiled<R>[] = routes.map((route) => ({ route, segments: compile(route.path) }));
  const seen = new Set<string>();
  for (const { route } of compiled) {
    const key = `${route.method} ${route.path}`;
    if (seen.has(key)) throw new Error(`duplicate route ${key}`);
    seen.add(key);
  }
  compiled.sort((a, b) => a.segments.length - b.segments.length || bySpecificity(a.segments, b.segments));

  return {
    routes,
    match(method, pathname) {
      const parts = pathname.slice(1).split('/');
      const candidates = compiled.filter((c) => matches(c.segments, parts));
      if (candidates.length === 0) return { kind: 'not-found' };
      const chosen = candidates.find((c) => c.route.method === method);
      if (chosen === undefined) {
        const allow = [...new Set(candidates.map((c) => c.route.method))];
        return { kind: 'method-not-allowed', allow, routes: candidates.map((c) => c.route) };
      }
      return { kind: 'match', route: chosen.route, decodeParams: () => decodeParams(chosen.segments, parts) };
    },
  };
}
