/** Checks a chosen file before anything is asked of the server, and hashes it. */
import { MAX_PHOTO_BYTES, MAX_VIDEO_BYTES, PHOTO_TYPES, VIDEO_TYPES, isVideo } from "./types";

// Some browsers give HEIC photos (and files dropped from some systems) an empty type.
const BY_EXTENSION: Record<string, string> = {
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  png: "image/png",
  webp: "image/webp",
  heic: "image/heic",
  heif: "image/heif",
  mp4: "video/mp4",
  mov: "video/quicktime",
};

export function contentTypeOf(file: { name: string; type: string }): string {
  if (file.type) return file.type.toLowerCase();
  const extension = file.name.split(".").pop()?.toLowerCase() ?? "";
  return BY_EXTENSION[extension] ?? "";
}

const mib = (bytes: number) => `${Math.round(bytes / (1024 * 1024))} MiB`;

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** The file name the API accepts: 1..200 characters, no path separators, extension kept. */
export function uploadFileName(name: string): string {
  const base = name.split(/[\\/]/).pop()?.trim() || "upload";
  if (base.length <= 200) return base;
  const dot = base.lastIndexOf(".");
  const extension = dot > 0 && base.length - dot <= 10 ? base.slice(dot) : "";
  return base.slice(0, 200 - extension.length) + extension;
}

/**
 * Why this file cannot be sent, or null: a declared type and a size within that type's limit
 * (photos only where videos are not allowed, e.g. check-in).
 */
export function refuseFile(file: { name: string; type: string; size: number }, videos: boolean): string | null {
  const type = contentTypeOf(file);
  const photo = (PHOTO_TYPES as readonly string[]).includes(type);
  const video = (VIDEO_TYPES as readonly string[]).includes(type);
  if (!photo && !(video && videos)) {
    const allowed = videos ? "JPEG, PNG, WebP or HEIC photos, MP4 or MOV videos" : "JPEG, PNG, WebP or HEIC photos";
    return `${file.name}: ${type || "unknown type"} is not accepted here (${allowed}).`;
  }
  if (file.size <= 0) return `${file.name} is empty.`;
  const limit = isVideo(type) ? MAX_VIDEO_BYTES : MAX_PHOTO_BYTES;
  if (file.size > limit) return `${file.name} is ${formatBytes(file.size)}; ${video ? "videos" : "photos"} may be at most ${mib(limit)}.`;
  return null;
}

/** The SHA-256 of the whole file, lower-case hex (the browser's Web Crypto, whole buffer). */
export async function sha256Hex(file: Blob): Promise<string> {
  if (!globalThis.crypto?.subtle) {
    // Web Crypto exists only in a secure context (https, or localhost).
    throw new Error("This browser cannot hash files here: open the app over https (or on localhost).");
  }
  const digest = await crypto.subtle.digest("SHA-256", new Uint8Array(await file.arrayBuffer()));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
