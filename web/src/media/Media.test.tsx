import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FakeApi, FakeXhr, INSPECTION, MEDIA } from "../test/fakeBrowser";
import { renderUi } from "../test/render";
import { MediaStrip, MediaUploader } from "./Media";
import type { MediaView } from "./types";

vi.mock("@mantine/notifications", () => ({ notifications: { show: vi.fn() } }));

let fake: FakeApi;

beforeEach(() => {
  fake = new FakeApi();
  FakeXhr.statuses = [];
  FakeXhr.sent = [];
  vi.stubGlobal("fetch", fake.fetch);
  vi.stubGlobal("XMLHttpRequest", FakeXhr);
});

afterEach(() => vi.unstubAllGlobals());

describe("MediaUploader", () => {
  it("offers the camera and shows a refusal's detail with a retry that then attaches", async () => {
    fake.answer("/media/uploads", fake.ticket(), fake.ticket("1b2c3d4e-0000-4000-8000-000000000003"));
    fake.answer(`/media/${MEDIA}/confirm`, { status: 422, body: { status: 422, detail: "the file is not a JPEG (libmagic says text/html)" } });
    fake.answer("/1b2c3d4e-0000-4000-8000-000000000003/confirm", { status: 200, body: { id: INSPECTION, version: 5, position: 3 } });
    const user = userEvent.setup();
    renderUi(<MediaUploader owner={{ kind: "inspections", id: INSPECTION }} itemCode="brakes.disc_corrosion" videos label="Add photo/video for Brake discs" />);
    const input = screen.getByLabelText("Add photo/video for Brake discs");
    expect(input).toHaveAttribute("accept", "image/*,video/*");
    expect(input).toHaveAttribute("capture", "environment");

    await user.upload(input, new File([new Uint8Array([1, 2, 3])], "disc.jpg", { type: "image/jpeg" }));
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Not attached: disc.jpg");
    expect(alert).toHaveTextContent("the file is not a JPEG (libmagic says text/html)");

    await user.click(within(alert).getByRole("button", { name: "Retry" }));
    expect(await screen.findByText("Attached", { selector: ".mantine-Badge-label" })).toBeInTheDocument();
    expect(fake.posts("/media/uploads")[0]!.body).toMatchObject({ item_code: "brakes.disc_corrosion", file_name: "disc.jpg" });
  });

  it("refuses a video at check-in without asking the server", async () => {
    const user = userEvent.setup({ applyAccept: false });
    renderUi(<MediaUploader owner={{ kind: "repair-orders", id: INSPECTION }} videos={false} label="Add check-in photo" />);
    expect(screen.getByLabelText("Add check-in photo")).toHaveAttribute("accept", "image/*");
    await user.upload(screen.getByLabelText("Add check-in photo"), new File([new Uint8Array([1])], "walk.mp4", { type: "video/mp4" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("video/mp4 is not accepted here");
    expect(screen.queryByRole("button", { name: "Retry" })).toBeNull();
    expect(fake.sent).toEqual([]);
  });
});

const base: MediaView = {
  media_id: MEDIA,
  item_code: null,
  file_name: "disc.jpg",
  content_type: "image/jpeg",
  size_bytes: 2048,
  sha256: "a".repeat(64),
  width: 640,
  height: 480,
  duration_s: null,
  attached_at: "2026-12-03T08:00:00Z",
  attached_by: "noor",
  annotations: [{ kind: "ellipse", points: [[0.1, 0.1], [0.5, 0.5]], colour: "#e03131", label: null }],
  annotated_at: "2026-12-03T08:01:00Z",
  thumbnail_url: "/t.webp",
  preview_url: "/p.webp",
  download_url: "/p.webp",
  urls_expire_at: "2026-12-03T08:05:00Z",
};

describe("MediaStrip", () => {
  it("shows thumbnails with their markup and opens the preview", async () => {
    const user = userEvent.setup();
    const video = { ...base, media_id: "v", file_name: "walk.mp4", content_type: "video/mp4", thumbnail_url: null, preview_url: null, download_url: "/v.mp4", annotations: [] };
    renderUi(<MediaStrip items={[base, video]} label="Photos" />);
    const thumb = screen.getByRole("button", { name: "Open photo disc.jpg (marked up)" });
    expect(thumb.querySelector("img")).toHaveAttribute("src", "/t.webp");
    expect(thumb.querySelector("ellipse")).not.toBeNull();
    expect(screen.getByRole("button", { name: "Open video walk.mp4" })).toHaveTextContent("▶ Video");
    await user.click(thumb);
    expect(screen.getByTestId("media-preview")).toHaveAttribute("aria-label", "Photo: disc.jpg");
  });

  it("gives the auditor metadata only (no URLs)", async () => {
    const user = userEvent.setup();
    renderUi(<MediaStrip items={[{ ...base, thumbnail_url: null, preview_url: null, download_url: null, urls_expire_at: null }]} label="Photos" />);
    await user.click(screen.getByRole("button", { name: /Open photo disc.jpg/ }));
    expect(screen.getByText("No preview for your role (metadata only).")).toBeInTheDocument();
    expect(screen.getByTestId("media-metadata")).toHaveTextContent("image/jpeg · 2 KB · 640×480");
  });
});
