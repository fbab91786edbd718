#!/usr/bin/env bash
# The project's one test command (README quick start, .ci/run): runs the whole pytest suite.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

# A real DynamoDB-compatible server on 127.0.0.1 for the integration tests (tests/dynamo_server.py
# starts one itself when this variable is unset): dynalite from npm, installed into .cache/node
# (only node_modules/ lands there, which git ignores); moto's server mode if Node.js is missing.
if [ -z "${MCQUEUE_TEST_DYNAMODB_ENDPOINT:-}" ]; then
  ddb_port=$(python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  if command -v node >/dev/null && command -v npm >/dev/null; then
    if [ ! -f .cache/node/node_modules/dynalite/cli.js ]; then
      mkdir -p .cache/node
      npm install --no-audit --no-fund --no-save --no-package-lock --prefix .cache/node dynalite@4.0.0 >&2
    fi
    node .cache/node/node_modules/dynalite/cli.js --host 127.0.0.1 --port "$ddb_port" \
      --createTableMs 50 --deleteTableMs 50 --updateTableMs 50 >/dev/null 2>&1 &
  else
    echo "scripts/test.sh: Node.js not found, using moto's server mode for DynamoDB" >&2
    python -m moto.server -H 127.0.0.1 -p "$ddb_port" >/dev/null 2>&1 &
  fi
  ddb_pid=$!
  trap 'kill "$ddb_pid" 2>/dev/null || true; wait "$ddb_pid" 2>/dev/null || true' EXIT
  ddb_up=0
  for _ in $(seq 1 300); do
    if python -c "import socket; socket.create_connection(('127.0.0.1', $ddb_port), 0.2)" 2>/dev/null; then ddb_up=1; break; fi
    kill -0 "$ddb_pid" 2>/dev/null || break
    sleep 0.1
  done
  [ "$ddb_up" = 1 ] || { echo "scripts/test.sh: DynamoDB test server did not start" >&2; exit 1; }
  export MCQUEUE_TEST_DYNAMODB_ENDPOINT="http://127.0.0.1:$ddb_port"
  echo "scripts/test.sh: DynamoDB test server at $MCQUEUE_TEST_DYNAMODB_ENDPOINT" >&2
fi

# a real headless browser for the HTML report tests: Debian's chromium (apt, once)
scripts/ensure_chromium.sh >&2

python -m pytest "$@"
