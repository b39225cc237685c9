import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { renderUi } from "../test/render";
import { ApiProblem } from "../api/client";
import { SseParser, type SseEvent } from "./sse";
import { ask, chatErrorMessage, type ChatAnswer } from "./chat";
import { citations } from "./citations";
import { ChatPanel } from "./ChatPanel";

const navigate = vi.fn();
vi.mock("../router", () => ({ router: { navigate: (...args: unknown[]) => navigate(...args) } }));

const ORDER = "50d1e751-3e76-5493-9c37-73c13ab16740";

function answer(over: Partial<ChatAnswer> = {}): ChatAnswer {
  return {
    turn_id: "t-1",
    answer: `Repair order ${ORDER} is ready for pickup.`,
    notice: null,
    stop_reason: "end_turn",
    tool_rounds: 1,
    tools: [{ name: "get_repair_order", status: "success", record_ids: [ORDER] }],
    records: [ORDER],
    input_tokens: 10,
    output_tokens: 5,
    ...over,
  };
}

/** A streamed response whose body arrives in the given chunks, the next one only when the
 * test calls `next()` (so the panel can be seen mid-stream). */
function streamed(chunks: string[]) {
  const encoder = new TextEncoder();
  let push: ((value: string | null) => void) | null = null;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      push = (value) => (value === null ? controller.close() : controller.enqueue(encoder.encode(value)));
    },
  });
  let i = 0;
  return {
    response: new Response(body, { status: 200, headers: { "Content-Type": "text/event-stream; charset=utf-8" } }),
    next: () => push!(i < chunks.length ? (chunks[i++] as string) : null),
    rest: () => {
      while (i < chunks.length) push!(chunks[i++] as string);
      push!(null);
    },
  };
}

const sse = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

afterEach(() => {
  vi.unstubAllGlobals();
  navigate.mockReset();
});

describe("SseParser", () => {
  it("joins data lines, ignores comments and survives chunks split anywhere", () => {
    const events: SseEvent[] = [];
    const text = ': ping\r\nevent: delta\r\ndata: {"text":"a"}\r\n\r\nevent: done\ndata: 1\ndata: 2\n\ndata: orphan';
    const parser = new SseParser((e) => events.push(e));
    for (const ch of text) parser.feed(ch); // one character at a time, CRLF split too
    parser.end();
    expect(events).toEqual([
      { event: "delta", data: '{"text":"a"}' },
      { event: "done", data: "1\n2" },
    ]);
  });
});

describe("ask", () => {
  it("streams deltas and tools, then returns the done answer", async () => {
    const s = streamed([sse("tool", { name: "get_repair_order", status: "success", record_ids: [ORDER] }), sse("delta", { text: "Ready " }), sse("delta", { text: "now." }), sse("done", answer({ answer: "Ready now." }))]);
    const fetchImpl = vi.fn(async () => s.response);
    const deltas: string[] = [];
    const tools: string[] = [];
    const pending = ask("Is my car ready?", [], { onDelta: (t) => deltas.push(t), onTool: (t) => tools.push(t.name) }, { fetchImpl });
    s.rest();
    const done = await pending;
    expect(done.answer).toBe("Ready now.");
    expect(deltas.join("")).toBe("Ready now.");
    expect(tools).toEqual(["get_repair_order"]);
    const [, init] = fetchImpl.mock.calls[0] as unknown as [string, RequestInit];
    expect((init.headers as Record<string, string>).Accept).toBe("text/event-stream");
    expect(JSON.parse(String(init.body))).toMatchObject({ message: "Is my car ready?", stream: true });
  });

  it("falls back to the JSON answer when the server answers JSON", async () => {
    const fetchImpl = vi.fn(async () => Response.json(answer()));
    const deltas: string[] = [];
    const done = await ask("Is my car ready?", [], { onDelta: (t) => deltas.push(t) }, { fetchImpl });
    expect(deltas).toEqual([done.answer]);
  });

  it("turns a 429 into a problem with the retry time, and an error event into a failure", async () => {
    const limited = vi.fn(async () =>
      Response.json({ title: "Too many questions", status: 429 }, { status: 429, headers: { "Retry-After": "42" } }),
    );
    const error = await ask("again?", [], {}, { fetchImpl: limited }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiProblem);
    expect(chatErrorMessage(error)).toContain("Try again in 42 s");
    const s = streamed([sse("delta", { text: "Partly" }), sse("error", { status: 503, type: "assistant-unavailable", detail: "model down" })]);
    const pending = ask("q", [], {}, { fetchImpl: async () => s.response });
    s.rest();
    const failure = await pending.catch((e: unknown) => e);
    expect((failure as ApiProblem).status).toBe(503);
    expect(chatErrorMessage(failure)).toContain("assistant is unavailable");
  });
});

