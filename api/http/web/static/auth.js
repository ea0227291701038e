// The learner's token: from /#token=..., from a parent frame on an allowed origin, or the demo sign-in.

const KEY = 'studio.token';

// Session storage, or memory where the browser refuses it (a frame on another site with
// third-party storage blocked): the learner then signs in again after a reload.
const memory = new Map();
const store = {
  get: (key) => { try { return sessionStorage.getItem(key); } catch { return memory.get(key) ?? null; } },
  set: (key, value) => { try { sessionStorage.setItem(key, value); } catch { memory.set(key, value); } },
  remove: (key) => { try { sessionStorage.removeItem(key); } catch { memory.delete(key); } },
};

// The token a link carries, taken out of the address; kept only once the page signs in with it (a link
// naming another learner is confirmed first).
export function takeTokenFromAddress() {
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get('token');
  if (!token) return null;
  params.delete('token');
  const rest = params.toString();
  history.replaceState(history.state, '', location.pathname + location.search + (rest ? `#${rest}` : ''));
  return token;
}

export const storedToken = () => store.get(KEY);
export const storeToken = (token) => store.set(KEY, token);
export const forgetToken = () => store.remove(KEY);

export function claims(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const bytes = Uint8Array.from(atob(part.padEnd(Math.ceil(part.length / 4) * 4, '=')), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null;
  }
}

export const userOf = (token) => claims(token)?.sub ?? null;

export function hasExpired(token) {
  const found = claims(token);
  return !found || typeof found.exp !== 'number' || found.exp * 1000 <= Date.now();
}

function parentOrigin(allowed) {
  if (window.parent === window) return null;
  const ancestors = location.ancestorOrigins;
  let origin = ancestors && ancestors.length ? ancestors[0] : null;
  if (!origin && document.referrer) origin = new URL(document.referrer).origin;
  return allowed.includes(origin) ? origin : null;
}

// Tells the embedding page what happens (studio:ready, studio:session-ended, studio:image-ready, ...).
export function makeParent(allowed) {
  const origin = parentOrigin(allowed);
  return {
    tell(type, detail = {}) {
      if (origin) window.parent.postMessage({ type, ...detail }, origin);
    },
    listen(onToken) {
      window.addEventListener('message', (event) => {
        if (!allowed.includes(event.origin) || event.source !== window.parent) return;
        const data = event.data;
        if (data && data.type === 'studio:token' && typeof data.token === 'string') onToken(data.token);
      });
    },
  };
}
