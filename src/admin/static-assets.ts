/**
 * The dashboard's built files (dist/web, made by `npm run build`), held in memory: read once at start
 * from the directory listing into a map from URL path to bytes, so a request path is only ever a
 * key, never joined to the filesystem (no traversal). Served at `/` (index.html, revalidated each
 * time) and `/assets/<name>-<hash>.<ext>` (immutable, cached a year), without the token: they hold
 * no data; every API call the page makes still needs it. Strict headers: no inline script or style.
 */
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';

export interface StaticAsset {
  readonly body: Buffer;
  readonly headers: Readonly<Record<string, string>>;
}

/** URL path → asset. */
export type StaticAssets = ReadonlyMap<string, StaticAsset>;

export const DASHBOARD_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** Only plain hashed names are served from assets/ (what the build writes); anything else is skipped. */
const ASSET_NAME = /^[A-Za-z0-9_-]+\.(js|css|svg|png|ico)$/;
/** Files larger than this are not a dashboard asset; skipped so a stray file cannot fill memory. */
const MAX_ASSET_BYTES = 4 * 1024 * 1024;

/** Where `npm run build` puts the dashboard: dist/web beside dist/admin (from src/ or from dist/). */
export function defaultDashboardDir(): string {
  return fileURLToPath(new URL('../../dist/web/', import.meta.url));
}

function asset(body: Buffer, extension: string, cacheControl: string): StaticAsset {
  return {
    body,
    headers: {
      'content-type': CONTENT_TYPES[extension] ?? 'application/octet-stream',
      'content-length': String(body.length),
      'cache-control': cacheControl,
      'content-security-policy': DASHBOARD_CSP,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cross-origin-opener-policy': 'same-origin',
    },
  };
}

/** A regular file (not a symlink) of at most MAX_ASSET_BYTES, else undefined. */
function readSmallFile(path: string): Buffer | undefined {
  const stat = lstatSync(path, { throwIfNoEntry: false });
  if (stat === undefined || !stat.isFile() || stat.size > MAX_ASSET_BYTES) return undefined;
  return readFileSync(path);
}

/**
 * Reads `dir`/index.html and `dir`/assets/*. Undefined when there is no index.html (not built):
 * the admin server then serves only the API.
 */
export function loadStaticAssets(dir: string): StaticAssets | undefined {
  const index = readSmallFile(join(dir, 'index.html'));
  if (index === undefined) return undefined;
  const assets = new Map<string, StaticAsset>();
  const page = asset(index, '.html', 'no-cache');
  assets.set('/', page);
  assets.set('/index.html', page);
  let names: string[] = [];
  try {
    names = readdirSync(join(dir, 'assets'));
  } catch (err: unknown) {
    // No assets directory: index.html alone (it then loads nothing, which the page shows).
    if (!(err instanceof Error && 'code' in err && err.code === 'ENOENT')) throw err;
  }
  for (const name of names) {
    const match = ASSET_NAME.exec(name);
    if (match === null) continue;
    const body = readSmallFile(join(dir, 'assets', name));
    if (body !== undefined)
      assets.set(`/assets/${name}`, asset(body, `.${match[1]}`, 'public, max-age=31536000, immutable'));
  }
  return assets;
}

/** The dashboard's built files; without them (not built) the admin server serves only the API. */
export function dashboardAssets(log: Logger): { assets?: StaticAssets } {
  const dir = defaultDashboardDir();
  const assets = loadStaticAssets(dir);
  if (assets === undefined)
    log.info({ dir }, 'dashboard not built (npm run build); the admin server serves the API only');
  return assets === undefined ? {} : { assets };
}
