// The Studio Ledger client: openapi-fetch over the generated schema, with the learner's token.
import createClient, { type Client, type Middleware } from "openapi-fetch";
import type { components, operations, paths } from "./schema.js";

export type { components, operations, paths };
export type Schemas = components["schemas"];
/** An RFC 9457 problem: `type` is stable (`urn:studio-ledger:problem:<slug>`), `field` names a bad input. */
export type Problem = Schemas["ProblemPublic"] & { field?: string; needed?: number; available?: number };
export type StudioClient = Client<paths>;

export interface StudioClientOptions {
  /** Where the service is, e.g. "https://studio.example.com" (no trailing /v1). */
  baseUrl: string;
  /** The learner's JWT, or a function returning the current one (called before every request). */
  token?: string | (() => string | undefined);
  /** A fetch of your own (server-side rendering, tests). */
  fetch?: (input: Request) => Promise<Response>;
}

/** A typed client: `client.GET("/v1/templates")`, `client.POST("/v1/generations", {...})`. */
export function createStudioClient(options: StudioClientOptions): StudioClient {
  const client = createClient<paths>({
    baseUrl: options.baseUrl.replace(/\/+$/, ""),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const bearer: Middleware = {
    onRequest({ request }) {
      const token = typeof options.token === "function" ? options.token() : options.token;
      if (token) request.headers.set("Authorization", `Bearer ${token}`);
      return request;
    },
  };
  client.use(bearer);
  return client;
}

/** The problem's slug (`insufficient-credits`, `invalid-variable`, ...), or undefined for anything else. */
export function problemSlug(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null || !("type" in error)) return undefined;
  const type = (error as { type: unknown }).type;
  const prefix = "urn:studio-ledger:problem:";
  return typeof type === "string" && type.startsWith(prefix) ? type.slice(prefix.length) : undefined;
}

/** A fresh Idempotency-Key for one intended operation (keep it to retry that same operation). */
export function idempotencyKey(): string {
  return crypto.randomUUID();
}
