"""What holter's web middleware answers, shared by holter.wsgi and holter.asgi.

The middleware sees every request of a web application, so the common path
must cost next to nothing: `Profiler.wants()` decides from the method and
path alone, and only a request it wants is parsed further and answered by
`Profiler.respond()`. That one may block (it reads the sampler's tables
through the C core, which releases the GIL), so the ASGI side calls it in a
worker thread. Nothing here knows WSGI or ASGI: each side turns its request
into a `Request` and sends the `Reply` back.

Two things are answered:
  - `path` (default /liveprofiler): liveprofiler_sampler's endpoint, the
    liveprofiler JSON of this process, guarded by the PROFILER_TOKEN header;
  - `page_path` (e.g. /_holter), if set: holter's live page and its JSON
    routes (docs/http-api.md), served by `holter._core.route`, guarded by the
    same secret.
"""
from __future__ import annotations

import hashlib
import hmac
import http
import os
import threading
from dataclasses import dataclass
from urllib.parse import parse_qsl

import holter
from holter import _core

# The native server's headers (src/holter/_core/http.c, add_common_headers):
# the mounted page gets the same ones.
_CSP = ("default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
_SECURITY_HEADERS = [
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),       # the page URL may hold the token
    ("X-Frame-Options", "DENY"),
    ("Content-Security-Policy", _CSP),
    ("Cache-Control", "no-cache"),
]
_JSON = "application/json; charset=utf-8"
_COOKIE = "holter_token"                      # the native server's name, scoped to page_path
_NO = ("0", "false", "no", "off")             # ?reset= values that keep the samples

_DENIED_PAGE = (
    b"<!doctype html><meta charset=utf-8><title>holter: 403</title>"
    b"<body style=\"font-family:sans-serif;max-width:40em;margin:3em auto\">"
    b"<h1>holter: access denied</h1><p>Open this page with <code>?token=</code> and the "
    b"profiling secret in its URL, or send the secret in a <code>PROFILER-TOKEN</code> "
    b"header.</p></body>\n")

_start_lock = threading.Lock()                # one process starts one sampler


@dataclass
class Request:
    """The parts of a request the middleware reads. Header values are the
    raw bytes as sent (WSGI gives them as latin-1 text: re-encode them so)."""

    method: str
    path: str                    # below the application's root (PATH_INFO)
    query: str                   # raw query string, without "?"
    root: str                    # where the application is mounted (SCRIPT_NAME, root_path)
    https: bool
    profiler_token: bytes | None  # PROFILER_TOKEN or PROFILER-TOKEN
    holter_token: bytes | None    # X-Holter-Token, sent by the page's scripts
    cookie: str | None            # the Cookie header
    if_none_match: str | None
    action: str | None            # X-Holter-Action


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes                   # empty for HEAD and 304

    @property
    def status_line(self) -> str:
        try:
            return f"{self.status} {http.HTTPStatus(self.status).phrase}"
        except ValueError:
            return f"{self.status} Unknown"


