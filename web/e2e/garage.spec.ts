/**
 * The garage in a real browser against a real server with the demo data, in order: an advisor
 * registers a walk-in EV and builds a quote; an owner approves one job and declines another on
 * a phone; a level-1 technician is refused the HV job; a level-3 technician isolates, clocks and
 * completes it; QC, invoice, payment, release; the board and the owner's portal follow each
 * step; an auditor verifies the chain; an owner cannot open another owner's order by URL.
 */
import { expect, test, type Page } from "@playwright/test";
import { DEMO, allowFailedLoad, emailedApprovalLink, expectAccessible, signInAs, signOut, watchConsole } from "./helpers";

test.describe.configure({ mode: "serial" });

let page: Page;
let errors: string[];

test.beforeAll(async ({ browser }) => {
  page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
  errors = watchConsole(page);
});

test.afterEach(() => {
  expect(errors, "console errors").toEqual([]);
});

test.afterAll(async () => {
  await page.close();
});

test("the sign-in page lists the demo people", async () => {
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "Sign in to ReGenZet" })).toBeVisible();
  for (const name of ["Eva Jansen", "Noor El Amrani", "Milan Smit", "Lukas Meyer"]) {
    await expect(page.getByRole("button", { name: `Sign in as ${name}` })).toBeVisible();
  }
  await expectAccessible(page, "sign-in");
});

test("an advisor registers a walk-in EV and builds a quote", async () => {
  await signInAs(page, "Eva Jansen");
  await expect(page.getByRole("heading", { name: "Workshop board" })).toBeVisible();
  await expect(page.getByTestId("board-card").first()).toBeVisible();
  await expectAccessible(page, "board");
  await page.screenshot({ path: "../docs/screenshots/board-desktop.png" });

  await page.getByRole("link", { name: "Intake" }).click();
  const suffix = Date.now().toString().slice(-6);
  await page.getByLabel("Name").fill(`Walk-in Driver ${suffix}`);
  await page.getByLabel("Email").fill(`walkin${suffix}@example.com`);
  await page.getByRole("button", { name: "Register customer" }).click();
  await page.getByLabel("VIN").fill("WVWZZZE1ZMP0123");
  await expect(page.getByText("15/17 characters")).toBeVisible();
  await page.getByLabel("VIN").fill("WVWZZZE1ZMP012345");
  await expect(page.getByText(/Europe · model year 2021/)).toBeVisible();
  await page.getByLabel("Plate").fill(`W-${suffix}`);
  await page.getByLabel("Model").fill("ID.3 Pro");
  await page.getByLabel("Battery (kWh)").fill("58");
  await page.getByRole("button", { name: "Register vehicle" }).click();
  await page.getByLabel("Concerns (one per line)").fill("Range dropped in the cold\nCharge port flap sticks");
  await page.getByLabel("Odometer (km)").fill("31200");
  await page.getByLabel("State of charge (%)").fill("42");
  await expectAccessible(page, "intake");
  await page.getByRole("button", { name: "Open repair order" }).click();

  await expect(page.getByRole("heading", { name: "Repair order" })).toBeVisible();
  await expect(page.getByTestId("order-status")).toHaveText("Open");
  await page.getByLabel("Job title").fill("Charge port flap actuator");
  await page.getByLabel("Labour hours").fill("0.8");
  await page.getByLabel("Part number").fill("1EA-915-PF");
  await page.getByLabel("Part description").fill("Flap actuator");
  await page.getByLabel("Part price").fill("48.50");
  await page.getByRole("button", { name: "Add job" }).click();
  await expect(page.getByText("Charge port flap actuator").first()).toBeVisible();
  await expectAccessible(page, "order detail");
  await page.getByRole("button", { name: "Send quote" }).click();
  await expect(page.getByTestId("order-status")).toHaveText("Awaiting approval");

  await page.getByRole("link", { name: "Workshop board" }).click();
  await page.getByLabel("Search").fill(`W-${suffix}`);
  const column = page.getByRole("region", { name: "Awaiting approval" });
  await expect(column.getByTestId("board-card")).toHaveCount(1);
  await signOut(page);
});

