import AxeBuilder from "@axe-core/playwright";
import { expect, type Page } from "@playwright/test";

// Lookups whose "not found" is an answer, not a failure (the browser still logs the 404).
const EXPECTED_404 = [/\/api\/v1\/vehicles\/by-vin\//];

/** Fails the test on any console error or uncaught exception (CSP violations included). */
export function watchConsole(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    const url = m.location().url;
    if (m.text().includes("status of 404") && EXPECTED_404.some((p) => p.test(url))) return;
    errors.push(`${m.text()} ${url}`);
  });
  page.on("pageerror", (e) => errors.push(e.message));
  return errors;
}

export async function signInAs(page: Page, displayName: string) {
  await page.goto("/sign-in");
  await page.getByRole("button", { name: `Sign in as ${displayName}` }).click();
  await expect(page.getByTestId("signed-in-as")).toContainText(displayName.split(" ")[0]!);
}

export async function signOut(page: Page) {
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByRole("heading", { name: "Sign in to ReGenZet" })).toBeVisible();
}

/** axe-core on the current screen: no serious or critical findings. */
export async function expectAccessible(page: Page, screen: string) {
  const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(
    bad.map((v) => `${screen}: ${v.id} (${v.impact}) ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`),
  ).toEqual([]);
}

export const DEMO = {
  leafOrder: "2e1f73cc-aa1c-5572-a633-56447f2b2a09",
  sanneOrder: "841d721e-b87c-543c-8920-77b2a168fb2e",
  inspectingOrder: "080623d5-99d4-584d-a2ec-09679ccb2c21",
};

/** Drops the browser's log line for a refusal the test provoked on purpose (and only that). */
export function allowFailedLoad(errors: string[], status: number, url: RegExp) {
  const kept = errors.filter((e) => !(e.includes(`status of ${status}`) && url.test(e)));
  errors.splice(0, errors.length, ...kept);
}
