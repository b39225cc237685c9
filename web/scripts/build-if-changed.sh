#!/usr/bin/env bash
# Builds web/dist only when the app's sources or lockfile changed since the last build
# (npm ci only when the lockfile changed). Used by scripts/run and scripts/test.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v npm >/dev/null 2>&1; then
  echo "npm is not installed: the API runs, but the web app at / is not built (Node.js >= 20.19 needed)" >&2
  exit 0
fi
stamp_of() { find "$@" -type f -print0 2>/dev/null | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1; }
lock="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -d node_modules ] || [ "$(cat node_modules/.lock-stamp 2>/dev/null)" != "$lock" ]; then
  echo "== web: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock" > node_modules/.lock-stamp
fi
sources="$(stamp_of src public index.html vite.config.ts tsconfig.json package-lock.json openapi.json)"
if [ -f dist/index.html ] && [ "$(cat .build-stamp 2>/dev/null)" = "$sources" ]; then
  exit 0
fi
echo "== web: build"
npm run --silent build
echo "$sources" > .build-stamp
