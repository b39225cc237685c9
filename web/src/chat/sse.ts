/**
 * A minimal server-sent-events parser for a fetch() body (EventSource cannot POST or send
 * Authorization). Follows the WHATWG event-stream rules the chat route uses: `event:` and
 * `data:` fields, multi-line data joined with "\n", a blank line dispatches, `:` comments and
 * unknown fields ignored, CR, LF or CRLF line ends, chunks split anywhere.
 */
export interface SseEvent {
  event: string;
  data: string;
}

export class SseParser {
  private buffer = "";
  private event = "";
  private data: string[] = [];

  constructor(private readonly onEvent: (event: SseEvent) => void) {}

  feed(chunk: string): void {
    this.buffer += chunk;
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.buffer);
      if (!match) return;
      // A lone CR at the end may be the first half of CRLF: wait for the next chunk.
      if (match[0] === "\r" && match.index === this.buffer.length - 1) return;
      const line = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      this.line(line);
    }
  }

  /** The stream ended: an event without its closing blank line is dropped (per the spec). */
  end(): void {
    this.buffer = "";
    this.event = "";
    this.data = [];
  }

  private line(line: string): void {
    if (line === "") {
      if (this.data.length > 0) this.onEvent({ event: this.event || "message", data: this.data.join("\n") });
      this.event = "";
      this.data = [];
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.event = value;
    else if (field === "data") this.data.push(value);
  }
}