describe("citations", () => {
  it("links each cited record to the screen of its kind for the role", () => {
    const tools = [
      { name: "list_my_vehicles", status: "success" as const, record_ids: ["v-1"] },
      { name: "get_repair_order", status: "success" as const, record_ids: ["o-1"] },
      { name: "get_inspection_findings", status: "success" as const, record_ids: ["i-1"] },
    ];
    expect(citations(["o-1", "v-1", "i-1", "o-1"], tools, "customer").map((c) => c.href)).toEqual([
      "/portal/repair-orders/o-1",
      "/portal",
      null,
    ]);
    expect(citations(["o-1", "v-1", "i-1"], tools, "advisor").map((c) => c.href)).toEqual([
      "/repair-orders/o-1",
      "/vehicles/v-1",
      "/inspections/i-1",
    ]);
  });
});

describe("ChatPanel", () => {
  it("shows the answer as it streams and cites the order as a link", async () => {
    const user = userEvent.setup();
    const s = streamed([sse("tool", { name: "get_repair_order", status: "success", record_ids: [ORDER] }), sse("delta", { text: "Your car is " }), sse("delta", { text: "ready." }), sse("done", answer({ answer: "Your car is ready." }))]);
    vi.stubGlobal("fetch", vi.fn(async () => s.response));
    renderUi(<ChatPanel role="customer" />);
    await user.type(screen.getByLabelText("Your question"), "Is my car ready?");
    await user.click(screen.getByRole("button", { name: "Ask" }));
    s.next();
    s.next();
    await waitFor(() => expect(screen.getByTestId("chat-answer")).toHaveTextContent("Your car is"));
    expect(screen.getByTestId("chat-answer")).not.toHaveTextContent("ready.");
    expect(screen.queryByRole("link")).toBeNull();
    s.rest();
    const link = await screen.findByRole("link", { name: /repair order 50d1e751/ });
    expect(screen.getByTestId("chat-answer")).toHaveTextContent("Your car is ready.");
    expect(link).toHaveAttribute("href", `/portal/repair-orders/${ORDER}`);
    await user.click(link);
    expect(navigate).toHaveBeenCalledWith({ to: `/portal/repair-orders/${ORDER}` });
  });

  it("renders the answer as text, never as HTML", async () => {
    const user = userEvent.setup();
    vi.stubGlobal("fetch", vi.fn(async () => Response.json(answer({ answer: '<img src=x onerror="alert(1)">', records: [], tools: [] }))));
    renderUi(<ChatPanel role="advisor" />);
    await user.click(screen.getByRole("button", { name: "What is on the board?" }));
    expect(await screen.findByText('<img src=x onerror="alert(1)">')).toBeInTheDocument();
    expect(document.querySelector("img")).toBeNull();
  });

  it("says when to try again after a 429 and that the model is unavailable on a 503", async () => {
    const user = userEvent.setup();
    const responses = [
      Response.json({ status: 429, title: "Too many requests" }, { status: 429, headers: { "Retry-After": "17" } }),
      Response.json({ status: 503, type: "assistant-unavailable" }, { status: 503, headers: { "Retry-After": "5" } }),
    ];
    vi.stubGlobal("fetch", vi.fn(async () => responses.shift()));
    renderUi(<ChatPanel role="advisor" />);
    await user.type(screen.getByLabelText("Your question"), "board?{Enter}");
    expect(await screen.findByRole("alert")).toHaveTextContent("Try again in 17 s");
    await user.type(screen.getByLabelText("Your question"), "board?{Enter}");
    await waitFor(() => expect(screen.getByRole("alert")).toHaveTextContent("assistant is unavailable"));
    expect(screen.getByRole("alert")).toHaveTextContent("in 5 s");
  });
});
