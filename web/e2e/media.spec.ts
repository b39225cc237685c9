/**
 * Media in a real browser against the real server (local storage backend): a technician adds a
 * photo to the inspection under way (hashed in the browser, ticket, direct upload with
 * progress, confirm), sees its thumbnail, marks it up; a file that is not what it claims is
 * refused with the server's reason; the inspection is completed and shared, and the vehicle's
 * owner sees the photo with the markup in the portal; an advisor adds a check-in photo.
 */
import { expect, test, type Page } from "@playwright/test";
import { DEMO, allowFailedLoad, expectAccessible, signInAs, signOut, watchConsole } from "./helpers";

test.describe.configure({ mode: "serial" });

// The demo's ID.3 brake job, in progress (demo_id("repair-order:id3-brakes")).
const AMIRA_ORDER = "a065cc2b-54ff-5e09-b1ed-1509face77a4";

let page: Page;
let errors: string[];

test.beforeAll(async ({ browser }) => {
  page = await (await browser.newContext({ viewport: { width: 1024, height: 1366 } })).newPage();
  errors = watchConsole(page);
});

test.afterEach(() => {
  expect(errors, "console errors").toEqual([]);
});

test.afterAll(async () => {
  await page.close();
});

/** A real JPEG, drawn by the browser's canvas (a brake disc, more or less). */
async function jpeg(p: Page): Promise<Buffer> {
  const data = await p.evaluate(() => {
    const canvas = document.createElement("canvas");
    canvas.width = 640;
    canvas.height = 480;
    const g = canvas.getContext("2d")!;
    g.fillStyle = "#556070";
    g.fillRect(0, 0, 640, 480);
    g.fillStyle = "#9a8f84";
    g.beginPath();
    g.arc(320, 240, 200, 0, Math.PI * 2);
    g.fill();
    g.fillStyle = "#8a4b2a";
    g.beginPath();
    g.arc(400, 180, 40, 0, Math.PI * 2);
    g.fill();
    return canvas.toDataURL("image/jpeg", 0.85).split(",")[1]!;
  });
  return Buffer.from(data, "base64");
}

async function openInspection(p: Page) {
  await p.goto(`/repair-orders/${DEMO.inspectingOrder}`);
  await p.getByRole("link", { name: /^Inspection / }).click();
  await expect(p.getByRole("heading", { name: "Inspection" })).toBeVisible();
}

test("a technician adds a photo to the inspection and sees its thumbnail", async () => {
  await signInAs(page, "Noor El Amrani");
  await openInspection(page);
  const item = page.getByTestId("item-brakes.disc_corrosion");
  // The demo already attached its own brake-disc photo here; ours comes beside it.
  await item.getByLabel(/^Add photo\/video for Friction brake discs/).setInputFiles({ name: "disc-corrosion.jpg", mimeType: "image/jpeg", buffer: await jpeg(page) });
  const mine = item.getByRole("button", { name: "Open photo disc-corrosion.jpg" });
  await expect(mine).toBeVisible({ timeout: 30_000 });
  // The thumbnail is the server's (a WebP made from the upload), and it loads.
  await mine.scrollIntoViewIfNeeded();
  const src = await mine.locator("img").getAttribute("src");
  const served = await page.request.get(src!);
  expect(served.status(), `thumbnail ${src}`).toBe(200);
  expect(served.headers()["content-type"]).toBe("image/webp");
  await expect.poll(() => mine.locator("img").evaluate((img: HTMLImageElement) => (img.complete ? img.naturalWidth : 0))).toBeGreaterThan(0);
  await expect(page.getByTestId("inspection-media").getByRole("button", { name: "Open photo disc-corrosion.jpg" })).toBeVisible();
  await expectAccessible(page, "inspection with media");
});

test("a file that is not what it claims is refused with the server's reason", async () => {
  const general = page.getByTestId("inspection-media");
  await general.getByLabel("Add photo/video to the inspection").setInputFiles({
    name: "not-a-photo.jpg",
    mimeType: "image/jpeg",
    buffer: Buffer.from("<html><script>alert(1)</script></html>"),
  });
  const row = general.getByTestId("upload-row");
  await expect(row.getByRole("alert")).toContainText("Not attached: not-a-photo.jpg", { timeout: 30_000 });
  await expect(row.getByRole("button", { name: "Retry" })).toBeVisible();
  allowFailedLoad(errors, 422, /\/confirm$/);
  await row.getByRole("button", { name: "Dismiss" }).click();
  await expect(general.getByRole("button", { name: /not-a-photo/ })).toHaveCount(0);
});

