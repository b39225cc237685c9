/**
 * The typed API client: openapi-fetch over the types generated from the server's OpenAPI
 * document (src/api/schema.d.ts, `npm run api:types`). Every request carries the session's
 * bearer token; a 401 ends the session (the app shows the sign-in page again).
 */
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";
import { session } from "../auth/session";

export type Schemas = components["schemas"];
export type ProblemBody = Schemas["Problem"];

/** An RFC 9457 problem the API answered with, or a network failure (status 0). */
export class ApiProblem extends Error {
  readonly status: number;
  readonly problem: Partial<ProblemBody>;
  readonly retryAfter: number | null;

  constructor(status: number, problem: Partial<ProblemBody>, retryAfter: number | null = null) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
    this.name = "ApiProblem";
    this.status = status;
    this.problem = problem;
    this.retryAfter = retryAfter;
  }

  /** What to show a person: the domain's rule for a 409, "try again" for a 503... */
  get userMessage(): string {
    switch (this.status) {
      case 0:
        return "The garage server cannot be reached. Check the connection and try again.";
      case 401:
        return "Your session has ended. Please sign in again.";
      case 403:
        return "Your role may not do this.";
      case 404:
        return this.problem.detail ?? "Not found (or not yours to see).";
      case 409:
        return this.problem.detail ?? "A business rule refused this.";
      case 412:
        return "Someone changed this record meanwhile. Reload and try again.";
      case 429:
        return `Too many requests. Try again in ${this.retryAfter ?? 1} s.`;
      case 503:
        return "The service is briefly unavailable. Please try again in a moment.";
      default:
        return this.problem.detail ?? this.problem.title ?? `Unexpected error (HTTP ${this.status}).`;
    }
  }
}

const auth: Middleware = {
  onRequest({ request }) {
    const token = session.token();
    if (token) request.headers.set("Authorization", `Bearer ${token}`);
    return request;
  },
  async onResponse({ response }) {
    if (response.status === 401 && session.token()) session.expire();
    return response;
  },
};

/** The newest log position this tab wrote (a write's `position`). */
export const lastPosition = { value: 0 };

// The read-model routes (they accept min_position): a read after this tab's own write waits,
// server-side, until the read models have caught up with it, instead of showing the state
// before the write until the next poll.
const READ_MODEL_ROUTES = [
  /^\/api\/v1\/(board|kpis|customers|vehicles|staff|inspections|repair-orders)$/,
  /^\/api\/v1\/customers\/[^/]+\/portal$/,
  /^\/api\/v1\/vehicles\/[^/]+\/profile$/,
  /^\/api\/v1\/inspections\/[^/]+\/summary$/,
  /^\/api\/v1\/technicians\/[^/]+\/workload$/,
];

export const readYourWrites: Middleware = {
  onRequest({ request }) {
    if (request.method !== "GET" || lastPosition.value <= 0) return request;
    const url = new URL(request.url, window.location.origin);
    if (url.searchParams.has("min_position")) return request;
    if (!READ_MODEL_ROUTES.some((route) => route.test(url.pathname))) return request;
    url.searchParams.set("min_position", String(lastPosition.value));
    return new Request(url.toString(), request);
  },
};

// The page's own origin (same-origin requests either way); the fetch is looked up per call, so
// tests can replace the browser's fetch without re-creating the client.
export const api = createClient<paths>({
  baseUrl: typeof window === "undefined" ? "" : window.location.origin,
  fetch: (request: Request) => globalThis.fetch(request),
});
api.use(auth);
api.use(readYourWrites);

type Outcome<T> = { data?: T; error?: unknown; response: Response };

/** The body of a successful response, or an ApiProblem thrown for anything else. */
export async function unwrap<T>(call: Promise<Outcome<T>>): Promise<T> {
  let outcome: Outcome<T>;
  try {
    outcome = await call;
  } catch (cause) {
    throw new ApiProblem(0, { title: "Network error", detail: String(cause) });
  }
  const { data, error, response } = outcome;
  if (response.ok && data !== undefined) return data;
  if (response.ok) return undefined as T;
  const retry = response.headers.get("Retry-After");
  const body = (typeof error === "object" && error !== null ? error : {}) as Partial<ProblemBody>;
  throw new ApiProblem(response.status, body, retry ? Number(retry) : null);
}

/** A fresh Idempotency-Key per user action, so a retried click never does the thing twice. */
export function idempotencyKey(): string {
  return crypto.randomUUID();
}
