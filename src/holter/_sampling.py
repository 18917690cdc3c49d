"""The stack sampler: a native thread that samples every thread's stack
without the GIL, and the profile it builds.

    import holter
    holter.start(interval=0.01, mode="wall")   # samples, serves the page
    ...
    holter.export("folded")                     # or speedscope, pprof, ...

The sampler costs the program next to nothing (it never takes the GIL), so
it can stay on in production.
"""
from __future__ import annotations

import atexit
import os
import sys
import threading
from contextlib import contextmanager
from typing import Iterator

from holter import _core, _server

FORMATS = ("folded", "speedscope", "pprof", "liveprofiler", "nylas", "flame", "top", "threads")

_lock = threading.Lock()          # guards _current
_current: Sampler | None = None


class Sampler:
    """A running sampler: returned by :func:`holter.start`.

    >>> s = holter.start(port=0)
    >>> s.url
    'http://127.0.0.1:40123/'
    """

    def __init__(self, interval: float, mode: str, serving: bool) -> None:
        self.interval = interval
        self.mode = mode
        self.url: str | None = None
        self.port: int | None = None
        self.token: str | None = None
        self._serving = serving

    def stop(self) -> None:
        """Stops sampling (the profile stays readable) and, if this sampler
        started it, serving. Safe to call more than once."""
        global _current
        with _lock:
            if _current is self:
                _current = None
                _core.stop_sampler()
            if self._serving:
                self._serving = False
                _server.release()

    def export(self, fmt: str = "folded", **options: object) -> bytes:
        """The profile so far; see :func:`holter.export`."""
        return export(fmt, **options)  # type: ignore[arg-type]

    def __enter__(self) -> Sampler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<holter.Sampler {self.mode} every {self.interval}s url={self.url!r}>"


def _module_roots(main: str | None) -> tuple[str | None, list[str]]:
    """__main__'s file and the sys.path entries: how the C side names a
    module after a file without the GIL."""
    main = main or getattr(sys.modules.get("__main__"), "__file__", None)
    roots = [os.path.abspath(p or os.curdir) for p in sys.path if isinstance(p, str)]
    return (os.path.abspath(main) if main else None), [r for r in roots if os.path.isdir(r)]


def start(interval: float = 0.01, mode: str = "wall", *, host: str = "127.0.0.1",
          port: int = 9999, serve: bool = True, token: str | None = None,
          quiet: bool = False, _main_file: str | None = None) -> Sampler:
    """Starts sampling every thread's stack every `interval` seconds, in
    ``"wall"`` mode (every thread, idle ones marked) or ``"cpu"`` mode (only
    threads on a CPU), and with ``serve`` the live page (a flame graph).

    >>> s = holter.start(interval=0.005, mode="cpu", port=0)
    """
    global _current
    with _lock:
        if _current is not None and not _core.sampler_running():
            # A child forked below Python (uWSGI's fork() from C): the
            # parent's sampler object, without its thread. Drop it.
            _current = None
        if _current is not None:
            raise RuntimeError("holter is already sampling; call holter.stop() first")
        main, roots = _module_roots(_main_file)
        _core.start_sampler(interval, mode, main, roots)
        _core.reset_sampler()
        s = Sampler(interval, mode, serving=False)
        _current = s
    if serve:
        try:
            ep = _server.acquire(host, port, token)
        except BaseException:
            s.stop()
            raise
        s._serving = True
        s.url, s.port, s.token = ep.url, ep.port, ep.token
        if not quiet:
            print(f"holter: profiling this program at {ep.url}#/profile", file=sys.stderr,
                  flush=True)
    return s


def stop() -> None:
    """Stops the sampler, if one runs."""
    s = _current
    if s is not None:
        s.stop()


def sampling() -> bool:
    """Is a sampler running in this process? (False in a forked child until
    it starts its own, however it was forked.)"""
    return _current is not None and _core.sampler_running()


def _name_threads() -> None:
    _core.name_threads({t.ident: t.name for t in threading.enumerate() if t.ident is not None})


def export(fmt: str = "folded", *, window: float = 0.0, thread: int | None = None,
           idle: bool = True, reset: bool = False) -> bytes:
    """The profile in one of FORMATS: ``folded`` (flamegraph.pl),
    ``speedscope``, ``pprof`` (protobuf, for ``go tool pprof``),
    ``liveprofiler`` (liveprofiler_sampler's JSON), ``nylas`` (nylas-perftools'
    text), or the page's ``flame``/``top``/``threads`` JSON. `window` keeps the
    last seconds only; `thread` one thread (its ident); ``idle=False`` drops
    idle samples; ``reset`` clears the profile after reading.

    >>> open("out.folded", "wb").write(holter.export("folded"))
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    _name_threads()
    params = {"window": repr(float(window)), "idle": "1" if idle else "0"}
    if thread is not None:
        params["thread"] = str(int(thread))
    if reset:
        params["reset"] = "1"
    path = "/api/profile" if fmt == "flame" else f"/api/profile/{fmt}"
    status, _, _, body = _core.route(path, params, None)
    if status != 200:
        raise RuntimeError(f"holter: no profile to export ({body.decode(errors='replace')})")
    return body


def status() -> dict[str, object]:
    """The sampler's health: target and achieved rate, samples, torn and
    dropped samples, unique stacks, memory."""
    import json
    return json.loads(_core.route("/api/sampler", {}, None)[3])


@contextmanager
def profile(interval: float = 0.001, mode: str = "wall") -> Iterator[Sampler]:
    """Samples only inside the block (no server), then stops; the sampler
    object exports what was seen.

    >>> with holter.profile() as p:
    ...     work()
    >>> p.export("speedscope")
    """
    s = start(interval, mode, serve=False)
    try:
        yield s
    finally:
        s.stop()


def _after_fork_in_child() -> None:
    # gunicorn and friends: a worker samples itself, from a clean profile.
    global _current
    s = _current
    if s is None:
        return
    _current = None
    s._serving = False
    try:
        start(s.interval, s.mode, serve=False)
    except Exception:
        pass            # the parent's sampler never breaks the child


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(stop)