test("the technician marks the photo up: an ellipse and a label", async () => {
  await page.getByTestId("item-brakes.disc_corrosion").getByRole("button", { name: "Open photo disc-corrosion.jpg" }).click();
  const dialog = page.getByTestId("media-preview");
  await expect(dialog).toBeVisible();
  const area = dialog.getByRole("img", { name: "Drawing area over the photo" });
  await expect.poll(() => dialog.locator(".media-stage img").evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
  const box = (await area.boundingBox())!;
  // The drawing area is exactly the photo's box, so relative points land on the photo.
  const photoBox = (await dialog.locator(".media-stage img").boundingBox())!;
  for (const side of ["x", "y", "width", "height"] as const) expect(Math.abs(box[side] - photoBox[side])).toBeLessThan(1.5);
  const at = (x: number, y: number) => [box.x + box.width * x, box.y + box.height * y] as const;
  await dialog.getByRole("button", { name: "Ellipse" }).click();
  await page.mouse.move(...at(0.5, 0.2));
  await page.mouse.down();
  await page.mouse.move(...at(0.75, 0.55), { steps: 6 });
  await page.mouse.up();
  await dialog.getByRole("button", { name: "Text" }).click();
  await dialog.getByLabel("Label text").fill("Corrosion");
  await page.mouse.click(...at(0.3, 0.85));
  await expect(area.locator("ellipse")).toHaveCount(1);
  await expect(area.locator("text")).toHaveText("Corrosion");
  await expectAccessible(page, "markup editor");
  await page.screenshot({ path: "../docs/screenshots/markup-tablet.png" });
  await dialog.getByRole("button", { name: "Save markup" }).click();
  // Saved: the server's markup is now what is drawn, nothing left to save.
  await expect(dialog.getByRole("button", { name: "Save markup" })).toBeDisabled();
  await dialog.getByRole("button", { name: "Close" }).click();
  await expect(page.getByTestId("item-brakes.disc_corrosion").getByRole("button", { name: "Open photo disc-corrosion.jpg (marked up)" }).locator("ellipse")).toHaveCount(1);
});

test("the inspection is completed and shared with the owner", async () => {
  // Rate what is still unrated green, then complete and share.
  const items = page.locator('[data-testid^="item-"]');
  const count = await items.count();
  for (let i = 0; i < count; i++) {
    const item = items.nth(i);
    if ((await item.locator('input[type="radio"]:checked').count()) > 0) continue;
    await item.getByText("Green", { exact: true }).click();
    await expect(item.locator('input[type="radio"]:checked')).toHaveCount(1);
  }
  await expect(page.getByRole("button", { name: "Complete inspection" })).toBeEnabled({ timeout: 60_000 });
  await page.getByRole("button", { name: "Complete inspection" }).click();
  await page.getByRole("button", { name: "Share with the owner" }).click();
  await expect(page.getByTestId("inspection-shared")).toBeVisible();
  // No uploads once completed, but the photo stays and can still be marked up.
  await expect(page.getByLabel("Add photo/video to the inspection")).toHaveCount(0);
  await signOut(page);
});

test("the owner sees the photo with its markup in the portal", async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  await signInAs(page, "GreenCab Fleet B.V.");
  const thumb = page.getByRole("button", { name: "Open photo disc-corrosion.jpg (marked up)" });
  await expect(thumb).toBeVisible();
  await expect(thumb.locator("ellipse")).toHaveCount(1);
  await thumb.click();
  const dialog = page.getByTestId("media-preview");
  await expect(dialog.getByRole("img", { name: "Photo disc-corrosion.jpg" })).toBeVisible();
  await expect.poll(() => dialog.getByRole("img", { name: "Photo disc-corrosion.jpg" }).evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
  await expect(dialog.locator("svg ellipse")).toHaveCount(1);
  await expect(dialog.locator("svg text")).toHaveText("Corrosion");
  await expect(dialog.getByRole("toolbar")).toHaveCount(0);
  await expectAccessible(page, "portal photo preview");
  await page.screenshot({ path: "../docs/screenshots/portal-photo-phone.png" });
  await dialog.getByRole("button", { name: "Close" }).click();
  await signOut(page);
  await page.setViewportSize({ width: 1024, height: 1366 });
});

test("an advisor adds a check-in photo to an open order; its owner sees it", async () => {
  await signInAs(page, "Eva Jansen");
  await page.goto(`/repair-orders/${AMIRA_ORDER}`);
  const block = page.getByTestId("media-repair-orders");
  await block.getByLabel("Add check-in photo").setInputFiles({ name: "front-left.jpg", mimeType: "image/jpeg", buffer: await jpeg(page) });
  await expect(block.getByRole("button", { name: "Open photo front-left.jpg" })).toBeVisible({ timeout: 30_000 });
  await signOut(page);
  await signInAs(page, "Amira Haddad");
  await page.goto(`/portal/repair-orders/${AMIRA_ORDER}`);
  await expect(page.getByTestId("media-repair-orders").getByRole("button", { name: "Open photo front-left.jpg" })).toBeVisible();
  await signOut(page);
});
