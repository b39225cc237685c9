/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The API serves the built files (src/regenzet/entrypoints/http/spa.py); in `npm run dev`
// Vite proxies the API to a local `regenzet serve` on REGENZET_API (default :8000).
const api = process.env.REGENZET_API ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
  build: {
    target: "es2022",
    sourcemap: true,
    // Hashed names under assets/ are served `immutable`; index.html is `no-cache`.
    assetsDir: "assets",
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: {
      "/api": api,
      "/auth/local": api,
      "/config.json": api,
    },
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    css: false,
    testTimeout: 30_000,
  },
});
