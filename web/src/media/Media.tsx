/**
 * Media on screens: a hook for an owner's attached media, a thumbnail strip (with the markup
 * drawn over each thumbnail) that opens the preview, and the uploader (file picker with the
 * camera on tablets, drag-and-drop, one progress bar per file, refusals with a retry).
 */
import { Alert, Badge, Button, Group, Stack, Text } from "@mantine/core";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useRef, useState, type DragEvent } from "react";
import { ApiProblem } from "../api/client";
import { listMedia } from "./api";
import { formatBytes } from "./files";
import { MarkupOverlay } from "./MarkupOverlay";
import { MediaPreview, aspectOf } from "./MediaPreview";
import { MediaUpload, PHASE_LABELS, type UploadState } from "./upload";
import { isVideo, mediaName, type MediaOwner, type MediaView } from "./types";

export const mediaKey = (owner: MediaOwner) => ["media", owner.kind, owner.id] as const;

/** The owner's attached media. Download URLs expire in minutes: refetched well before that. */
export function useMedia(owner: MediaOwner, enabled = true) {
  return useQuery({
    queryKey: mediaKey(owner),
    queryFn: () => listMedia(owner),
    enabled,
    refetchInterval: 4 * 60_000,
    retry: false,
  });
}

/** A "not yours / not there" answer means: nothing to show (the same 404 as a missing id). */
export function hiddenMediaError(error: unknown): boolean {
  return error instanceof ApiProblem && [403, 404, 405].includes(error.status);
}

export function MediaStrip({
  items,
  annotateFor = null,
  label,
}: {
  items: MediaView[];
  annotateFor?: string | null;
  label: string;
}) {
  const [open, setOpen] = useState<string | null>(null);
  const current = items.find((m) => m.media_id === open) ?? null;
  if (items.length === 0) return null;
  return (
    <>
      <ul className="media-strip" aria-label={label} data-testid="media-strip">
        {items.map((m) => (
          <li key={m.media_id}>
            <button
              type="button"
              className="media-thumb"
              onClick={() => setOpen(m.media_id)}
              aria-label={`Open ${isVideo(m.content_type) ? "video" : "photo"} ${mediaName(m)}${m.annotations.length ? " (marked up)" : ""}`}
              data-testid="media-thumb"
            >
              {m.thumbnail_url ? (
                <span className="media-thumb-image">
                  <img src={m.thumbnail_url} alt="" loading="lazy" draggable={false} />
                  {!isVideo(m.content_type) && m.annotations.length > 0 && <MarkupOverlay shapes={m.annotations} aspect={aspectOf(m)} />}
                </span>
              ) : (
                <span className="media-thumb-placeholder">{isVideo(m.content_type) ? "▶ Video" : "Photo"}</span>
              )}
              <span className="media-thumb-caption">
                {isVideo(m.content_type) && m.thumbnail_url ? "▶ " : ""}
                {mediaName(m)}
              </span>
            </button>
          </li>
        ))}
      </ul>
      {current && <MediaPreview media={current} annotateFor={annotateFor} onClose={() => setOpen(null)} />}
    </>
  );
}

