import { Alert, Button, Group, Stack, Text, TextInput } from "@mantine/core";
import { useEffect, useRef, useState, type PointerEvent } from "react";
import { dateTime } from "../ui/format";
import { ProblemAlert } from "../ui/states";
import { useAction } from "../ui/useAction";
import { annotate } from "./api";
import { formatBytes } from "./files";
import { COLOURS, MAX_SHAPES, meaningful, relativePoint, thin } from "./markup";
import { MarkupOverlay } from "./MarkupOverlay";
import { isVideo, mediaName, type MediaView, type Shape, type ShapeKind } from "./types";

const TOOLS: { kind: ShapeKind; label: string }[] = [
  { kind: "arrow", label: "Arrow" },
  { kind: "ellipse", label: "Ellipse" },
  { kind: "freehand", label: "Freehand" },
  { kind: "text", label: "Text" },
];

export function aspectOf(media: Pick<MediaView, "width" | "height">): number {
  return media.width && media.height ? media.width / media.height : 4 / 3;
}

/**
 * A photo (with its markup) or a video, in a modal <dialog> (the browser's own: focus kept
 * inside, Esc closes, no inline <style> that the CSP would block). Technicians draw on photos
 * of inspections; everyone else sees the markup read-only.
 */
export function MediaPreview({
  media,
  annotateFor,
  onClose,
}: {
  media: MediaView;
  /** The inspection whose photo this is, when the viewer may draw on it. */
  annotateFor: string | null;
  onClose: () => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const element = dialog.current;
    if (!element) return;
    if (typeof element.showModal === "function") {
      if (!element.open) element.showModal();
    } else element.setAttribute("open", ""); // jsdom
    return () => {
      if (typeof element.close === "function" && element.open) element.close();
    };
  }, []);
  const video = isVideo(media.content_type);
  const image = media.preview_url ?? media.download_url;
  const [aspect, setAspect] = useState(aspectOf(media));
  const kind = video ? "Video" : "Photo";
  return (
    <dialog ref={dialog} className="media-dialog" aria-label={`${kind}: ${mediaName(media)}`} onClose={onClose} data-testid="media-preview">
      <Stack gap="sm">
        <Group justify="space-between" wrap="nowrap">
          <Text fw={600} truncate>
            {mediaName(media)}
          </Text>
          <Button variant="default" size="xs" onClick={onClose}>
            Close
          </Button>
        </Group>
        {video && media.download_url ? (
          <video className="media-video" controls preload="metadata" src={media.download_url} data-testid="media-video">
            <track kind="captions" />
          </video>
        ) : !video && image ? (
          annotateFor ? (
            <MarkupEditor media={media} inspectionId={annotateFor} image={image} aspect={aspect} setAspect={setAspect} />
          ) : (
            <>
              <Stage image={image} alt={`${kind} ${mediaName(media)}`} setAspect={setAspect}>
                <MarkupOverlay shapes={media.annotations} aspect={aspect} />
              </Stage>
              <Labels shapes={media.annotations} />
            </>
          )
        ) : (
          <Text c="dimmed">No preview for your role (metadata only).</Text>
        )}
        <Text size="xs" c="dimmed" data-testid="media-metadata">
          {media.content_type} · {formatBytes(media.size_bytes)}
          {media.width && media.height ? ` · ${media.width}×${media.height}` : ""}
          {media.duration_s ? ` · ${media.duration_s.toFixed(1)} s` : ""} · attached {dateTime(media.attached_at)}
          {media.annotated_at ? ` · marked up ${dateTime(media.annotated_at)}` : ""} · SHA-256 {media.sha256.slice(0, 12)}…
        </Text>
      </Stack>
    </dialog>
  );
}

function Stage({ image, alt, setAspect, children }: { image: string; alt: string; setAspect: (aspect: number) => void; children: React.ReactNode }) {
  return (
    <div className="media-stage">
      <img
        src={image}
        alt={alt}
        draggable={false}
        onLoad={(e) => {
          const { naturalWidth, naturalHeight } = e.currentTarget;
          if (naturalWidth > 0 && naturalHeight > 0) setAspect(naturalWidth / naturalHeight);
        }}
      />
      {children}
    </div>
  );
}

function Labels({ shapes }: { shapes: Shape[] }) {
  const labels = shapes.filter((s) => s.label).map((s) => s.label!);
  if (shapes.length === 0) return null;
  return (
    <Text size="sm" data-testid="markup-summary">
      Markup: {shapes.length} shape{shapes.length === 1 ? "" : "s"}
      {labels.length > 0 ? ` · “${labels.join("”, “")}”` : ""}
    </Text>
  );
}

