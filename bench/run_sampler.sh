#!/usr/bin/env bash
# Sampler cost benchmark: holter's stack sampler vs pyinstrument, py-spy and
# Austin (overhead at 100 Hz and 1 kHz), plus holter's achieved rate, its
# sampler thread's CPU and its memory, on every CPython venv given (default:
# each .venv/3.1x/bin/python that exists).
#
#   bench/run_sampler.sh                       full run (~15 min for 3 versions)
#   bench/run_sampler.sh --quick               smaller sizes, fewer repetitions
#   bench/run_sampler.sh .venv/3.13/bin/python -r 7 --parts overhead
#
# The peers are not holter's dependencies; install them into each venv:
#   .venv/3.12/bin/pip install pyinstrument py-spy austin-dist
# (austin-dist 4.0.0's binary needs glibc 2.38; on older systems use
# austin-dist==3.7.0). A peer that is missing or cannot run is reported.
#
# Markdown tables on stdout, progress on stderr, raw measurements in
# bench/results/sampler-<time>.json. See bench/sampler.py for the options.
set -euo pipefail
cd "$(dirname "$0")/.."

# The driver only needs the standard library; each child runs under the
# interpreter being measured.
driver=""
for py in .venv/3.13/bin/python .venv/3.12/bin/python .venv/3.11/bin/python; do
    [[ -x "$py" ]] && { driver="$py"; break; }
done
driver="${driver:-$(command -v python3)}"
exec "$driver" bench/sampler.py "$@"
