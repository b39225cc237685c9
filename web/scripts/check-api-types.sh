#!/usr/bin/env bash
# Drift check: the committed client types must be what openapi-typescript makes of the
# committed document (and tests/http/test_web_app_serving.py checks that document is the
# server's). Regenerate with: regenzet openapi --output web/openapi.json && npm run api:types
set -euo pipefail
cd "$(dirname "$0")/.."
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
npx --no-install openapi-typescript openapi.json -o "$tmp/schema.d.ts" >/dev/null
if ! diff -u src/api/schema.d.ts "$tmp/schema.d.ts" >"$tmp/diff"; then
  head -40 "$tmp/diff"
  echo "web/src/api/schema.d.ts is stale: run 'npm --prefix web run api:types'" >&2
  exit 1
fi
echo "API client types match web/openapi.json"
