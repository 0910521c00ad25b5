// The admin API, called with the token from sessionStorage in the Authorization header (never in a URL).

const KEY = 'tollkeeper.admin_token';

export function storedToken(): string | null {
  return sessionStorage.getItem(KEY);
}
export function storeToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}
export function forgetToken(): void {
  sessionStorage.removeItem(KEY);
}

/** A non-2xx answer: the status and the API's error body (`{ error, message, errors? }`). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: { error?: string; message?: string; errors?: string[] } | null,
  ) {
    super(body?.message ?? `HTTP ${status}`);
  }
}

export interface Api {
  get<T>(path: string): Promise<T>;
  send<T>(method: 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T>;
}

/** Calls go to this origin; a 401 means the token is gone or wrong, and `onUnauthorized` signs out. */
export function createApi(token: string, onUnauthorized: () => void): Api {
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      cache: 'no-store',
    });
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = { message: text.slice(0, 200) };
    }
    if (res.status === 401) onUnauthorized();
    if (!res.ok) throw new ApiError(res.status, parsed as ApiError['body']);
    return parsed as T;
  }
  return {
    get: (path) => call('GET', path),
    send: (method, path, body) => call(method, path, body),
  };
}

/** Checks a token by reading the policy list (an admin-only route). */
export async function checkToken(token: string): Promise<'ok' | 'rejected' | 'unreachable'> {
  try {
    const res = await fetch('/api/policies', { headers: { authorization: `Bearer ${token}` }, cache: 'no-store' });
    if (res.ok) return 'ok';
    return res.status === 401 || res.status === 403 ? 'rejected' : 'unreachable';
  } catch {
    return 'unreachable';
  }
}