/** Shapes compared by content (the server may send the fields in another order). */
const canonical = (shapes: Shape[]) => JSON.stringify(shapes.map((s) => [s.kind, s.points, s.colour, s.label ?? null]));

function MarkupEditor({
  media,
  inspectionId,
  image,
  aspect,
  setAspect,
}: {
  media: MediaView;
  inspectionId: string;
  image: string;
  aspect: number;
  setAspect: (aspect: number) => void;
}) {
  const [shapes, setShapes] = useState<Shape[]>(media.annotations);
  const [tool, setTool] = useState<ShapeKind>("arrow");
  const [colour, setColour] = useState<string>(COLOURS[0].value);
  const [label, setLabel] = useState("");
  const [hint, setHint] = useState<string | null>(null);
  const [draft, setDraftState] = useState<Shape | null>(null);
  const draftRef = useRef<Shape | null>(null);
  const svg = useRef<SVGSVGElement>(null);
  const setDraft = (shape: Shape | null) => {
    draftRef.current = shape;
    setDraftState(shape);
  };
  const save = useAction(() => annotate(inspectionId, media.media_id, shapes), { success: "Markup saved" });
  const dirty = canonical(shapes) !== canonical(media.annotations);
  const full = shapes.length >= MAX_SHAPES;

  const point = (e: PointerEvent<SVGSVGElement>) => relativePoint(e.clientX, e.clientY, e.currentTarget.getBoundingClientRect());
  const add = (shape: Shape) => setShapes((current) => (current.length >= MAX_SHAPES ? current : [...current, shape]));

  const down = (e: PointerEvent<SVGSVGElement>) => {
    if (full) return setHint(`At most ${MAX_SHAPES} shapes on one photo.`);
    const p = point(e);
    setHint(null);
    if (tool === "text") {
      if (!label.trim()) return setHint("Type the label first, then click where it goes.");
      add({ kind: "text", points: [p], colour, label: label.trim().slice(0, 200) });
      return;
    }
    e.currentTarget.setPointerCapture?.(e.pointerId);
    setDraft({ kind: tool, points: tool === "freehand" ? [p] : [p, p], colour, label: null });
  };
  const move = (e: PointerEvent<SVGSVGElement>) => {
    const current = draftRef.current;
    if (!current) return;
    const p = point(e);
    setDraft({ ...current, points: current.kind === "freehand" ? [...current.points, p] : [current.points[0]!, p] });
  };
  const up = () => {
    const current = draftRef.current;
    if (!current) return;
    setDraft(null);
    const shape = current.kind === "freehand" ? { ...current, points: thin(current.points) } : current;
    if (meaningful(shape) && shape.points.length >= 2) add(shape);
  };

  return (
    <Stack gap="xs">
      <Group gap="xs" wrap="wrap" role="toolbar" aria-label="Markup tools">
        {TOOLS.map((t) => (
          <Button key={t.kind} size="xs" variant={tool === t.kind ? "filled" : "default"} aria-pressed={tool === t.kind} onClick={() => setTool(t.kind)}>
            {t.label}
          </Button>
        ))}
        <Group gap={4} role="radiogroup" aria-label="Colour">
          {COLOURS.map((c) => (
            <button
              key={c.value}
              type="button"
              role="radio"
              aria-checked={colour === c.value}
              aria-label={c.name}
              title={c.name}
              className={`swatch swatch-${c.name.toLowerCase()}`}
              onClick={() => setColour(c.value)}
            />
          ))}
        </Group>
        <Button size="xs" variant="default" disabled={shapes.length === 0} onClick={() => setShapes((s) => s.slice(0, -1))}>
          Undo
        </Button>
        <Button size="xs" variant="default" disabled={shapes.length === 0} onClick={() => setShapes([])}>
          Clear
        </Button>
        <Button size="xs" disabled={!dirty} loading={save.isPending} onClick={() => save.mutate(undefined)}>
          Save markup
        </Button>
      </Group>
      {tool === "text" && (
        <TextInput size="xs" label="Label text" maxLength={200} value={label} onChange={(e) => setLabel(e.currentTarget.value)} />
      )}
      <Stage image={image} alt={`Photo ${mediaName(media)}`} setAspect={setAspect}>
        <MarkupOverlay
          shapes={shapes}
          draft={draft}
          aspect={aspect}
          svgRef={svg}
          interactive
          onPointerDown={down}
          onPointerMove={move}
          onPointerUp={up}
        />
      </Stage>
      {hint && (
        <Alert color="yellow" role="status">
          {hint}
        </Alert>
      )}
      <Labels shapes={shapes} />
      {save.error ? <ProblemAlert error={save.error} /> : null}
    </Stack>
  );
}
