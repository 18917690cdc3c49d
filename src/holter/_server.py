"""The native server's lifetime, shared by tracing and sampling.

The C server runs while anyone uses it (a trace() session, a sampler):
each user acquires it and releases it; the first acquire starts it, with
that user's host, port and token, and the last release stops it. This
module also hands the UI's static files to it and builds the URL.
"""
from __future__ import annotations

import ipaddress
import mimetypes
import os
import secrets
import threading
from dataclasses import dataclass
from importlib import resources

from holter import _core

_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}


@dataclass
class Endpoint:
    """Where the page is served."""
    url: str
    host: str
    port: int
    token: str | None


_lock = threading.Lock()          # guards the three below
_users = 0
_endpoint: Endpoint | None = None
_assets_loaded = False


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _load_assets() -> None:
    """Hands the UI files to the C server once: it serves them from memory."""
    global _assets_loaded
    if _assets_loaded:
        return
    for entry in resources.files("holter").joinpath("static").iterdir():
        if entry.is_file():
            ext = os.path.splitext(entry.name)[1]
            ctype = (_CONTENT_TYPES.get(ext) or mimetypes.guess_type(entry.name)[0]
                     or "application/octet-stream")
            _core.add_asset(entry.name, entry.read_bytes(), ctype)
    _assets_loaded = True


def acquire(host: str, port: int, token: str | None) -> Endpoint:
    """Starts the server, or joins the running one (whose host, port and
    token then win). Binding a non-loopback host without a token generates
    one. OSError if the port cannot be bound."""
    global _users, _endpoint
    with _lock:
        if _endpoint is None:
            if not is_loopback(host) and not token:
                token = secrets.token_urlsafe(18)
            _load_assets()
            bound = _core.serve(host, port, token)
            shown = f"[{host}]" if ":" in host else host
            url = f"http://{shown}:{bound}/" + (f"?token={token}" if token else "")
            _endpoint = Endpoint(url, host, bound, token)
        _users += 1
        return _endpoint


def release() -> None:
    """One user is done; the last one stops the server."""
    global _users, _endpoint
    with _lock:
        if _users == 0:
            return
        _users -= 1
        if _users == 0:
            _endpoint = None
            _core.stop_serving()


def serving() -> bool:
    return _endpoint is not None


def url() -> str | None:
    """The page's URL while serving."""
    ep = _endpoint
    return ep.url if ep is not None else None


def forget_after_fork() -> None:
    """In a forked child: the server stays the parent's."""
    global _users, _endpoint
    _users = 0
    _endpoint = None
