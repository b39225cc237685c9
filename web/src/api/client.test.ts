import { afterEach, describe, expect, it } from "vitest";
import { lastPosition, readYourWrites } from "./client";

type OnRequest = (options: { request: Request }) => Request | Promise<Request>;

async function sent(path: string): Promise<URL> {
  const onRequest = readYourWrites.onRequest as unknown as OnRequest;
  const request = await onRequest({ request: new Request(`http://127.0.0.1:8000${path}`) });
  return new URL(request.url);
}

describe("read your writes", () => {
  afterEach(() => {
    lastPosition.value = 0;
  });

  it("asks read-model reads to have caught up with this tab's last write", async () => {
    lastPosition.value = 42;
    const workload = await sent("/api/v1/technicians/7b0c4f9e/workload");
    const board = await sent("/api/v1/board?min_position=7");
    const me = await sent("/api/v1/me");
    expect(workload.searchParams.get("min_position")).toBe("42");
    expect(board.searchParams.get("min_position")).toBe("7"); // a caller's own value is kept
    expect(me.searchParams.has("min_position")).toBe(false); // not a read model
  });

  it("adds nothing before the tab has written", async () => {
    expect((await sent("/api/v1/board")).searchParams.has("min_position")).toBe(false);
  });
});
