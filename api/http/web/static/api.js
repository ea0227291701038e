// The studio's own API: bearer token, Idempotency-Key on every command, RFC 9457 problems as ApiError.
// A request belongs to the session it started in: signed out, nothing is sent (a refresh chained to an
// answer that arrives after "Sign out" would only earn a 401); an answer that arrives after the session
// ended or changed hands is dropped (another learner's wallet must never fill the page).

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

// The session a request started in has ended: nothing to show, nothing to tell the learner.
export class SessionEnded extends ApiError {
  constructor() {
    super(401, { title: 'session ended', detail: '' });
  }
}

export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

// open: the paths that need no session (signing in).
export function makeApi({ token, onUnauthorized, open = ['/v1/dev/token'] }) {
  async function request(method, path, { json, form, key, text = false } = {}) {
    const headers = { Accept: text ? '*/*' : 'application/json' };
    const bearer = token();
    if (bearer) headers.Authorization = `Bearer ${bearer}`;
    else if (!open.includes(path)) throw new SessionEnded();
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
    const asText = text && response.ok;  // a problem is JSON all the same
    const data = response.status === 204 ? null : asText ? await response.text() : await response.json().catch(() => ({}));
    if (bearer && token() !== bearer) throw new SessionEnded();
    if (response.status === 204) return null;
    if (response.ok) return data;
    if (response.status === 401 && bearer) onUnauthorized(data);
    throw new ApiError(response.status, data);
  }

  return {
    get: (path) => request('GET', path),
    text: (path) => request('GET', path, { text: true }),
    post: (path, json, key) => request('POST', path, { json, key }),
    put: (path, json, key) => request('PUT', path, { json, key }),
    upload: (path, form, key) => request('POST', path, { form, key }),
    remove: (path, key) => request('DELETE', path, { key }),
  };
}