test("the owner approves one job and declines another from the emailed link on a phone", async ({ browser }) => {
  const phone = await (
    await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true })
  ).newPage();
  const phoneErrors = watchConsole(phone);
  // The portal shows the quote waiting (signed in)...
  await signInAs(phone, "Lukas Meyer");
  await expect(phone.getByText("job(s) waiting for your approval")).toBeVisible();
  await expectAccessible(phone, "portal home");
  await phone.getByTestId("portal-order").filter({ hasText: "Leaf" }).getByRole("link").click();
  await expect(phone.getByText("Battery cell balancing")).toBeVisible();
  await expectAccessible(phone, "portal order");
  await signOut(phone);

  // ...and the owner answers from the link in the quote email, without signing in
  // (the link's token is the authority, sent back as X-Approval-Token).
  await expect.poll(() => emailedApprovalLink("lukas.meyer@example.de", DEMO.leafOrder), { timeout: 30_000 }).not.toBeNull();
  const link = emailedApprovalLink("lukas.meyer@example.de", DEMO.leafOrder)!;
  expect(new URL(link).origin).toBe(new URL(phone.url()).origin);
  await phone.goto(link);
  await expect(phone.getByRole("heading", { name: "Your quote" })).toBeVisible();
  const balance = phone.getByTestId("quote-job-balance");
  const tyres = phone.getByTestId("quote-job-tyres");
  await expect(balance).toContainText("Battery cell balancing");
  const before = await phone.getByTestId("approval-total").textContent();
  await balance.getByText("Approve", { exact: true }).click();
  await tyres.getByText("Decline", { exact: true }).click();
  await tyres.getByLabel("Reason (optional)").fill("Tyres done elsewhere");
  await expect(phone.getByTestId("approval-total")).not.toHaveText(before ?? "");
  await phone.getByLabel("Type your full name to sign").fill("Lukas Meyer");
  await expectAccessible(phone, "quote approval (emailed link)");
  await phone.screenshot({ path: "../docs/screenshots/approval-phone.png", fullPage: true });
  await phone.getByRole("button", { name: "Send my decision" }).click();
  await expect(phone.getByTestId("approval-confirmation")).toBeVisible();
  // Read only afterwards: the decisions are shown, nothing can be sent again.
  await expect(balance.getByText("approved")).toBeVisible();
  await expect(tyres.getByText("declined")).toBeVisible();
  await expect(phone.getByRole("button", { name: "Send my decision" })).toHaveCount(0);

  await signInAs(phone, "Lukas Meyer");
  await phone.getByTestId("portal-order").filter({ hasText: "Leaf" }).getByRole("link").click();
  await expect(phone.getByText("In progress").first()).toBeVisible();
  expect(phoneErrors).toEqual([]);
  await phone.close();
});

test("a level-1 technician is refused the HV job", async () => {
  await signInAs(page, "Eva Jansen");
  await page.goto(`/repair-orders/${DEMO.leafOrder}`);
  const job = page.getByTestId("job-balance");
  await expect(job.getByTestId("job-status")).toHaveText("approved");
  await expect(page.getByTestId("job-tyres").getByTestId("job-status")).toHaveText("declined");
  await job.getByLabel("Assign technician").click();
  await page.getByRole("option", { name: /Milan Smit · HV 1/ }).click();
  await job.getByRole("button", { name: "Assign" }).click();
  await expect(job.getByRole("alert")).toContainText("needs HV level 3, technician has 1");
  allowFailedLoad(errors, 409, /\/jobs\/balance\/assign$/);
  await job.getByLabel("Assign technician").click();
  await page.getByRole("option", { name: /Noor El Amrani · HV 3/ }).click();
  await job.getByRole("button", { name: "Assign" }).click();
  await expect(job.getByText("Assigned: Noor El Amrani")).toBeVisible();
  await signOut(page);
});

test("the inspection runner on a tablet", async () => {
  await page.setViewportSize({ width: 1024, height: 1366 });
  await signInAs(page, "Noor El Amrani");
  await page.goto(`/repair-orders/${DEMO.inspectingOrder}`);
  await page.getByRole("link", { name: /^Inspection / }).click();
  await expect(page.getByRole("heading", { name: "Inspection" })).toBeVisible();
  await expectAccessible(page, "inspection");
  await page.screenshot({ path: "../docs/screenshots/inspection-tablet.png" });
  await page.setViewportSize({ width: 1440, height: 900 });
  await signOut(page);
});

