/**
 * The browser around the media code, for tests: `fetch` answering as the API would (api.md)
 * and `XMLHttpRequest` as storage would (progress in two steps, then a queued status).
 */
export const INSPECTION = "4f1c2d3e-0000-4000-8000-000000000001";
export const MEDIA = "9a8b7c6d-0000-4000-8000-000000000002";

export interface Sent {
  method: string;
  path: string;
  body: unknown;
  headers: Headers;
}

export type Answer = { status: number; body?: unknown; headers?: Record<string, string> };

/** The API: answers queued per path suffix, records every request. */
export class FakeApi {
  sent: Sent[] = [];
  answers = new Map<string, Answer[]>();
  expiresAt = new Date(Date.now() + 300_000).toISOString();

  answer(suffix: string, ...answers: Answer[]) {
    this.answers.set(suffix, [...(this.answers.get(suffix) ?? []), ...answers]);
  }

  ticket(mediaId = MEDIA): Answer {
    return {
      status: 201,
      body: {
        media_id: mediaId,
        upload: { url: "http://127.0.0.1:8000/api/v1/media-files/upload", fields: { key: `pending/inspections/${INSPECTION}/${mediaId}`, "Content-Type": "image/jpeg", signature: "sig" }, expires_at: this.expiresAt },
        confirm_path: `/api/v1/inspections/${INSPECTION}/media/${mediaId}/confirm`,
        id: INSPECTION,
        version: 3,
        position: 10,
      },
    };
  }

  fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = input instanceof Request ? input : new Request(String(input), init);
    const url = new URL(request.url);
    const text = await request.text();
    this.sent.push({ method: request.method, path: url.pathname, body: text ? JSON.parse(text) : undefined, headers: request.headers });
    const suffix = [...this.answers.keys()].find((s) => url.pathname.endsWith(s));
    const queue = suffix ? this.answers.get(suffix)! : [];
    const next = queue.shift() ?? { status: 500, body: { title: "no answer queued" } };
    const json = next.body === undefined ? null : JSON.stringify(next.body);
    return new Response(json, { status: next.status, headers: { "Content-Type": next.status >= 400 ? "application/problem+json" : "application/json", ...next.headers } });
  };

  posts(suffix: string) {
    return this.sent.filter((s) => s.method === "POST" && s.path.endsWith(suffix));
  }
}

/** Storage: each XMLHttpRequest reports progress in two steps, then the queued status. */
export class FakeXhr {
  static statuses: number[] = [];
  static sent: { url: string; fields: [string, FormDataEntryValue][] }[] = [];
  upload: { onprogress: ((e: ProgressEvent) => void) | null } = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onabort: (() => void) | null = null;
  status = 0;
  responseText = "";
  private url = "";

  open(_method: string, url: string) {
    this.url = url;
  }

  send(form: FormData) {
    FakeXhr.sent.push({ url: this.url, fields: [...form.entries()] });
    const status = FakeXhr.statuses.shift() ?? 204;
    const file = form.get("file") as File;
    setTimeout(() => {
      this.upload.onprogress?.({ lengthComputable: true, loaded: Math.floor(file.size / 2), total: file.size } as ProgressEvent);
      this.upload.onprogress?.({ lengthComputable: true, loaded: file.size, total: file.size } as ProgressEvent);
      if (status === 0) return this.onerror?.();
      this.status = status;
      if (status >= 400) this.responseText = JSON.stringify({ detail: `storage says ${status}` });
      this.onload?.();
    }, 0);
  }
}

