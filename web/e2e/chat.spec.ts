/**
 * The assistant's panel in a real browser against the demo garage (the offline assistant):
 * an owner asks whether their car is ready and follows the cited order; an advisor asks about
 * the board. Read-only, so it can run before or after garage.spec.ts.
 */
import { expect, test } from "@playwright/test";
import { expectAccessible, signInAs, signOut, watchConsole } from "./helpers";

const AMIRA_READY_ORDER = "50d1e751-3e76-5493-9c37-73c13ab16740";

test("an owner asks 'is my car ready?' and sees the answer citing their order", async ({ browser }) => {
  const phone = await (await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true })).newPage();
  const errors = watchConsole(phone);
  await signInAs(phone, "Amira Haddad");
  await phone.getByRole("button", { name: "Assistant" }).click();
  const panel = phone.getByRole("region", { name: "Assistant" });
  await panel.getByLabel("Your question").fill("Is my car ready?");
  await panel.getByRole("button", { name: "Ask" }).click();
  const answer = panel.getByTestId("chat-answer");
  await expect(answer).toContainText("ready for pickup");
  const link = answer.getByRole("link", { name: `repair order ${AMIRA_READY_ORDER.slice(0, 8)}` });
  await expect(link).toHaveAttribute("href", `/portal/repair-orders/${AMIRA_READY_ORDER}`);
  await expectAccessible(phone, "chat panel (owner)");
  await link.click();
  await expect(phone).toHaveURL(new RegExp(`/portal/repair-orders/${AMIRA_READY_ORDER}$`));
  await expect(phone.getByRole("heading", { name: "Your repair order" })).toBeVisible();
  expect(errors, "console errors").toEqual([]);
  await phone.close();
});

test("an advisor asks about the board and follows a cited order", async ({ page }) => {
  const errors = watchConsole(page);
  await page.setViewportSize({ width: 1440, height: 900 });
  await signInAs(page, "Eva Jansen");
  await page.getByRole("button", { name: "Assistant" }).click();
  const panel = page.getByRole("region", { name: "Assistant" });
  await panel.getByRole("button", { name: "What is on the board?" }).click();
  const answer = panel.getByTestId("chat-answer");
  await expect(answer).toContainText("open on the board");
  await expect(answer.getByRole("link").first()).toBeVisible();
  await expectAccessible(page, "chat panel (staff)");
  await page.screenshot({ path: "../docs/screenshots/chat-desktop.png" });
  await answer.getByRole("link").first().click();
  await expect(page.getByRole("heading", { name: "Repair order" })).toBeVisible();
  await signOut(page);
  expect(errors, "console errors").toEqual([]);
});
