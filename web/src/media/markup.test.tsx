import { fireEvent, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { renderUi } from "../test/render";
import { MarkupOverlay } from "./MarkupOverlay";
import { MediaPreview } from "./MediaPreview";
import { relativePoint, shapeElements, shapeProblem, thin } from "./markup";
import type { MediaView, Shape } from "./types";

vi.mock("@mantine/notifications", () => ({ notifications: { show: vi.fn() } }));

const red = "#e03131";

describe("shape geometry (relative coordinates to SVG)", () => {
  it("an ellipse's two points are opposite corners of its box", () => {
    expect(shapeElements({ kind: "ellipse", points: [[0.6, 0.5], [0.2, 0.1]], colour: red, label: null })).toEqual([
      { tag: "ellipse", cx: 0.4, cy: 0.3, rx: 0.2, ry: 0.2 },
    ]);
  });

  it("an arrow is a shaft and a head at its second point, angled in undistorted space", () => {
    const square = shapeElements({ kind: "arrow", points: [[0.1, 0.5], [0.5, 0.5]], colour: red, label: null }, 1);
    expect(square[0]).toEqual({ tag: "line", x1: 0.1, y1: 0.5, x2: 0.5, y2: 0.5 });
    const head = (square[1] as { points: string }).points.split(" ").map((p) => p.split(",").map(Number));
    expect(head[0]).toEqual([0.5, 0.5]);
    // Symmetric about the shaft, behind the tip.
    expect(head[1]![0]).toBeCloseTo(head[2]![0]!, 6);
    expect(head[1]![1]! - 0.5).toBeCloseTo(0.5 - head[2]![1]!, 6);
    expect(head[1]![0]).toBeLessThan(0.5);
    // On a 2:1 image the same head is half as wide in x units (it looks the same on screen).
    const wide = shapeElements({ kind: "arrow", points: [[0.1, 0.5], [0.5, 0.5]], colour: red, label: null }, 2);
    const wideHead = (wide[1] as { points: string }).points.split(" ").map((p) => p.split(",").map(Number));
    expect(0.5 - wideHead[1]![0]!).toBeCloseTo((0.5 - head[1]![0]!) / 2, 3);
  });

  it("freehand is a polyline through its points; text is counter-scaled by the aspect", () => {
    expect(shapeElements({ kind: "freehand", points: [[0, 0], [0.25, 0.5], [1, 1]], colour: red, label: null })).toEqual([
      { tag: "polyline", points: "0,0 0.25,0.5 1,1" },
    ]);
    expect(shapeElements({ kind: "text", points: [[0.3, 0.7]], colour: red, label: "Corroded" }, 4 / 3)).toEqual([
      { tag: "text", x: 0, y: 0, transform: "translate(0.3 0.7) scale(0.75 1)", fontSize: 0.05, text: "Corroded" },
    ]);
  });

  it("pointer positions become clamped relative points", () => {
    const box = { left: 100, top: 50, width: 400, height: 300 };
    expect(relativePoint(300, 200, box)).toEqual([0.5, 0.5]);
    expect(relativePoint(50, 400, box)).toEqual([0, 1]);
  });

  it("freehand strokes are thinned to the API's 500 points, keeping both ends", () => {
    const points = Array.from({ length: 2000 }, (_, i) => [i / 1999, 0.5] as [number, number]);
    const thinned = thin(points);
    expect(thinned.length).toBeLessThanOrEqual(500);
    expect(thinned[0]).toEqual([0, 0.5]);
    expect(thinned[thinned.length - 1]).toEqual([1, 0.5]);
  });

  it("checks shapes by the API's rules", () => {
    expect(shapeProblem({ kind: "arrow", points: [[0, 0]], colour: red, label: null })).toBe("arrow needs 2 points");
    expect(shapeProblem({ kind: "text", points: [[0.5, 0.5]], colour: red, label: " " })).toBe("a text label needs its text");
    expect(shapeProblem({ kind: "ellipse", points: [[0, 0], [1.2, 1]], colour: red, label: null })).toBe("points must lie on the image");
    expect(shapeProblem({ kind: "freehand", points: [[0, 0], [1, 1]], colour: "red", label: null })).toBe("colour must be #rrggbb");
    expect(shapeProblem({ kind: "text", points: [[0.5, 0.5]], colour: red, label: "HV cable chafed" })).toBeNull();
  });
});

describe("MarkupOverlay", () => {
  it("draws each shape in a 0..1 viewBox stretched over the image", () => {
    const shapes: Shape[] = [
      { kind: "ellipse", points: [[0.2, 0.2], [0.6, 0.4]], colour: red, label: null },
      { kind: "text", points: [[0.1, 0.9]], colour: "#ffffff", label: "Crack" },
    ];
    const { container } = renderUi(<MarkupOverlay shapes={shapes} aspect={1} />);
    const svg = container.querySelector("svg")!;
    expect(svg.getAttribute("viewBox")).toBe("0 0 1 1");
    expect(svg.getAttribute("preserveAspectRatio")).toBe("none");
    const ellipse = svg.querySelector("ellipse")!;
    expect([ellipse.getAttribute("cx"), ellipse.getAttribute("cy"), ellipse.getAttribute("rx"), ellipse.getAttribute("ry")]).toEqual(["0.4", "0.3", "0.2", "0.1"]);
    expect(ellipse.getAttribute("stroke")).toBe(red);
    expect(ellipse.getAttribute("vector-effect")).toBe("non-scaling-stroke");
    expect(svg.querySelector("text")).toHaveTextContent("Crack");
    expect(svg.querySelector("text")!.getAttribute("fill")).toBe("#ffffff");
  });
});

const photo: MediaView = {
  media_id: "9a8b7c6d-0000-4000-8000-000000000002",
  item_code: "brake_discs",
  file_name: "disc.jpg",
  content_type: "image/jpeg",
  size_bytes: 123_456,
  sha256: "0".repeat(64),
  width: 800,
  height: 600,
  duration_s: null,
  attached_at: "2026-12-03T08:00:00Z",
  attached_by: "noor",
  annotations: [{ kind: "text", points: [[0.5, 0.5]], colour: red, label: "Scored" }],
  annotated_at: "2026-12-03T08:05:00Z",
  thumbnail_url: "/thumb",
  preview_url: "/preview",
  download_url: "/preview",
  urls_expire_at: "2026-12-03T08:10:00Z",
};

describe("MediaPreview", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("shows the customer the photo with its markup, and no tools", () => {
    renderUi(<MediaPreview media={photo} annotateFor={null} onClose={() => {}} />);
    const dialog = screen.getByTestId("media-preview");
    expect(within(dialog).getByRole("img", { name: "Photo disc.jpg" })).toHaveAttribute("src", "/preview");
    expect(dialog.querySelector("text")).toHaveTextContent("Scored");
    expect(screen.getByTestId("markup-summary")).toHaveTextContent("Markup: 1 shape · “Scored”");
    expect(screen.queryByRole("toolbar")).toBeNull();
  });

  it("lets a technician draw an ellipse, undo, draw again and save the shapes", async () => {
    const sent: unknown[] = [];
    vi.stubGlobal("fetch", async (request: Request) => {
      sent.push({ url: request.url, body: await request.json() });
      return new Response(JSON.stringify({ id: "i", version: 9, position: 20 }), { status: 200 });
    });
    const user = userEvent.setup();
    renderUi(<MediaPreview media={{ ...photo, annotations: [] }} annotateFor="insp-1" onClose={() => {}} />);
    const area = screen.getByRole("img", { name: "Drawing area over the photo" });
    area.getBoundingClientRect = () => ({ left: 0, top: 0, width: 800, height: 600, right: 800, bottom: 600, x: 0, y: 0, toJSON: () => ({}) });
    await user.click(screen.getByRole("button", { name: "Ellipse" }));
    await user.click(screen.getByRole("radio", { name: "Blue" }));
    const drag = (x0: number, y0: number, x1: number, y1: number) => {
      fireEvent.pointerDown(area, { clientX: x0, clientY: y0, pointerId: 1 });
      fireEvent.pointerMove(area, { clientX: x1, clientY: y1, pointerId: 1 });
      fireEvent.pointerUp(area, { clientX: x1, clientY: y1, pointerId: 1 });
    };
    drag(80, 60, 400, 300);
    expect(area.querySelectorAll("ellipse")).toHaveLength(1);
    await user.click(screen.getByRole("button", { name: "Undo" }));
    expect(area.querySelectorAll("ellipse")).toHaveLength(0);
    drag(400, 300, 80, 60);
    await user.click(screen.getByRole("button", { name: "Text" }));
    await user.type(screen.getByLabelText("Label text"), "Scored");
    fireEvent.pointerDown(area, { clientX: 200, clientY: 450, pointerId: 1 });
    await user.click(screen.getByRole("button", { name: "Save markup" }));
    await vi.waitFor(() => expect(sent).toHaveLength(1));
    expect(sent[0]).toEqual({
      url: `${window.location.origin}/api/v1/inspections/insp-1/media/${photo.media_id}/annotations`,
      body: {
        shapes: [
          { kind: "ellipse", points: [[0.5, 0.5], [0.1, 0.1]], colour: "#1971c2", label: null },
          { kind: "text", points: [[0.25, 0.75]], colour: "#1971c2", label: "Scored" },
        ],
      },
    });
  });

  it("plays a video from its download URL", () => {
    renderUi(<MediaPreview media={{ ...photo, content_type: "video/mp4", download_url: "/video", preview_url: null, annotations: [] }} annotateFor="insp-1" onClose={() => {}} />);
    expect(screen.getByTestId("media-video")).toHaveAttribute("src", "/video");
    expect(screen.queryByRole("toolbar")).toBeNull();
  });
});
