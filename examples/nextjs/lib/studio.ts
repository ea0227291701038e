// The server's side of the studio: the API's address, the learner's token and the typed client.
// Only server components, server actions and route handlers import this module: the platform's
// secret (STUDIO_JWT_SECRET) stays on the server, and the browser never holds more than a
// short-lived learner token (and only on the embedded route, which must hand one to the frame).
import { createHmac } from "node:crypto";
import { createStudioClient, type StudioClient } from "@studio-ledger/client";

function setting(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: see examples/nextjs/README.md`);
  return value;
}

/** Where the studio service answers, as this server reaches it (e.g. http://127.0.0.1:8000). */
export const apiUrl = (): string => setting("STUDIO_API_URL").replace(/\/+$/, "");

/** Where the learner's browser reaches the studio (images, the embedded page); the API's address by default. */
export const publicUrl = (): string => (process.env.STUDIO_PUBLIC_URL || apiUrl()).replace(/\/+$/, "");

/** The signed-in learner. A real platform reads its own session here; the example takes it from the environment. */
export const learner = (): string => setting("PLATFORM_LEARNER_ID");

const base64url = (data: string | Buffer): string => Buffer.from(data).toString("base64url");

/** A learner token signed with the platform's shared secret (HS256), as the studio verifies it. */
export function learnerToken(userId: string, ttlSeconds = 15 * 60): string {
  const now = Math.floor(Date.now() / 1000);
  const header = base64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const claims = base64url(JSON.stringify({
    sub: userId,
    iss: process.env.STUDIO_JWT_ISSUER || "studio-ledger",
    aud: process.env.STUDIO_JWT_AUDIENCE || "studio-ledger",
    iat: now,
    exp: now + ttlSeconds,
    roles: [],
  }));
  const signature = createHmac("sha256", setting("STUDIO_JWT_SECRET")).update(`${header}.${claims}`).digest();
  return `${header}.${claims}.${base64url(signature)}`;
}

/** The typed client, calling the API as the signed-in learner (server side only). */
export function studioClient(): StudioClient {
  const token = learnerToken(learner());
  // no-store: every read is the learner's own and changes as they generate
  return createStudioClient({ baseUrl: apiUrl(), token, fetch: (request) => fetch(request, { cache: "no-store" }) });
}

/** An image address the browser can load (the API answers relative /media/... URLs). */
export const imageUrl = (url: string): string => (url.startsWith("/") ? publicUrl() + url : url);
