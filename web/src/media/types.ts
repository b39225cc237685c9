/**
 * Media (issue 13): what the screens need to know about photos and videos attached to an
 * inspection or to a repair order's check-in, and the limits the API documents.
 */

/** Whose media: an inspection's findings or a repair order's check-in photos. */
export type OwnerKind = "inspections" | "repair-orders";
export interface MediaOwner {
  kind: OwnerKind;
  id: string;
}

export type Point = [number, number];
export type ShapeKind = "arrow" | "ellipse" | "freehand" | "text";

/** One markup shape: points relative to the image (0..1 each way), never pixels. */
export interface Shape {
  kind: ShapeKind;
  points: Point[];
  colour: string;
  label: string | null;
}

export interface MediaView {
  media_id: string;
  item_code: string | null;
  file_name: string;
  content_type: string;
  size_bytes: number;
  sha256: string;
  width: number | null;
  height: number | null;
  duration_s: number | null;
  attached_at: string;
  attached_by: string;
  annotations: Shape[];
  annotated_at: string | null;
  thumbnail_url: string | null;
  preview_url: string | null;
  download_url: string | null;
  urls_expire_at: string | null;
}

export interface MediaUploadTicket {
  media_id: string;
  upload: { url: string; fields: Record<string, string>; expires_at: string };
  confirm_path: string;
  id: string;
  version: number;
  position: number | null;
}

export interface MediaUploadRequest {
  item_code: string | null;
  file_name: string;
  content_type: string;
  size: number;
  sha256: string;
}

export interface CommandResult {
  id: string;
  version: number;
  position?: number | null;
}

// The API's documented defaults (REGENZET_MEDIA_MAX_PHOTO_BYTES / _VIDEO_BYTES). The server is
// the authority; checking here only spares a person a pointless upload.
export const MAX_PHOTO_BYTES = 25 * 1024 * 1024;
export const MAX_VIDEO_BYTES = 200 * 1024 * 1024;
export const PHOTO_TYPES = ["image/jpeg", "image/png", "image/webp", "image/heic", "image/heif"] as const;
export const VIDEO_TYPES = ["video/mp4", "video/quicktime"] as const;

export const isVideo = (contentType: string) => contentType.startsWith("video/");
