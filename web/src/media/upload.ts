/**
 * One file's way to storage, as a small state machine the screens render:
 *
 *   checking → hashing → requesting (the ticket) → uploading (progress) → confirming → done
 *
 * Any step can fail; `failed` says at which step and why (the problem's `detail`), and
 * `retry()` resumes from the right place: a ticket still valid is reused, a refused or expired
 * one is asked for again, an upload the server did not find (409 upload-missing) is sent again.
 * The form goes to storage with XMLHttpRequest, the only browser API that reports upload
 * progress; the bytes never pass through the API process.
 */
import { ApiProblem } from "../api/client";
import { confirmUpload, requestUpload } from "./api";
import { contentTypeOf, refuseFile, sha256Hex, uploadFileName } from "./files";
import type { CommandResult, MediaOwner, MediaUploadTicket } from "./types";

export type UploadPhase = "checking" | "hashing" | "requesting" | "uploading" | "confirming" | "done" | "failed";

export interface UploadState {
  phase: UploadPhase;
  fileName: string;
  /** Bytes sent so far and in all (the upload's own progress). */
  loaded: number;
  total: number;
  /** The step that failed, and what to tell the person. */
  failedAt: Exclude<UploadPhase, "failed" | "done"> | null;
  error: string | null;
  /** False when retrying cannot help (the file itself is refused before anything is sent). */
  retryable: boolean;
  mediaId: string | null;
}

/** Storage answered the form with something other than 2xx (or not at all: status 0). */
export class UploadRefused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "UploadRefused";
  }
}

/** What storage said: a problem's detail (the local route), S3's XML <Message>, or the status. */
function storageMessage(status: number, body: string): string {
  try {
    const problem = JSON.parse(body) as { detail?: string; title?: string };
    if (problem.detail || problem.title) return String(problem.detail ?? problem.title);
  } catch {
    const message = /<Message>([^<]*)<\/Message>/.exec(body)?.[1];
    if (message) return message;
  }
  if (status === 0) return "The upload was interrupted (network). Try again.";
  if (status === 403) return "The upload ticket was refused or has expired.";
  if (status === 413) return "The file is larger than the ticket allows.";
  return `Storage refused the upload (HTTP ${status}).`;
}

/** POSTs the ticket's fields, then the file as `file` (last, as S3 requires), reporting progress. */
export function postForm(
  ticket: MediaUploadTicket["upload"],
  file: Blob,
  fileName: string,
  onProgress: (loaded: number, total: number) => void,
): Promise<void> {
  const form = new FormData();
  for (const [name, value] of Object.entries(ticket.fields)) form.append(name, value);
  form.append("file", file, fileName);
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", ticket.url);
    xhr.upload.onprogress = (event: ProgressEvent) => {
      if (event.lengthComputable) onProgress(event.loaded, event.total);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve();
      else reject(new UploadRefused(xhr.status, storageMessage(xhr.status, String(xhr.responseText ?? ""))));
    };
    xhr.onerror = () => reject(new UploadRefused(0, storageMessage(0, "")));
    xhr.onabort = () => reject(new UploadRefused(0, "The upload was cancelled."));
    xhr.send(form);
  });
}

function message(error: unknown): string {
  if (error instanceof ApiProblem) return error.problem.detail ?? error.userMessage;
  if (error instanceof Error) return error.message;
  return String(error);
}

export interface UploadOptions {
  owner: MediaOwner;
  file: File;
  itemCode: string | null;
  /** Whether videos are allowed (inspections yes, check-in no). */
  videos: boolean;
  onChange?: (state: UploadState) => void;
  /** Called once with the confirm's result (its position feeds read-your-writes). */
  onDone?: (result: CommandResult) => void;
  now?: () => number;
}

export class MediaUpload {
  state: UploadState;
  private sha256: string | null = null;
  private ticket: MediaUploadTicket | null = null;
  private uploaded = false;
  private running: Promise<UploadState> | null = null;
  private readonly now: () => number;

  constructor(private readonly options: UploadOptions) {
    this.now = options.now ?? Date.now;
    this.state = {
      phase: "checking",
      fileName: options.file.name,
      loaded: 0,
      total: options.file.size,
      failedAt: null,
      error: null,
      retryable: true,
      mediaId: null,
    };
  }

