/**
 * The assistant's client: `POST /api/v1/chat` as the signed-in user (docs/assistant.md).
 * Streams server-sent events (tool, delta, done, error) and falls back to the JSON answer when
 * the browser cannot read a response body as a stream or the server answers JSON. Problems
 * before the stream starts (429 with Retry-After, 503 assistant-unavailable) throw ApiProblem.
 */
import { ApiProblem, type ProblemBody } from "../api/client";
import { session } from "../auth/session";
import { SseParser } from "./sse";

export interface ChatTool {
  name: string;
  status: "success" | "error" | "refused";
  record_ids: string[];
}

export interface ChatAnswer {
  turn_id: string;
  answer: string;
  notice: string | null;
  stop_reason: string;
  tool_rounds: number;
  tools: ChatTool[];
  records: string[];
  input_tokens: number;
  output_tokens: number;
}

export interface ChatMessage {
  role: "user" | "assistant";
  text: string;
}

export interface ChatHandlers {
  onDelta?: (text: string) => void;
  onTool?: (tool: ChatTool) => void;
}

/** A failure after the stream began (the `error` event): the turn ends with this. */
export class ChatStreamError extends ApiProblem {}

async function problemOf(response: Response): Promise<ApiProblem> {
  let body: Partial<ProblemBody> = {};
  try {
    body = (await response.json()) as Partial<ProblemBody>;
  } catch {
    // not a problem document
  }
  const retry = response.headers.get("Retry-After");
  if (response.status === 401 && session.token()) session.expire();
  return new ApiProblem(response.status, body, retry ? Number(retry) : null);
}

export async function ask(
  message: string,
  history: ChatMessage[],
  handlers: ChatHandlers = {},
  options: { signal?: AbortSignal; stream?: boolean; fetchImpl?: typeof fetch } = {},
): Promise<ChatAnswer> {
  const doFetch = options.fetchImpl ?? fetch;
  const stream = (options.stream ?? true) && typeof TextDecoder !== "undefined";
  const headers: Record<string, string> = {
    "Content-Type": "application/json",
    Accept: stream ? "text/event-stream" : "application/json",
  };
  const token = session.token();
  if (token) headers.Authorization = `Bearer ${token}`;
  let response: Response;
  try {
    response = await doFetch("/api/v1/chat", {
      method: "POST",
      headers,
      body: JSON.stringify({ message, history: history.slice(-20), stream }),
      signal: options.signal,
    });
  } catch (cause) {
    if ((cause as Error)?.name === "AbortError") throw cause;
    throw new ApiProblem(0, { title: "Network error", detail: String(cause) });
  }
  if (!response.ok) throw await problemOf(response);
  const type = response.headers.get("Content-Type") ?? "";
  if (!type.startsWith("text/event-stream") || !response.body) {
    // The JSON mode: one answer, shown at once.
    const answer = (await response.json()) as ChatAnswer;
    for (const tool of answer.tools) handlers.onTool?.(tool);
    handlers.onDelta?.(answer.answer);
    return answer;
  }
  let done: ChatAnswer | null = null;
  let failure: ChatStreamError | null = null;
  const parser = new SseParser(({ event, data }) => {
    if (done || failure) return;
    const payload = JSON.parse(data) as Record<string, unknown>;
    if (event === "delta") handlers.onDelta?.(String(payload.text ?? ""));
    else if (event === "tool") handlers.onTool?.(payload as unknown as ChatTool);
    else if (event === "done") done = payload as unknown as ChatAnswer;
    else if (event === "error")
      failure = new ChatStreamError(Number(payload.status ?? 503), {
        type: String(payload.type ?? ""),
        detail: String(payload.detail ?? "The assistant stopped."),
      } as Partial<ProblemBody>);
  });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done: ended } = await reader.read();
    if (ended) break;
    parser.feed(value);
  }
  parser.end();
  if (failure) throw failure;
  if (!done) throw new ChatStreamError(503, { detail: "The answer was cut off. Please ask again." });
  return done;
}

/** What the panel says when asking failed: the wait on a 429, "try again" on a 503. */
export function chatErrorMessage(error: unknown): string {
  if (!(error instanceof ApiProblem)) return String((error as Error)?.message ?? error);
  switch (error.status) {
    case 429:
      return `You have asked a lot of questions in a short time. Try again in ${error.retryAfter ?? 60} s.`;
    case 503:
      return `The assistant is unavailable right now (the model is busy or down). Try again${
        error.retryAfter ? ` in ${error.retryAfter} s` : " in a moment"
      }.`;
    case 400:
    case 422:
      return error.problem.detail ?? "The question could not be sent.";
    default:
      return error.userMessage;
  }
}
