import AxeBuilder from "@axe-core/playwright";
import { expect, type Page } from "@playwright/test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

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

/** Quoted-printable (RFC 2045) to text: soft line breaks joined, =XX bytes decoded as UTF-8. */
function unquotePrintable(text: string): string {
  const joined = text.replace(/=\r?\n/g, "");
  const bytes: number[] = [];
  for (let i = 0; i < joined.length; i++) {
    const hex = joined.slice(i + 1, i + 3);
    if (joined[i] === "=" && /^[0-9A-F]{2}$/i.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else bytes.push(...Buffer.from(joined[i]!, "utf8"));
  }
  return Buffer.from(bytes).toString("utf8");
}

/**
 * The approval link in the newest quote email to `to` for the order, as the local mailer wrote
 * it (`<data dir>/mail/<request id>.eml`, ADR 0016); null until the mail dispatcher has sent it.
 */
export function emailedApprovalLink(to: string, orderId: string): string | null {
  const dir = join(process.env.E2E_DATA_DIR ?? "", "mail");
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith(".eml"));
  } catch {
    return null;
  }
  const links = files
    .map((f) => ({ path: join(dir, f), mtime: statSync(join(dir, f)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime)
    .map(({ path }) => unquotePrintable(readFileSync(path, "utf8")))
    .filter((mail) => mail.includes(`To: ${to}`) && mail.includes("X-ReGenZet-Template: quote_ready"))
    .map((mail) => mail.match(new RegExp(`https?://\\S+/portal/repair-orders/${orderId}/quote\\?token=[\\w.-]+`))?.[0]);
  return links.find((l) => l !== undefined) ?? null;
}
