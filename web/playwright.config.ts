import { defineConfig, devices } from "@playwright/test";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * End-to-end tests in Debian's Chromium (no browser download is possible here): a real
 * `regenzet serve --demo` on a throwaway data directory serves the built app and the API.
 * Build first (`npm run build`); scripts/test does.
 */
const port = Number(process.env.E2E_PORT ?? 8450);
const chromium = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
// The server's data directory (fresh each run): the tests read the emails written to mail/.
process.env.E2E_DATA_DIR ??= join(tmpdir(), `regenzet-e2e-${port}`);
const dataDir = process.env.E2E_DATA_DIR;

export default defineConfig({
  testDir: "./e2e",
  workers: 1,
  fullyParallel: false,
  retries: process.env.CI ? 1 : 0,
  timeout: 180_000,
  expect: { timeout: 10_000 },
  reporter: [["list"]],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: chromium,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
      ],
    },
  },
  projects: [{ name: "system-chromium", use: { ...devices["Desktop Chrome"], channel: undefined } }],
  webServer: {
    command: `bash e2e/serve.sh ${port} ${dataDir}`,
    url: `http://127.0.0.1:${port}/ready`,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: "ignore",
    stderr: "pipe",
  },
});
