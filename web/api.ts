/**
 * The dashboard's only door to poolsink: the public admin API with the bearer token. The token is
 * kept in sessionStorage (this tab only; gone when the tab closes), sent as `Authorization: Bearer`,
 * never put in a URL or a cookie. Downloads go through fetch too, then a Blob URL.
 */
const TOKEN_KEY = 'poolsink.adminToken';

export function storedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function saveToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** A failed call: the HTTP status and the API's error message (its `error.message`). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

let onUnauthorized: () => void = () => {};

/** Called whenever the API answers 401 (wrong or stale token): the app signs out with a message. */
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

function errorMessageOf(body: unknown, status: number): string {
  if (typeof body === 'object' && body !== null && 'error' in body) {
    const error = body.error;
    if (typeof error === 'object' && error !== null && 'message' in error && typeof error.message === 'string')
      return error.message;
  }
  return `HTTP ${status}`;
}

async function call(path: string, init: { method?: string; body?: unknown; token?: string } = {}): Promise<Response> {
  const token = init.token ?? storedToken() ?? '';
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, {
    method: init.method ?? 'GET',
    headers,
    cache: 'no-store',
    credentials: 'omit',
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  if (!response.ok) {
    const body: unknown = await response.json().catch(() => undefined);
    if (response.status === 401 && init.token === undefined) onUnauthorized();
    throw new ApiError(response.status, errorMessageOf(body, response.status));
  }
  return response;
}

/** A JSON call; the result is typed by the caller after the API's documented shape (docs, OpenAPI). */
export async function api<T>(path: string, init: { method?: string; body?: unknown; token?: string } = {}): Promise<T> {
  const response = await call(path, init);
  return response.json();
}

/** A change whose reply body is not needed (204 or JSON). */
export async function send(path: string, init: { method: string; body?: unknown }): Promise<void> {
  await call(path, init);
}

/** Downloads an export (CSV, NDJSON) with the bearer header, saved under the server's file name. */
export async function download(path: string, fallbackName: string): Promise<void> {
  const response = await call(path);
  const disposition = response.headers.get('content-disposition') ?? '';
  const name = /filename="?([A-Za-z0-9._-]+)"?/.exec(disposition)?.[1] ?? fallbackName;
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** `?a=1&b=x` from the set fields of a filter (empty strings left out). */
export function queryString(params: Readonly<Record<string, string | number | undefined>>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}
