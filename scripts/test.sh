#!/usr/bin/env bash
# Sets everything up (idempotent, quiet) and runs the whole test suite on
# every supported CPython: the C unit tests under ASan/UBSan, and the pytest
# suite (behaviour, HTTP, browser) against a -Werror build.
# Extra arguments go to pytest, e.g. scripts/test.sh -k http
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
status=0
for venv in $(ls -d .venv/3.1[123] | sort -V); do
    echo "== Python $(basename "$venv")"
    "$venv/bin/python" -m pytest -q -p no:cacheprovider "$@" tests || status=1
done
exit $status
