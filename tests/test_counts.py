"""Exact per-line hit counts from real multi-threaded programs."""
import json
import os
import subprocess
import sys

from conftest import PROGRAMS, marks

COUNTED = PROGRAMS / "counted.py"
M = marks(COUNTED)
SPIN_THREADS = sum(1000 * (i + 1) for i in range(8))    # 36000


def as_ints(d):
    return {int(k): v for k, v in d.items()}


def run_oracle(pre="0"):
    out = subprocess.run([sys.executable, str(COUNTED)], capture_output=True, text=True,
                         timeout=60, env={**os.environ, "COUNT_MODE": "oracle", "COUNT_PRE": pre})
    assert out.returncode == 0, out.stderr
    return as_ints(json.loads(out.stdout)["counts"])


def test_exact_counts_on_every_thread(serve_program):
    prog = serve_program("counted.py")
    counts = as_ints(prog.first["counts"])
    # 8 threads started after trace(), and one started before it.
    assert counts[M["body"]] == SPIN_THREADS + 777
    assert counts[M["pre_call"]] == 1
    assert counts[M["deep_if"]] == 101
    assert counts[M["deep_rec"]] == 100
    assert counts[M["yield"]] == 50
    assert prog.finish() == 0


def test_http_counts_equal_python_counts(serve_program):
    prog = serve_program("counted.py")
    files = prog.json("/api/files")["files"]
    [entry] = [f for f in files if f["path"] == str(COUNTED)]
    lines = prog.json(f"/api/files/{entry['id']}/lines")
    http_counts = {line: n for line, n in lines["hits"]}
    # The program ran a few more lines after taking its own snapshot.
    before = {k: v for k, v in http_counts.items() if k < M["snapshot"]}
    assert before == {k: v for k, v in as_ints(prog.first["counts"]).items() if k < M["snapshot"]}
    assert entry["hits"] == sum(http_counts.values())
    assert lines["events"] == entry["hits"]
    assert prog.finish() == 0


def test_counts_match_the_interpreters_own_line_events(serve_program):
    """The oracle counts CPython's line events with a Python-level hook on
    the same program; inside functions every count must be identical."""
    oracle = run_oracle()
    prog = serve_program("counted.py", COUNT_PRE="0")
    counts = as_ints(prog.first["counts"])
    assert prog.finish() == 0
    function_lines = range(M["body"] - 3, M["yield"] + 1)    # spin .. gen
    assert {k: v for k, v in counts.items() if k in function_lines} == \
        {k: v for k, v in oracle.items() if k in function_lines}
    assert oracle[M["body"]] == SPIN_THREADS
