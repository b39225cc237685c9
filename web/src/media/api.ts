/** The media routes (api.md, issue 13) through the generated client. */
import { api, idempotencyKey, lastPosition, unwrap } from "../api/client";
import type { CommandResult, MediaOwner, MediaUploadRequest, MediaUploadTicket, MediaView, Shape } from "./types";

const key = () => ({ "Idempotency-Key": idempotencyKey() });

function noted<T extends { position?: number | null }>(result: T): T {
  if (typeof result.position === "number") lastPosition.value = Math.max(lastPosition.value, result.position);
  return result;
}

export async function requestUpload(owner: MediaOwner, body: MediaUploadRequest): Promise<MediaUploadTicket> {
  const ticket =
    owner.kind === "inspections"
      ? await unwrap(api.POST("/api/v1/inspections/{inspection_id}/media/uploads", { params: { path: { inspection_id: owner.id }, header: key() }, body }))
      : await unwrap(api.POST("/api/v1/repair-orders/{repair_order_id}/media/uploads", { params: { path: { repair_order_id: owner.id }, header: key() }, body }));
  return noted(ticket);
}

export async function confirmUpload(owner: MediaOwner, mediaId: string): Promise<CommandResult> {
  const result =
    owner.kind === "inspections"
      ? await unwrap(api.POST("/api/v1/inspections/{inspection_id}/media/{media_id}/confirm", { params: { path: { inspection_id: owner.id, media_id: mediaId }, header: key() } }))
      : await unwrap(api.POST("/api/v1/repair-orders/{repair_order_id}/media/{media_id}/confirm", { params: { path: { repair_order_id: owner.id, media_id: mediaId }, header: key() } }));
  return noted(result);
}

export async function listMedia(owner: MediaOwner): Promise<MediaView[]> {
  const page =
    owner.kind === "inspections"
      ? await unwrap(api.GET("/api/v1/inspections/{inspection_id}/media", { params: { path: { inspection_id: owner.id } } }))
      : await unwrap(api.GET("/api/v1/repair-orders/{repair_order_id}/media", { params: { path: { repair_order_id: owner.id } } }));
  return page.items as MediaView[];
}

export async function annotate(inspectionId: string, mediaId: string, shapes: Shape[]): Promise<CommandResult> {
  const result = await unwrap(
    api.POST("/api/v1/inspections/{inspection_id}/media/{media_id}/annotations", {
      params: { path: { inspection_id: inspectionId, media_id: mediaId }, header: key() },
      body: { shapes },
    }),
  );
  return noted(result);
}
