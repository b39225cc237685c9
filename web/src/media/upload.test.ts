/**
 * The upload state machine against a fake browser: `fetch` answers as the API would (api.md),
 * `XMLHttpRequest` as storage would (204 after reporting progress). Nothing of ours is faked.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { lastPosition } from "../api/client";
import { MediaUpload, type UploadState } from "./upload";
import { MAX_PHOTO_BYTES } from "./types";
import { FakeApi, FakeXhr, INSPECTION, MEDIA } from "../test/fakeBrowser";

// SHA-256 of the three bytes 1, 2, 3.
const SHA_123 = "039058c6f2c0cb492c533b0a4d14ef77cc0f78abccced5287d84a1a2011cfb81";

const photo = (bytes = new Uint8Array([1, 2, 3]), name = "brake-disc.jpg", type = "image/jpeg") => new File([bytes], name, { type });

let fake: FakeApi;

beforeEach(() => {
  fake = new FakeApi();
  FakeXhr.statuses = [];
  FakeXhr.sent = [];
  vi.stubGlobal("fetch", fake.fetch);
  vi.stubGlobal("XMLHttpRequest", FakeXhr);
});

afterEach(() => {
  vi.unstubAllGlobals();
  lastPosition.value = 0;
});

function track(upload: MediaUpload): UploadState[] {
  const seen: UploadState[] = [];
  (upload as unknown as { options: { onChange: (s: UploadState) => void } }).options.onChange = (s) => seen.push(s);
  return seen;
}

const owner = { kind: "inspections" as const, id: INSPECTION };

describe("MediaUpload", () => {
  it("hashes, asks for a ticket, uploads the form with progress, confirms", async () => {
    fake.answer("/media/uploads", fake.ticket());
    fake.answer(`/media/${MEDIA}/confirm`, { status: 200, body: { id: INSPECTION, version: 4, position: 11 } });
    const done = vi.fn();
    const upload = new MediaUpload({ owner, file: photo(), itemCode: "brake_discs", videos: true, onDone: done });
    const seen = track(upload);

    const final = await upload.run();

    expect(final.phase).toBe("done");
    expect(seen.map((s) => s.phase).filter((p, i, all) => p !== all[i - 1])).toEqual(["checking", "hashing", "requesting", "uploading", "confirming", "done"]);
    const [request] = fake.posts("/media/uploads");
    expect(request!.path).toBe(`/api/v1/inspections/${INSPECTION}/media/uploads`);
    expect(request!.body).toEqual({ item_code: "brake_discs", file_name: "brake-disc.jpg", content_type: "image/jpeg", size: 3, sha256: SHA_123 });
    expect(request!.headers.get("Idempotency-Key")).toMatch(/^[0-9a-f-]{36}$/);
    // The ticket's fields first, the file last (S3 ignores anything after it).
    const [form] = FakeXhr.sent;
    expect(form!.url).toBe("http://127.0.0.1:8000/api/v1/media-files/upload");
    expect(form!.fields.map(([name]) => name)).toEqual(["key", "Content-Type", "signature", "file"]);
    expect(form!.fields[0]![1]).toBe(`pending/inspections/${INSPECTION}/${MEDIA}`);
    // Progress as storage reported it, while uploading.
    expect(seen.filter((s) => s.phase === "uploading").map((s) => s.loaded)).toEqual([0, 1, 3, 3]);
    expect(fake.posts("/confirm")).toHaveLength(1);
    expect(done).toHaveBeenCalledWith({ id: INSPECTION, version: 4, position: 11 });
    expect(lastPosition.value).toBe(11); // the next read waits for this write
  });

  it("shows a refusal's detail and, on retry, starts again with a new ticket", async () => {
    fake.answer("/media/uploads", fake.ticket(), fake.ticket("1b2c3d4e-0000-4000-8000-000000000003"));
    fake.answer(`/media/${MEDIA}/confirm`, {
      status: 422,
      body: { type: "about:blank", title: "Unprocessable", status: 422, detail: "the file's SHA-256 does not match the declared one" },
    });
    fake.answer("/1b2c3d4e-0000-4000-8000-000000000003/confirm", { status: 200, body: { id: INSPECTION, version: 5, position: 12 } });
    const upload = new MediaUpload({ owner, file: photo(), itemCode: null, videos: true });

    const failed = await upload.run();
    expect(failed).toMatchObject({ phase: "failed", failedAt: "confirming", retryable: true, error: "the file's SHA-256 does not match the declared one" });

    const retried = await upload.retry();
    expect(retried.phase).toBe("done");
    expect(fake.posts("/media/uploads")).toHaveLength(2); // the refused ticket is not reused
    expect(FakeXhr.sent).toHaveLength(2);
  });

  it("sends the form again when the server found no upload (409), with the same ticket", async () => {
    fake.answer("/media/uploads", fake.ticket());
    fake.answer(
      `/media/${MEDIA}/confirm`,
      { status: 409, body: { title: "Conflict", status: 409, detail: "nothing was uploaded for this media id yet" } },
      { status: 200, body: { id: INSPECTION, version: 4, position: 11 } },
    );
    const upload = new MediaUpload({ owner, file: photo(), itemCode: null, videos: true });
    expect(await upload.run()).toMatchObject({ phase: "failed", error: "nothing was uploaded for this media id yet" });
    expect((await upload.retry()).phase).toBe("done");
    expect(fake.posts("/media/uploads")).toHaveLength(1);
    expect(FakeXhr.sent).toHaveLength(2);
  });

  it("keeps a valid ticket after a network failure, asks for a new one after storage refuses it", async () => {
    fake.answer("/media/uploads", fake.ticket(), fake.ticket());
    fake.answer(`/media/${MEDIA}/confirm`, { status: 200, body: { id: INSPECTION, version: 4, position: 11 } });
    FakeXhr.statuses = [0, 403, 204];
    const upload = new MediaUpload({ owner, file: photo(), itemCode: null, videos: true });

    expect(await upload.run()).toMatchObject({ phase: "failed", failedAt: "uploading", error: "The upload was interrupted (network). Try again." });
    expect(await upload.retry()).toMatchObject({ phase: "failed", failedAt: "uploading", error: "storage says 403" });
    expect(fake.posts("/media/uploads")).toHaveLength(1); // the network failure reused the ticket
    expect((await upload.retry()).phase).toBe("done");
    expect(fake.posts("/media/uploads")).toHaveLength(2); // the refused one did not
  });

  it("waits out a busy server's confirm (503 with Retry-After) without asking the user", async () => {
    fake.answer("/media/uploads", fake.ticket());
    const busy = { status: 503, body: { title: "Unavailable" }, headers: { "Retry-After": "0" } };
    fake.answer(`/media/${MEDIA}/confirm`, busy, busy, { status: 200, body: { id: INSPECTION, version: 4 } });
    FakeXhr.statuses = [204];
    const upload = new MediaUpload({ owner, file: photo(), itemCode: null, videos: true });
    expect((await upload.run()).phase).toBe("done");
    expect(fake.posts(`/media/${MEDIA}/confirm`)).toHaveLength(3);
    expect(FakeXhr.sent).toHaveLength(1);
  });

  it("repeats only the confirm once the bytes have arrived, even after the ticket expired", async () => {
    let now = Date.now();
    fake.answer("/media/uploads", fake.ticket(), fake.ticket());
    fake.answer(`/media/${MEDIA}/confirm`, { status: 503, body: { title: "Unavailable" } }, { status: 200, body: { id: INSPECTION, version: 4 } });
    FakeXhr.statuses = [204, 204];
    const upload = new MediaUpload({ owner, file: photo(), itemCode: null, videos: true, now: () => now });
    expect((await upload.run()).failedAt).toBe("confirming");
    now += 301_000;
    // The upload had arrived, so only the confirm is repeated: no new ticket is needed for it.
    expect((await upload.retry()).phase).toBe("done");
    expect(fake.posts("/media/uploads")).toHaveLength(1);
    expect(FakeXhr.sent).toHaveLength(1);
  });

  it("asks for a new ticket when the upload failed and its ticket has expired meanwhile", async () => {
    let now = Date.now();
    fake.answer("/media/uploads", fake.ticket(), fake.ticket());
    fake.answer(`/media/${MEDIA}/confirm`, { status: 200, body: { id: INSPECTION, version: 4 } });
    FakeXhr.statuses = [0, 204];
    const upload = new MediaUpload({ owner, file: photo(), itemCode: null, videos: true, now: () => now });
    expect((await upload.run()).failedAt).toBe("uploading");
    now += 301_000;
    expect((await upload.retry()).phase).toBe("done");
    expect(fake.posts("/media/uploads")).toHaveLength(2);
  });

  it("refuses an undeclared type or an oversized file before asking anything", async () => {
    const exe = new MediaUpload({ owner, file: photo(new Uint8Array([77, 90]), "tool.exe", "application/x-msdownload"), itemCode: null, videos: true });
    expect(await exe.run()).toMatchObject({ phase: "failed", failedAt: "checking", retryable: false });
    expect(exe.state.error).toContain("application/x-msdownload is not accepted");

    const huge = new File([new Uint8Array(1)], "huge.jpg", { type: "image/jpeg" });
    Object.defineProperty(huge, "size", { value: MAX_PHOTO_BYTES + 1 });
    const big = new MediaUpload({ owner, file: huge, itemCode: null, videos: true });
    expect((await big.run()).error).toBe("huge.jpg is 25.0 MB; photos may be at most 25 MiB.");

    const video = new MediaUpload({ owner: { kind: "repair-orders", id: INSPECTION }, file: photo(new Uint8Array([1]), "walkaround.mp4", "video/mp4"), itemCode: null, videos: false });
    expect((await video.run()).error).toContain("JPEG, PNG, WebP or HEIC photos)");
    expect(fake.sent).toEqual([]);
    expect(FakeXhr.sent).toEqual([]);
  });

  it("takes a HEIC the browser gave no type by its extension, and asks on the order's route", async () => {
    fake.answer("/media/uploads", fake.ticket());
    fake.answer(`/media/${MEDIA}/confirm`, { status: 200, body: { id: INSPECTION, version: 1 } });
    const upload = new MediaUpload({ owner: { kind: "repair-orders", id: INSPECTION }, file: photo(new Uint8Array([1, 2, 3]), "IMG_0001.HEIC", ""), itemCode: null, videos: false });
    expect((await upload.run()).phase).toBe("done");
    const [request] = fake.posts("/media/uploads");
    expect(request!.path).toBe(`/api/v1/repair-orders/${INSPECTION}/media/uploads`);
    expect(request!.body).toMatchObject({ content_type: "image/heic", file_name: "IMG_0001.HEIC" });
  });
});
