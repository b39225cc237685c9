import type { Schemas } from "../api/client";

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
export type ShapeKind = Schemas["ShapeIn"]["kind"];

/** One markup shape: points relative to the image (0..1 each way), never pixels. */
export interface Shape {
  kind: ShapeKind;
  points: Point[];
  colour: string;
  label: string | null;
}

/** The API's MediaView, with its shapes typed as the markup code draws them. */
export type MediaView = Omit<Schemas["MediaView"], "annotations"> & { annotations: Shape[] };
export type MediaUploadTicket = Schemas["MediaUploadTicket"];
export type MediaUploadRequest = Schemas["MediaUploadRequest"];
export type CommandResult = Schemas["CommandResult"];

// The API's documented defaults (REGENZET_MEDIA_MAX_PHOTO_BYTES / _VIDEO_BYTES). The server is
// the authority; checking here only spares a person a pointless upload.
export const MAX_PHOTO_BYTES = 25 * 1024 * 1024;
export const MAX_VIDEO_BYTES = 200 * 1024 * 1024;
export const PHOTO_TYPES = ["image/jpeg", "image/png", "image/webp", "image/heic", "image/heif"] as const;
export const VIDEO_TYPES = ["video/mp4", "video/quicktime"] as const;

export const isVideo = (contentType: string) => contentType.startsWith("video/");

/** What to call a file (media attached before file names were recorded have none). */
export const mediaName = (media: { file_name: string | null; content_type: string }) =>
  media.file_name ?? (isVideo(media.content_type) ? "video" : "photo");