test("a level-3 technician isolates, clocks and completes the HV job", async () => {
  await page.setViewportSize({ width: 1024, height: 1366 }); // a tablet
  await signInAs(page, "Noor El Amrani");
  await expect(page.getByRole("heading", { name: "My jobs" })).toBeVisible();
  await expect(page.getByText("HV isolation required before this job")).toBeVisible();
  await expectAccessible(page, "my jobs");
  await page.getByLabel(/I wear class 0 insulating gloves/).check();
  await page.getByRole("button", { name: "Next" }).click();
  await page.getByLabel("Lock/tag id").fill("LOTO-NOOR-07");
  await page.getByRole("button", { name: "Next" }).click();
  await page.getByLabel("Residual voltage (V)").fill("75");
  await expect(page.getByText("Above 60 V")).toBeVisible();
  await expect(page.getByRole("button", { name: "Record isolation" })).toBeDisabled();
  await page.getByLabel("Residual voltage (V)").fill("3.2");
  await page.getByRole("button", { name: "Record isolation" }).click();
  await page.getByRole("button", { name: "Clock on" }).click();
  await page.getByRole("button", { name: "Clock off" }).click();
  await page.getByRole("button", { name: "Complete job" }).click();
  await expect(page.getByText("No open jobs assigned to you.")).toBeVisible();

  await page.goto(`/repair-orders/${DEMO.leafOrder}`);
  await expect(page.getByTestId("isolation-record")).toContainText("LOTO-NOOR-07");
  await page.getByRole("button", { name: "Restore HV system" }).click();
  await expect(page.getByTestId("isolation-record")).toContainText("Restored");
  await expect(page.getByTestId("order-status")).toHaveText("Quality check");
  await page.getByRole("button", { name: "Pass QC" }).click();
  // A passed QC leaves the order in quality check until the advisor invoices it (the domain's
  // invoice moves it to ready for pickup; the next test does that).
  await expect(page.getByTestId("qc-result")).toContainText("Quality check passed");
  await expect(page.getByRole("button", { name: "Pass QC" })).toHaveCount(0);
  await expect(page.getByTestId("order-status")).toHaveText("Quality check");
  await page.setViewportSize({ width: 1440, height: 900 });
  await signOut(page);
});

test("the advisor invoices, takes payment and releases; board and portal follow", async ({ browser }) => {
  await signInAs(page, "Eva Jansen");
  await page.goto(`/repair-orders/${DEMO.leafOrder}`);
  await page.getByRole("button", { name: "Invoice" }).click();
  await expect(page.getByText(/^Invoice /)).toBeVisible();
  await expect(page.getByTestId("order-status")).toHaveText("Ready for pickup");
  await page.getByRole("button", { name: "Record payment" }).click();
  await expect(page.getByTestId("balance")).toHaveText(/0[.,]00/);
  await page.getByRole("button", { name: "Release vehicle" }).click();
  await expect(page.getByTestId("order-status")).toHaveText("Closed");

  await page.getByRole("link", { name: "Workshop board" }).click();
  await page.getByLabel("Search").fill("H-456-LF");
  await expect(page.getByText(/^0 open orders/)).toBeVisible();
  await signOut(page);

  const phone = await (await browser.newContext({ viewport: { width: 390, height: 844 } })).newPage();
  await signInAs(phone, "Lukas Meyer");
  const card = phone.getByTestId("portal-order").filter({ hasText: "Leaf" });
  await expect(card.getByText("Closed")).toBeVisible();
  await phone.close();
});

test("an owner cannot open another owner's order by URL", async () => {
  await signInAs(page, "Sanne de Vries");
  await page.goto(`/portal/repair-orders/${DEMO.leafOrder}`);
  await expect(page.getByRole("alert")).toContainText("Not found");
  await page.goto(`/portal/repair-orders/${DEMO.sanneOrder}`);
  await expect(page.getByRole("heading", { name: "Your repair order" })).toBeVisible();
  allowFailedLoad(errors, 404, new RegExp(`/api/v1/repair-orders/${DEMO.leafOrder}$`));
  await signOut(page);
});

test("an auditor verifies the chain", async () => {
  await signInAs(page, "Ines");
  await expect(page.getByRole("heading", { name: "Audit" })).toBeVisible();
  await page.getByRole("button", { name: "Verify the chain" }).click();
  await expect(page.getByTestId("verify-result")).toContainText("Chain intact");
  await page.getByRole("button", { name: /^RepairOrder / }).first().click();
  await expect(page.getByText(/^History of /)).toBeVisible();
  await expectAccessible(page, "audit");
  await signOut(page);
});

test("the emailed approval link without a valid token shows the expired page", async () => {
  await page.goto(`/portal/repair-orders/${DEMO.leafOrder}/quote`);
  await expect(page.getByTestId("expired-link")).toBeVisible();
  await expectAccessible(page, "expired link");
});

test("a manager sees KPIs and HV qualifications", async () => {
  await signInAs(page, "Pieter Bakker");
  await expect(page.getByText("Average order value")).toBeVisible();
  await expect(page.getByText("certificate expired").or(page.getByText(/^expired /)).first()).toBeVisible();
  await expectAccessible(page, "manager");
  await page.goto(`/vehicles/781c208e-112f-54fa-ab8a-c998fcb8c822`);
  await expect(page.getByText("Battery state of health")).toBeVisible();
  await expect(page.locator(".recharts-reference-line")).toHaveCount(1);
  await expectAccessible(page, "vehicle");
  await signOut(page);
});