/** Picks or receives dropped files and takes each through the upload state machine. */
export function MediaUploader({
  owner,
  itemCode = null,
  videos,
  label,
  compact = false,
}: {
  owner: MediaOwner;
  itemCode?: string | null;
  videos: boolean;
  label: string;
  /** One per inspection item: a button (still a drop target) without the dashed box. */
  compact?: boolean;
}) {
  const client = useQueryClient();
  const input = useRef<HTMLInputElement>(null);
  const [jobs, setJobs] = useState<{ key: number; upload: MediaUpload; state: UploadState }[]>([]);
  const [over, setOver] = useState(false);
  const counter = useRef(0);

  const start = (files: FileList | File[] | null) => {
    for (const file of Array.from(files ?? [])) {
      const key = ++counter.current;
      const upload = new MediaUpload({
        owner,
        file,
        itemCode,
        videos,
        onChange: (state) => setJobs((all) => all.map((j) => (j.key === key ? { ...j, state } : j))),
        onDone: () => {
          void client.invalidateQueries({ queryKey: mediaKey(owner) });
          // Done rows leave after a moment; the thumbnail in the strip takes over.
          setTimeout(() => setJobs((all) => all.filter((j) => j.key !== key)), 1500);
        },
      });
      setJobs((all) => [...all, { key, upload, state: upload.state }]);
      void upload.run();
    }
  };
  const drop = (e: DragEvent<HTMLDivElement>) => {
    e.preventDefault();
    setOver(false);
    start(e.dataTransfer.files);
  };
  const what = videos ? "photo/video" : "photo";
  return (
    <Stack gap={4}>
      <div
        className={`media-drop${compact ? " media-drop--compact" : ""}${over ? " media-drop--over" : ""}`}
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={drop}
        data-testid="media-drop"
      >
        <Group gap="xs" wrap="wrap">
          <Button size="xs" variant="light" onClick={() => input.current?.click()}>
            Add {what}
          </Button>
          {!compact && (
            <Text size="xs" c="dimmed">
              or drop {videos ? "files" : "photos"} here
            </Text>
          )}
        </Group>
        <input
          ref={input}
          className="visually-hidden"
          type="file"
          tabIndex={-1}
          accept={videos ? "image/*,video/*" : "image/*"}
          capture="environment"
          multiple
          aria-label={label}
          onChange={(e) => {
            start(e.currentTarget.files);
            e.currentTarget.value = "";
          }}
        />
      </div>
      {jobs.map(({ key, upload, state }) => (
        <UploadRow
          key={key}
          state={state}
          onRetry={() => void upload.retry()}
          onDismiss={() => setJobs((all) => all.filter((j) => j.key !== key))}
        />
      ))}
    </Stack>
  );
}

export function UploadRow({ state, onRetry, onDismiss }: { state: UploadState; onRetry: () => void; onDismiss: () => void }) {
  const percent = state.total > 0 ? Math.round((state.loaded / state.total) * 100) : 0;
  return (
    <Stack gap={2} data-testid="upload-row" data-phase={state.phase}>
      <Group gap="xs" justify="space-between" wrap="nowrap">
        <Text size="xs" truncate>
          {state.fileName} · {PHASE_LABELS[state.phase]}
          {state.phase === "uploading" ? ` ${percent}% of ${formatBytes(state.total)}` : ""}
        </Text>
        {state.phase === "done" && <Badge color="green" size="xs">Attached</Badge>}
      </Group>
      {state.phase !== "failed" && state.phase !== "done" && (
        <progress
          className="upload-progress"
          max={100}
          value={state.phase === "uploading" ? percent : state.phase === "confirming" ? 100 : undefined}
          aria-label={`Upload of ${state.fileName}`}
        />
      )}
      {state.phase === "failed" && (
        <Alert color="red" role="alert" title={`Not attached: ${state.fileName}`}>
          <Stack gap={4}>
            <Text size="sm">{state.error}</Text>
            <Group gap="xs">
              {state.retryable && (
                <Button size="xs" variant="light" onClick={onRetry}>
                  Retry
                </Button>
              )}
              <Button size="xs" variant="default" onClick={onDismiss}>
                Dismiss
              </Button>
            </Group>
          </Stack>
        </Alert>
      )}
    </Stack>
  );
}

/** An owner's media as one block: the strip, the uploader for those who may add, or nothing. */
export function OwnerMedia({
  owner,
  title,
  canUpload,
  videos,
  annotateFor = null,
  uploadLabel,
}: {
  owner: MediaOwner;
  title: string;
  canUpload: boolean;
  videos: boolean;
  annotateFor?: string | null;
  uploadLabel: string;
}) {
  const media = useMedia(owner);
  if (media.error && hiddenMediaError(media.error) && !canUpload) return null;
  const items = media.data ?? [];
  if (!canUpload && items.length === 0) return null;
  return (
    <Stack gap={4} data-testid={`media-${owner.kind}`}>
      <Text fw={600} size="sm">
        {title}
        {items.length > 0 ? ` (${items.length})` : ""}
      </Text>
      {media.error && !hiddenMediaError(media.error) ? (
        <Text size="xs" c="red.8">
          Media could not be loaded: {media.error instanceof ApiProblem ? media.error.userMessage : String(media.error)}
        </Text>
      ) : null}
      <MediaStrip items={items} annotateFor={annotateFor} label={title} />
      {canUpload && <MediaUploader owner={owner} videos={videos} label={uploadLabel} />}
    </Stack>
  );
}
