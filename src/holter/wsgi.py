"""WSGI middleware: a drop-in for liveprofiler_sampler's, on holter's sampler.

    from flask import Flask
    from holter.wsgi import ProfilingMiddleware

    app = Flask(__name__)
    app.wsgi_app = ProfilingMiddleware(app.wsgi_app, interval=0.05, secret_header="secret")

    $ curl -H "PROFILER-TOKEN: secret" localhost:5000/liveprofiler
    {"elapsed": 12.3, "granularity": 0.05, "stacks": [{"count": 9, "frame": "..."}]}

Every request but `GET <path>` (and, with `page_path`, the live page below
it) goes to the application untouched: the same environ, and the
application's own iterable returned as it is, so streaming, close() and
wsgi.file_wrapper work as without the middleware. The work per passed-through
request is a getpid() and two string comparisons.

Unlike liveprofiler_sampler, the sampler is holter's native one: every
thread (a threaded server's request threads too), wall-clock or CPU time,
no signals, so system calls are never interrupted.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from holter._mount import Profiler, Request

__all__ = ["ProfilingMiddleware"]

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class ProfilingMiddleware:
    """Serves this process's profile at `path` to holders of the secret.

    Constructing it starts holter's sampler in this process (without a
    server), unless one is already sampling; then that one is used, with its
    own interval and mode. A forked worker samples itself too (holter
    restarts the sampler in the child, and the middleware checks on each
    request), so every gunicorn worker, with or without --preload, answers
    with its own profile; so does a uWSGI worker, forked without Python's
    at-fork hooks (the core knows its sampler thread did not come along).

    ``GET <path>`` with the header ``PROFILER_TOKEN: <secret_header>``
    answers 200 with the liveprofiler JSON ``{"elapsed", "granularity",
    "stacks": [{"count", "frame"}]}`` (frames ``func(module)``, root first,
    most frequent stack first), then clears the samples; ``?reset=0`` keeps
    them. A missing or wrong token answers 403 with an empty body.

    ``page_path="/_holter"`` also serves holter's live page (flame graph,
    live stacks) at ``/_holter/``, for holders of the secret: open
    ``/_holter/?token=<secret>`` once, which sets a cookie for the page.

    >>> app.wsgi_app = ProfilingMiddleware(app.wsgi_app, secret_header=os.environ["PROFILER_SECRET"],
    ...                                    page_path="/_holter")
    """

    def __init__(self, app: WSGIApp, interval: float = 0.05, secret_header: str = "secret",
                 mode: str = "wall", path: str = "/liveprofiler",
                 page_path: str | None = None) -> None:
        self.app = app
        self.profiler = Profiler(interval, secret_header, mode, path, page_path)
        # liveprofiler_sampler's README wraps the Flask object itself and
        # assigns the result to its wsgi_app: `app.wsgi_app = M(app)`.
        # Calling `app` would then call us again, forever; we call the
        # wsgi_app it had before instead.
        self._own_wsgi_app = getattr(app, "wsgi_app", None)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        p = self.profiler
        p.ensure_sampling()
        if not p.wants(environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")):
            if self._own_wsgi_app is not None and getattr(self.app, "wsgi_app", None) is self:
                return self._own_wsgi_app(environ, start_response)
            return self.app(environ, start_response)
        reply = p.respond(_request(environ))
        start_response(reply.status_line, reply.headers)
        return [reply.body]


def _header(environ: dict[str, Any], key: str) -> bytes | None:
    value = environ.get(key)
    # WSGI text is the header's bytes decoded as latin-1 (PEP 3333).
    return value.encode("latin-1") if value is not None else None


def _request(environ: dict[str, Any]) -> Request:
    # PROFILER_TOKEN and PROFILER-TOKEN both arrive as HTTP_PROFILER_TOKEN.
    # Servers that refuse to confuse the two drop the underscore spelling:
    # nginx (underscores_in_headers off), gunicorn >= 22 (--header-map
    # drop) and werkzeug's development server; send PROFILER-TOKEN there.
    return Request(
        method=environ.get("REQUEST_METHOD", ""),
        path=environ.get("PATH_INFO", ""),
        query=environ.get("QUERY_STRING", ""),
        root=environ.get("SCRIPT_NAME", ""),
        https=environ.get("wsgi.url_scheme") == "https",
        profiler_token=_header(environ, "HTTP_PROFILER_TOKEN"),
        holter_token=_header(environ, "HTTP_X_HOLTER_TOKEN"),
        cookie=environ.get("HTTP_COOKIE"),
        if_none_match=environ.get("HTTP_IF_NONE_MATCH"),
        action=environ.get("HTTP_X_HOLTER_ACTION"),
    )
