/**
 * Reads the collector's JSON API with the user's bearer token. The token comes from the URL
 * fragment (`#token=...`, never sent to the server and removed from the address bar at once) or
 * the token form, and is kept in sessionStorage for this tab only.
 */
const TOKEN_KEY = 'hoptrace.token';

export class UnauthorizedError extends Error {
  constructor() {
    super('the collector needs a token');
  }
}

export class NotFoundError extends Error {}

export function takeTokenFromFragment(): void {
  const match = /(?:^#|&)token=([^&]*)/.exec(location.hash);
  if (!match) return;
  setToken(decodeURIComponent(match[1]));
  history.replaceState(history.state, '', location.pathname + location.search);
}

export function setToken(token: string): void {
  if (token === '') sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
}

export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const response = await fetch(path, {
    headers: token
      ? { authorization: `Bearer ${token}`, accept: 'application/json' }
      : { accept: 'application/json' },
    signal,
    cache: 'no-store',
  });
  if (response.status === 401) throw new UnauthorizedError();
  if (response.status === 404) throw new NotFoundError(path);
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return (await response.json()) as T;
}
