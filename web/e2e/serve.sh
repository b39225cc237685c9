#!/usr/bin/env bash
# The server the browser tests drive: the demo garage on a fresh SQLite store, serving web/dist.
set -euo pipefail
cd "$(dirname "$0")/../.."
port="${1:-8450}"
venv="${REGENZET_VENV:-.venv}"
# The tests read the mail the local mailer writes there (the emailed approval link), so the
# config names the directory; without one, a throwaway directory.
data="${2:-$(mktemp -d -t regenzet-e2e-XXXXXX)}"
rm -rf "$data" && mkdir -p "$data"
trap 'rm -rf "$data"' EXIT
export REGENZET_DATA_DIR="$data" REGENZET_WEB_DIST="$PWD/web/dist"
# Links in the emails point at this server.
export REGENZET_PUBLIC_URL="http://127.0.0.1:$port"
export REGENZET_RATE_LIMIT_PER_IP=0 REGENZET_RATE_LIMIT_PER_SUBJECT=0
"$venv/bin/regenzet" serve --demo --host 127.0.0.1 --port "$port" &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$data"' EXIT TERM INT
wait "$server"