  /** Runs (or resumes after a failure) to `done` or `failed`; never throws. */
  run(): Promise<UploadState> {
    if (this.state.phase === "done") return Promise.resolve(this.state);
    if (this.state.phase === "failed" && !this.state.retryable) return Promise.resolve(this.state);
    this.running ??= this.steps().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  retry(): Promise<UploadState> {
    return this.run();
  }

  private set(patch: Partial<UploadState>): void {
    this.state = { ...this.state, ...patch };
    this.options.onChange?.(this.state);
  }

  private ticketValid(): boolean {
    // Leave a margin: a form that starts two seconds before expiry may still arrive late.
    return this.ticket !== null && Date.parse(this.ticket.upload.expires_at) - 5_000 > this.now();
  }

  private async steps(): Promise<UploadState> {
    const { file, owner } = this.options;
    let phase: Exclude<UploadPhase, "failed" | "done"> = "checking";
    try {
      this.set({ phase, error: null, failedAt: null });
      const refusal = refuseFile(file, this.options.videos);
      if (refusal) {
        this.set({ phase: "failed", failedAt: phase, error: refusal, retryable: false });
        return this.state;
      }
      if (this.sha256 === null) {
        phase = "hashing";
        this.set({ phase });
        this.sha256 = await sha256Hex(file);
      }
      // Once the bytes are in storage only the confirm is left, which needs no valid ticket.
      if (!this.uploaded && !this.ticketValid()) {
        phase = "requesting";
        this.set({ phase });
        this.uploaded = false;
        this.ticket = await requestUpload(owner, {
          item_code: this.options.itemCode,
          file_name: uploadFileName(file.name),
          content_type: contentTypeOf(file),
          size: file.size,
          sha256: this.sha256,
        });
        this.set({ mediaId: this.ticket.media_id });
      }
      const ticket = this.ticket!;
      if (!this.uploaded) {
        phase = "uploading";
        this.set({ phase, loaded: 0, total: file.size });
        try {
          await postForm(ticket.upload, file, uploadFileName(file.name), (loaded, total) => this.set({ loaded, total }));
        } catch (error) {
          // A refused ticket (expired, reused, tampered) cannot be used again: ask for a new one.
          if (error instanceof UploadRefused && error.status !== 0) this.ticket = null;
          throw error;
        }
        this.uploaded = true;
        this.set({ loaded: file.size });
      }
      phase = "confirming";
      this.set({ phase });
      try {
        const result = await confirmBusyAware(owner, ticket.media_id);
        this.set({ phase: "done" });
        this.options.onDone?.(result);
        return this.state;
      } catch (error) {
        if (error instanceof ApiProblem && error.status === 409) {
          this.uploaded = false; // nothing arrived in storage: send the form again
        } else if (error instanceof ApiProblem && error.status === 422) {
          // Refused on its content: the pending object is gone, a retry starts with a new ticket.
          this.ticket = null;
          this.uploaded = false;
        }
        throw error;
      }
    } catch (error) {
      this.set({ phase: "failed", failedAt: phase, error: message(error), retryable: true });
      return this.state;
    }
  }
}

export const PHASE_LABELS: Record<UploadPhase, string> = {
  checking: "Checking",
  hashing: "Computing checksum",
  requesting: "Requesting upload",
  uploading: "Uploading",
  confirming: "Checking the file on the server",
  done: "Attached",
  failed: "Failed",
};

/** Confirms waiting out "busy" answers: a server decoding other photos answers 503 with
 * Retry-After (REGENZET_MEDIA_CONFIRM_CONCURRENCY), and a technician who drops ten photos at
 * once should not have to press Retry on most of them. A 503 without Retry-After (an outage)
 * is left to the user. */
export const CONFIRM_BUSY_ATTEMPTS = 8;
async function confirmBusyAware(owner: MediaOwner, mediaId: string) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await confirmUpload(owner, mediaId);
    } catch (error) {
      const wait = error instanceof ApiProblem && error.status === 503 ? error.retryAfter : null;
      if (wait === null || attempt >= CONFIRM_BUSY_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(wait, 10) * 1000));
    }
  }
}
