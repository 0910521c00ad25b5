import type { TestApp } from './app.ts';

/** Calls the API of a test app with the admin token (or `token`); JSON in, JSON out (null for an empty answer). */
export async function api(app: TestApp, method: string, path: string, body?: unknown, token = app.adminToken) {
  const res = await fetch(`${app.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as Record<string, any> };
}
