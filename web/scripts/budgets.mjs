// Performance budgets, measured (never asserted in the test suite). Prints each figure beside
// its budget as a ratio:
//   1. initial JavaScript (the entry script and what index.html preloads), gzipped: <= 250 KB;
//   2. the board with BUDGET_ORDERS (500) open orders rendered and interactive in headless
//      Chromium: <= 1 s, beside the API's own response time for the same data. "Rendered":
//      every column's count adds up to the orders and each column shows the cards in its
//      window (columns are virtualised); "interactive": the search box then takes input.
// Usage: npm run build && BUDGET_URL=http://127.0.0.1:8460 node scripts/budgets.mjs
// (BUDGET_URL: a server with the demo data and the open orders: scripts/seed-open-orders.py).
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { chromium } from "playwright-core";

const dist = new URL("../dist/", import.meta.url);
const html = readFileSync(new URL("index.html", dist), "utf8");
const initial = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]);
const gzBytes = initial.reduce((sum, file) => sum + gzipSync(readFileSync(new URL(file, dist)), { level: 9 }).length, 0);
const kb = gzBytes / 1024;
console.log(`initial JS (gzip): ${kb.toFixed(1)} KB  budget 250 KB  ratio ${(kb / 250).toFixed(2)}  (${initial.join(", ")})`);

const base = process.env.BUDGET_URL;
if (!base) {
  console.log("board budget: set BUDGET_URL to a server with the open orders (see the header)");
  process.exit(0);
}
const expected = Number(process.env.BUDGET_ORDERS ?? 500);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
});
const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
const page = await context.newPage();
await page.goto(`${base}/sign-in`);
await page.getByRole("button", { name: "Sign in as Eva Jansen" }).click();
await page.getByRole("heading", { name: "Workshop board" }).waitFor();
const token = await page.evaluate(() => JSON.parse(sessionStorage.getItem("regenzet.session")).token);

// The API alone: the same pages of the board read model the screen loads.
const apiRuns = [];
for (let run = 0; run < 5; run++) {
  const started = performance.now();
  let cursor = null;
  let n = 0;
  do {
    const url = new URL("/api/v1/board", base);
    url.searchParams.set("open_only", "true");
    url.searchParams.set("limit", "200");
    if (cursor) url.searchParams.set("cursor", cursor);
    const page = await (await fetch(url, { headers: { Authorization: `Bearer ${token}` } })).json();
    n += page.items.length;
    cursor = page.next_cursor;
  } while (cursor);
  apiRuns.push(performance.now() - started);
  if (run === 0) console.log(`board read model: ${n} open orders`);
}

const runs = [];
const cardsInDom = [];
for (let run = 0; run < 5; run++) {
  await page.goto(`${base}/intake`);
  await page.getByRole("heading", { name: "Intake" }).waitFor();
  const started = Date.now();
  await page.getByRole("link", { name: "Workshop board" }).click();
  // Rendered: every order is on the board (the columns' counts add up to them; each column is
  // virtualised, so only the cards in its window are in the DOM) and every non-empty column
  // shows its first cards; interactive: then the search box takes input.
  await page.waitForFunction(
    (n) => {
      const columns = [...document.querySelectorAll('[data-testid="board"] section[data-count]')];
      const total = columns.reduce((sum, c) => sum + Number(c.getAttribute("data-count")), 0);
      return total >= n && columns.every((c) => c.getAttribute("data-count") === "0" || c.querySelector('[data-testid="board-card"]'));
    },
    expected,
    { timeout: 30_000, polling: 16 },
  );
  await page.getByLabel("Search").fill("B-0001");
  runs.push(Date.now() - started);
  cardsInDom.push(await page.locator('[data-testid="board-card"]').count());
  await page.getByLabel("Search").fill("");
}
await browser.close();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = median(runs);
console.log(`board with ${expected} open orders, rendered + interactive: median ${ms} ms of ${runs.join("/")}  budget 1000 ms  ratio ${(ms / 1000).toFixed(2)}`);
console.log(`  cards in the DOM once interactive (virtualised columns): ${cardsInDom.join("/")}`);
console.log(`  the API's own board response for the same data (all pages): median ${median(apiRuns).toFixed(0)} ms  -> screen/API ${(ms / median(apiRuns)).toFixed(1)}x`);
