"""Shared helpers: running target programs and reading their holter server."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

PROGRAMS = Path(__file__).parent / "programs"


def marks(path: Path) -> dict[str, int]:
    """Line numbers of `# MARK:name` comments in a program."""
    found = {}
    for no, line in enumerate(path.read_text("latin-1").splitlines(), 1):
        if "# MARK:" in line:
            found[line.split("# MARK:")[1].strip()] = no
    return found


class Served:
    """A program running under holter, with its server's URL."""

    def __init__(self, proc: subprocess.Popen, first_line: dict):
        self.proc = proc
        self.first = first_line
        self.url = first_line["url"]

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
        req = urllib.request.Request(self.url.split("?")[0] + path.lstrip("/"), headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def json(self, path: str) -> dict:
        status, _, body = self.get(path)
        assert status == 200, (path, status, body)
        return json.loads(body)

    def finish(self) -> int:
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass
        return self.proc.wait(timeout=30)


@pytest.fixture
def serve_program():
    """serve_program(name, env) starts tests/programs/<name>, which prints a
    JSON line with "url" and waits for stdin; yields a Served."""
    started: list[subprocess.Popen] = []

    def start(name: str, **env: str) -> Served:
        proc = subprocess.Popen(
            [sys.executable, str(PROGRAMS / name)], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, env={**os.environ, **env})
        started.append(proc)
        line = proc.stdout.readline()
        assert line, f"{name} printed nothing (exit {proc.poll()})"
        return Served(proc, json.loads(line))

    yield start
    for p in started:
        if p.poll() is None:
            p.kill()
            p.wait(timeout=10)
