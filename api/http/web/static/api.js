// The studio's own API: bearer token, Idempotency-Key on every command, RFC 9457 problems as ApiError.

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

export function makeApi({ token, onUnauthorized }) {
  async function request(method, path, { json, form, key } = {}) {
    const headers = { Accept: 'application/json' };
    const bearer = token();
    if (bearer) headers.Authorization = `Bearer ${bearer}`;
    if (method !== 'GET') headers['Idempotency-Key'] = key || newKey();
    let body;
    if (json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(json);
    } else if (form !== undefined) {
      body = form;
    }
    let response;
    try {
      response = await fetch(path, { method, headers, body, credentials: 'same-origin' });
    } catch {
      throw new ApiError(0, { title: 'offline', detail: 'offline' });
    }
    if (response.status === 204) return null;
    const data = await response.json().catch(() => ({}));
    if (response.ok) return data;
    if (response.status === 401 && bearer) onUnauthorized(data);
    throw new ApiError(response.status, data);
  }

  return {
    get: (path) => request('GET', path),
    post: (path, json, key) => request('POST', path, { json, key }),
    put: (path, json, key) => request('PUT', path, { json, key }),
    upload: (path, form, key) => request('POST', path, { form, key }),
    remove: (path, key) => request('DELETE', path, { key }),
  };
}
