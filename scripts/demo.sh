#!/usr/bin/env bash
# Sets everything up (idempotent, quiet) and runs the demo under holter,
# printing the URL of the live page. Ctrl-C ends it.
#   HOLTER_PORT (default 9999), HOLTER_HOST (default 127.0.0.1)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
py=$(ls -d .venv/3.1[123] 2>/dev/null | sort -V | tail -n 1)/bin/python
exec "$py" -m holter run --host "${HOLTER_HOST:-127.0.0.1}" --port "${HOLTER_PORT:-9999}" \
    examples/demo.py "$@"
