/**
 * The media routes (api.md, issue 13). HAND-WRITTEN until the backend branch merges: the routes
 * are not in web/openapi.json yet. After the merge these become `api.GET/POST(...)` calls on the
 * generated types and this fetch helper goes.
 */
import { ApiProblem, idempotencyKey, lastPosition, type ProblemBody } from "../api/client";
import { session } from "../auth/session";
import type { CommandResult, MediaOwner, MediaUploadRequest, MediaUploadTicket, MediaView, Shape } from "./types";

async function call<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  const token = session.token();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (method === "POST") headers["Idempotency-Key"] = idempotencyKey();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response: Response;
  try {
    response = await globalThis.fetch(`${window.location.origin}/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? null : JSON.stringify(body),
    });
  } catch (cause) {
    throw new ApiProblem(0, { title: "Network error", detail: String(cause) });
  }
  const text = await response.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    if (response.status === 401 && session.token()) session.expire();
    const retry = response.headers.get("Retry-After");
    const problem = (typeof parsed === "object" && parsed !== null ? parsed : {}) as Partial<ProblemBody>;
    throw new ApiProblem(response.status, problem, retry ? Number(retry) : null);
  }
  const result = parsed as T;
  const position = (result as { position?: unknown } | undefined)?.position;
  if (typeof position === "number") lastPosition.value = Math.max(lastPosition.value, position);
  return result;
}

const base = (owner: MediaOwner) => `/${owner.kind}/${encodeURIComponent(owner.id)}/media`;

export function requestUpload(owner: MediaOwner, body: MediaUploadRequest): Promise<MediaUploadTicket> {
  return call("POST", `${base(owner)}/uploads`, body);
}

export function confirmUpload(owner: MediaOwner, mediaId: string): Promise<CommandResult> {
  return call("POST", `${base(owner)}/${encodeURIComponent(mediaId)}/confirm`);
}

export async function listMedia(owner: MediaOwner): Promise<MediaView[]> {
  return (await call<{ items: MediaView[] }>("GET", base(owner))).items;
}

export function annotate(inspectionId: string, mediaId: string, shapes: Shape[]): Promise<CommandResult> {
  return call("POST", `/inspections/${encodeURIComponent(inspectionId)}/media/${encodeURIComponent(mediaId)}/annotations`, { shapes });
}