class Profiler:
    """The configuration and logic behind both middlewares."""

    def __init__(self, interval: float, secret_header: str, mode: str, path: str,
                 page_path: str | None) -> None:
        if not isinstance(secret_header, str) or not secret_header:
            raise ValueError("secret_header must be a non-empty string: it guards the profile")
        if not path.startswith("/"):
            raise ValueError(f"path must start with '/': {path!r}")
        if page_path is not None:
            page_path = page_path.rstrip("/")
            if not page_path.startswith("/"):
                raise ValueError(f"page_path must start with '/' and not be '/': {page_path!r}")
            if path == page_path or path.startswith(page_path + "/"):
                raise ValueError(f"path {path!r} lies inside page_path {page_path!r}")
        self.interval = float(interval)
        self.mode = mode
        self.path = path
        self.page_path = page_path
        self._secret = secret_header.encode("utf-8")
        # The cookie holds a value derived from the secret, not the secret:
        # cookie-safe whatever the secret's characters, and useless as a
        # PROFILER_TOKEN if it leaks.
        self._cookie_value = hmac.new(self._secret, b"holter page cookie",
                                      hashlib.sha256).hexdigest()
        self._pid = 0              # the process whose sampler we made sure of
        self.ensure_sampling()
        if page_path is not None:
            from holter._server import _load_assets
            _load_assets()         # the C core serves the page from memory

    # ------------------------------------------------------------ sampling

    def ensure_sampling(self) -> None:
        """Makes sure this process samples itself. Called on every request,
        so the common case is one getpid(). holter restarts a sampler in a
        forked child by itself (gunicorn --preload); should that not have
        happened, a worker's first request starts one. An explicit
        holter.stop() in a process that already sampled is respected."""
        pid = os.getpid()
        if pid == self._pid:
            return
        with _start_lock:
            if pid == self._pid:
                return
            if not holter.sampling():
                try:
                    holter.start(self.interval, self.mode, serve=False, quiet=True)
                except RuntimeError:
                    if not holter.sampling():   # not a lost race: a real failure
                        raise
            self._pid = pid

    # ------------------------------------------------------------ routing

    def wants(self, method: str, path: str) -> bool:
        """True if the request is ours; cheap, called on every request."""
        if path == self.path:
            return method == "GET"
        pp = self.page_path
        return pp is not None and path.startswith(pp) and (len(path) == len(pp) or path[len(pp)] == "/")

    def respond(self, req: Request) -> Reply:
        """Answers a request `wants()` took. May block: not on an event loop."""
        if req.path == self.path:
            return self._liveprofiler(req)
        return self._page(req)

    # ------------------------------------------------------------ /liveprofiler

    def _liveprofiler(self, req: Request) -> Reply:
        if not self._equal(req.profiler_token):
            # As liveprofiler_sampler: 403 and nothing else.
            return Reply(403, [("Content-Length", "0")], b"")
        params = dict(parse_qsl(req.query, keep_blank_values=True))
        reset = params.get("reset", "1").lower() not in _NO
        body = holter.export("liveprofiler", reset=reset)
        return Reply(200, [("Content-Type", "application/json"),
                           ("Content-Length", str(len(body))),
                           ("Cache-Control", "no-store")], body)

    # ------------------------------------------------------------ the page

    def _page(self, req: Request) -> Reply:
        assert self.page_path is not None
        sub = req.path[len(self.page_path):]
        if sub == "":
            # The page's URLs are relative: it must be loaded as "<page_path>/".
            location = req.root + self.page_path + "/" + ("?" + req.query if req.query else "")
            return Reply(308, [("Location", location), ("Content-Length", "0")], b"")
        params = dict(parse_qsl(req.query, keep_blank_values=True))
        query_token = params.pop("token", None)
        set_cookie = query_token is not None and self._equal(query_token.encode("utf-8"))
        if not (set_cookie or self._equal(req.profiler_token) or self._equal(req.holter_token)
                or self._cookie_ok(req.cookie)):
            if sub == "/":
                return self._reply(req, 403, "text/html; charset=utf-8", "", _DENIED_PAGE)
            return self._error(req, 403, "missing or wrong token")
        if req.method == "POST" and sub == "/api/profile/reset":
            return self._reset(req)
        if req.method not in ("GET", "HEAD"):
            reply = self._error(req, 405, "only GET and HEAD")
            reply.headers.append(("Allow", "GET, HEAD"))
            return reply
        status, ctype, etag, body = _core.route(sub, params, req.if_none_match)
        reply = self._reply(req, status, ctype, etag, body)
        if set_cookie:
            cookie = (f"{_COOKIE}={self._cookie_value}; Path={req.root + self.page_path}; "
                      "HttpOnly; SameSite=Strict" + ("; Secure" if req.https else ""))
            reply.headers.append(("Set-Cookie", cookie))
        return reply

    def _reset(self, req: Request) -> Reply:
        # A form or an <img> on another site cannot send this header, so it
        # cannot reset the profile with the visitor's cookie.
        if (req.action or "").strip().lower() != "reset":
            return self._error(req, 403, "needs the header X-Holter-Action: reset")
        status, ctype, etag, body = _core.route("/api/profile/reset", {"_method": "POST"}, None)
        return self._reply(req, status, ctype, etag, body)

    def _error(self, req: Request, status: int, message: str) -> Reply:
        body = b'{"error": "' + message.encode() + b'"}'     # messages are ours: no escaping needed
        return self._reply(req, status, _JSON, "", body)

    @staticmethod
    def _reply(req: Request, status: int, ctype: str, etag: str, body: bytes) -> Reply:
        headers = list(_SECURITY_HEADERS)
        if etag:
            headers.append(("ETag", etag))
        if status == 304:
            body = b""
        else:
            headers.append(("Content-Type", ctype))
            headers.append(("Content-Length", str(len(body))))
        return Reply(status, headers, b"" if req.method == "HEAD" else body)

    # ------------------------------------------------------------ tokens

    def _equal(self, given: bytes | None) -> bool:
        return given is not None and hmac.compare_digest(given, self._secret)

    def _cookie_ok(self, header: str | None) -> bool:
        # Every holter_token cookie is tried: a holter server elsewhere on the
        # same host (cookies ignore ports) may have set one at Path=/.
        if not header:
            return False
        want = self._cookie_value.encode()
        ok = False
        for part in header.split(";"):
            name, _, value = part.strip().partition("=")
            if name == _COOKIE:
                ok |= hmac.compare_digest(value.strip('"').encode("latin-1", "replace"), want)
        return ok
