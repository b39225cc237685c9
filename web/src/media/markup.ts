/**
 * Markup geometry: shapes in relative coordinates (0..1 of the image's width and height) to SVG
 * drawn in a `viewBox="0 0 1 1"` stretched over the image (`preserveAspectRatio="none"`).
 *
 * Stretching keeps every point on the pixel it was drawn on at any display size, but it would
 * also stretch what has a size of its own: so strokes are `non-scaling-stroke`, and the arrow
 * head and text are computed or counter-scaled with the image's aspect ratio (width / height).
 */
import type { Point, Shape, ShapeKind } from "./types";

export const COLOURS = [
  { value: "#e03131", name: "Red" },
  { value: "#f59f00", name: "Amber" },
  { value: "#2f9e44", name: "Green" },
  { value: "#1971c2", name: "Blue" },
  { value: "#ffffff", name: "White" },
] as const;

export const MAX_SHAPES = 100;
export const MAX_FREEHAND_POINTS = 500;
/** Text height as a fraction of the image's height. */
export const TEXT_SIZE = 0.05;

export const clamp01 = (value: number) => Math.min(1, Math.max(0, value));
const round = (value: number) => Math.round(value * 10_000) / 10_000;

/** A pointer position over a box (getBoundingClientRect) as a relative point, clamped to it. */
export function relativePoint(clientX: number, clientY: number, box: { left: number; top: number; width: number; height: number }): Point {
  if (box.width <= 0 || box.height <= 0) return [0, 0];
  return [round(clamp01((clientX - box.left) / box.width)), round(clamp01((clientY - box.top) / box.height))];
}

/** Freehand points thinned to at most `max`: near-duplicates dropped, then evenly sampled. */
export function thin(points: Point[], max = MAX_FREEHAND_POINTS, minStep = 0.002): Point[] {
  const kept: Point[] = [];
  for (const p of points) {
    const last = kept[kept.length - 1];
    if (!last || Math.hypot(p[0] - last[0], p[1] - last[1]) >= minStep) kept.push(p);
  }
  const end = points[points.length - 1];
  if (end && kept[kept.length - 1] !== end && kept.length > 1) kept[kept.length - 1] = end;
  if (kept.length <= max) return kept;
  const step = (kept.length - 1) / (max - 1);
  return Array.from({ length: max }, (_, i) => kept[Math.round(i * step)]!);
}

/** Why a shape would be refused by the API (api.md's rules), or null. */
export function shapeProblem(shape: Shape): string | null {
  const counts: Record<ShapeKind, [number, number]> = { arrow: [2, 2], ellipse: [2, 2], freehand: [2, MAX_FREEHAND_POINTS], text: [1, 1] };
  const [min, max] = counts[shape.kind];
  if (shape.points.length < min || shape.points.length > max) return `${shape.kind} needs ${min === max ? min : `${min}–${max}`} points`;
  if (shape.points.some(([x, y]) => !(x >= 0 && x <= 1 && y >= 0 && y <= 1))) return "points must lie on the image";
  if (!/^#[0-9a-f]{6}$/.test(shape.colour)) return "colour must be #rrggbb";
  if (shape.kind === "text" && !shape.label?.trim()) return "a text label needs its text";
  if ((shape.label?.length ?? 0) > 200) return "labels are at most 200 characters";
  return null;
}

/** Whether a drag was long enough to mean a shape (not a stray tap). */
export function meaningful(shape: Shape): boolean {
  if (shape.kind === "text") return true;
  const [a, b] = [shape.points[0], shape.points[shape.points.length - 1]];
  if (!a || !b || shape.points.length < 2) return false;
  if (shape.kind === "freehand") return true;
  return Math.abs(b[0] - a[0]) > 0.01 || Math.abs(b[1] - a[1]) > 0.01;
}

export type SvgElement =
  | { tag: "line"; x1: number; y1: number; x2: number; y2: number }
  | { tag: "polygon"; points: string }
  | { tag: "ellipse"; cx: number; cy: number; rx: number; ry: number }
  | { tag: "polyline"; points: string }
  | { tag: "text"; x: number; y: number; transform: string; fontSize: number; text: string };

const pointList = (points: Point[]) => points.map(([x, y]) => `${round(x)},${round(y)}`).join(" ");

/**
 * The SVG elements that draw a shape on an image of the given aspect ratio (width / height).
 * Arrow: the shaft and a head at the second point (sized and angled in undistorted space).
 * Ellipse: the two points are opposite corners of its bounding box. Text: anchored at its point.
 */
export function shapeElements(shape: Shape, aspect = 1): SvgElement[] {
  const a = aspect > 0 && Number.isFinite(aspect) ? aspect : 1;
  const [p0, p1] = shape.points;
  switch (shape.kind) {
    case "arrow": {
      if (!p0 || !p1) return [];
      // Work where one unit is the same length both ways (x scaled by the aspect), then back.
      const [x0, y0, x1, y1] = [p0[0] * a, p0[1], p1[0] * a, p1[1]];
      const length = Math.hypot(x1 - x0, y1 - y0);
      const head = Math.min(0.06, Math.max(0.02, length * 0.3));
      const angle = Math.atan2(y1 - y0, x1 - x0);
      const wing = (turn: number): Point => [
        (x1 - head * Math.cos(angle + turn)) / a,
        y1 - head * Math.sin(angle + turn),
      ];
      return [
        { tag: "line", x1: round(p0[0]), y1: round(p0[1]), x2: round(p1[0]), y2: round(p1[1]) },
        { tag: "polygon", points: pointList([p1, wing(Math.PI / 7), wing(-Math.PI / 7)]) },
      ];
    }
    case "ellipse": {
      if (!p0 || !p1) return [];
      return [
        {
          tag: "ellipse",
          cx: round((p0[0] + p1[0]) / 2),
          cy: round((p0[1] + p1[1]) / 2),
          rx: round(Math.abs(p1[0] - p0[0]) / 2),
          ry: round(Math.abs(p1[1] - p0[1]) / 2),
        },
      ];
    }
    case "freehand":
      return shape.points.length >= 2 ? [{ tag: "polyline", points: pointList(shape.points) }] : [];
    case "text": {
      if (!p0) return [];
      // Text is laid out in y units; squeeze x by 1/aspect so the letters are not stretched.
      return [
        {
          tag: "text",
          x: 0,
          y: 0,
          transform: `translate(${round(p0[0])} ${round(p0[1])}) scale(${round(1 / a)} 1)`,
          fontSize: TEXT_SIZE,
          text: shape.label ?? "",
        },
      ];
    }
  }
}
