#!/usr/bin/env bash
# Tracer cost benchmark: holter vs its no-op floor vs heartrate, on every
# CPython venv given (default: each .venv/3.1x/bin/python that exists).
#
#   bench/run_tracer.sh                       full run (~10 min for 3 versions)
#   bench/run_tracer.sh --quick               smaller sizes, 3 repetitions
#   bench/run_tracer.sh .venv/3.13/bin/python -r 7
#
# Markdown tables on stdout, progress on stderr, raw timings in
# bench/results/tracer-<time>.json. See bench/tracer.py for the options.
set -euo pipefail
cd "$(dirname "$0")/.."

# The driver only needs the standard library; each child runs under the
# interpreter being measured.
driver=""
for py in .venv/3.13/bin/python .venv/3.12/bin/python .venv/3.11/bin/python; do
    [[ -x "$py" ]] && { driver="$py"; break; }
done
driver="${driver:-$(command -v python3)}"
exec "$driver" bench/tracer.py "$@"
