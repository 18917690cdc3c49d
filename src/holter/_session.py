"""A tracing session: the hook, and which files are traced.

One session per process at a time. The C core does the work; this module
decides which files to trace (the resolver, called once per code object)
and holds the server (_server) while the session runs.
"""
from __future__ import annotations

import atexit
import os
import sys
import threading
import webbrowser
from typing import Callable

from holter import _core, _server, files as _files
from holter._source import read_source

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_MAX_DECIDED = 100_000            # file names whose decision is cached per session

_lock = threading.Lock()          # guards _current
_current: Tracer | None = None


class Tracer:
    """A running holter session: returned by :func:`holter.trace`.

    >>> with holter.trace(port=0) as t:
    ...     print(t.url)
    """

    url: str
    port: int
    host: str
    token: str | None

    def __init__(self, files: Callable[[str], bool], always: set[str],
                 host: str, port: int, token: str | None, serve: bool,
                 floor: bool = False) -> None:
        self._files = files
        self._always = always
        self._decided: dict[str, int] = {}
        self.host = host
        self.token = token
        self._port_requested = port
        self.port = 0
        self.url = ""
        self._serving = False
        self._tracing = False
        self._floor = floor
        self._serve = serve

    # Called by the C hook, once per code object, with the GIL held and
    # tracing suspended. Returns the file id, or -1 for "not traced".
    def _resolve(self, filename: str) -> int:
        fid = self._decided.get(filename)
        if fid is not None:
            return fid
        fid = -1
        if self._wants(filename):
            fid = _core.register_file(os.fsencode(filename), read_source(filename))
        if len(self._decided) >= _MAX_DECIDED:
            self._decided.clear()   # a cache, not the truth: stays bounded
        self._decided[filename] = fid
        return fid

    def _wants(self, filename: str) -> bool:
        if filename in self._always:
            return True
        if not filename or filename.startswith("<") or filename.startswith(_PACKAGE_DIR + os.sep):
            return False            # not a file on disk, or holter itself
        try:
            return bool(self._files(filename))
        except Exception:
            return False

    def _start(self) -> None:
        for path in self._always:       # listed on the page from the start
            self._resolve(path)
        _core.start_tracing(self._resolve, self._floor)
        self._tracing = True
        if not self._serve:
            return
        try:
            ep = _server.acquire(self.host, self._port_requested, self.token)
        except BaseException:
            self._tracing = False
            _core.stop_tracing()
            raise
        self._serving = True
        self.url, self.port, self.token = ep.url, ep.port, ep.token

    def file_id(self, path: str) -> int | None:
        """The id the page uses for `path`, or None if it is not traced."""
        return _core.file_id(os.fsencode(path))

    def stop(self) -> None:
        """Stops tracing and serving. Safe to call more than once."""
        global _current
        with _lock:
            if self._tracing:
                self._tracing = False
                _core.stop_tracing()
            if self._serving:
                self._serving = False
                _server.release()
            if _current is self:
                _current = None

    def __enter__(self) -> Tracer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "tracing" if self._tracing else "stopped"
        return f"<holter.Tracer {state} url={self.url!r}>"


def trace(files: Callable[[str], bool] = _files.marked, host: str = "127.0.0.1",
          port: int = 9999, browser: bool = False, *, token: str | None = None,
          quiet: bool = False) -> Tracer:
    """Starts counting every line of the traced files, on every thread, and
    serves the live page. Returns a :class:`Tracer` (also a context manager).

    Traced: the calling file, plus every file for which ``files(path)`` is
    true (default: files with a ``# holter`` comment). ``port=0`` picks a
    free port. Binding a non-loopback host requires a token: pass one, or one
    is generated; either way it is part of ``Tracer.url``, which is printed
    on stderr unless ``quiet``.

    >>> import holter
    >>> t = holter.trace(port=0)
    >>> t.url
    'http://127.0.0.1:40123/'
    """
    caller = sys._getframe(1).f_code.co_filename
    return start(files, {caller}, host, port, browser, token, quiet)


def start(files: Callable[[str], bool], always: set[str], host: str, port: int,
          browser: bool, token: str | None, quiet: bool, serve: bool = True,
          floor: bool = False) -> Tracer:
    """trace() without the caller rule: `always` lists the files traced
    whatever `files` says. Used by trace(), the CLI and the benchmarks
    (``serve=False``; ``floor=True`` delivers the events but counts none)."""
    global _current
    with _lock:
        if _current is not None:
            raise RuntimeError("holter is already tracing; call holter.stop() first")
        t = Tracer(files, always, host, port, token, serve, floor)
        t._start()
        _current = t
    if t.url and not quiet:
        print(f"holter: watching this program at {t.url}", file=sys.stderr, flush=True)
    if browser and t.url and _server.is_loopback(host):
        first = t.file_id(min(always)) if always else None
        webbrowser.open_new_tab(t.url + (f"#/file/{first}" if first is not None else ""))
    return t


def stop() -> None:
    """Stops the current session, if any: tracing ends and the server closes."""
    t = _current
    if t is not None:
        t.stop()


def current() -> Tracer | None:
    """The running session, or None."""
    return _current


def status() -> dict[str, object]:
    """Counters from the C core, plus the session's URL.

    ``hook_errors`` counts failures the hook swallowed rather than raise into
    the program (for example a ``files`` filter that raised).
    """
    info = dict(_core.status())
    info["url"] = _server.url()
    info["serving"] = _server.serving()
    return info


def counts(path: str) -> dict[int, int]:
    """Exact hit counts of a traced file so far, as ``{line: hits}``; empty
    if the file is not traced.

    >>> holter.counts(__file__)[12]
    1000
    """
    fid = _core.file_id(os.fsencode(path))
    return _core.line_counts(fid) if fid is not None else {}


def _before_fork() -> None:
    # From 3.12 os.fork() warns if the process has other threads: when the
    # program's thread is the only one, ours step aside for the fork.
    if threading.active_count() == 1 and threading.current_thread() is threading.main_thread():
        _core.suspend_for_fork()


def _after_fork_in_parent() -> None:
    _core.resume_after_fork()


def _after_fork_in_child() -> None:
    # The C core forgot its server threads (pthread_atfork); the child keeps
    # counting but does not serve.
    _core.resume_after_fork()
    _server.forget_after_fork()
    t = _current
    if t is not None:
        t._serving = False


os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent,
                    after_in_child=_after_fork_in_child)
atexit.register(stop)
