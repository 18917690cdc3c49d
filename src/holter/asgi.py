"""ASGI 3 middleware: liveprofiler_sampler's endpoint and holter's live page
for Starlette, FastAPI, FastHTML, Quart or any ASGI application.

    from starlette.applications import Starlette
    from holter.asgi import ProfilingMiddleware

    app = ProfilingMiddleware(Starlette(routes=...), secret_header="secret")

    $ curl -H "PROFILER-TOKEN: secret" localhost:8000/liveprofiler

Only HTTP requests for `path` (and `page_path`) are answered here; every
other HTTP request, and lifespan and websocket scopes, go to the application
untouched. Reading the profile runs in a worker thread (anyio's, or
asyncio's), so the event loop never waits for it.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from holter._mount import Profiler, Reply, Request

try:                        # anyio runs under trio too; asyncio's needs asyncio
    from anyio import to_thread as _anyio_to_thread
except ImportError:         # pragma: no cover - Starlette and FastAPI bring anyio
    _anyio_to_thread = None

__all__ = ["ProfilingMiddleware"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class ProfilingMiddleware:
    """Serves this process's profile at `path` to holders of the secret.

    Same arguments and answers as :class:`holter.wsgi.ProfilingMiddleware`.
    The secret is read from the ``PROFILER_TOKEN`` or ``PROFILER-TOKEN``
    header (ASGI keeps the two apart; both are accepted).

    >>> app = ProfilingMiddleware(app, secret_header=os.environ["PROFILER_SECRET"],
    ...                           page_path="/_holter")
    """

    def __init__(self, app: ASGIApp, interval: float = 0.05, secret_header: str = "secret",
                 mode: str = "wall", path: str = "/liveprofiler",
                 page_path: str | None = None) -> None:
        self.app = app
        self.profiler = Profiler(interval, secret_header, mode, path, page_path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        p = self.profiler
        p.ensure_sampling()
        path = scope["path"]
        root = scope.get("root_path", "")
        # In ASGI, path includes root_path (asgiref's WSGI adapter strips it
        # the same way to make PATH_INFO); some older servers leave it out.
        if root and path.startswith(root):
            path = path[len(root):]
        if not p.wants(scope["method"], path):
            await self.app(scope, receive, send)
            return
        reply = await _in_thread(p.respond, _request(scope, path, root))
        await send({"type": "http.response.start", "status": reply.status,
                    "headers": [(k.lower().encode("latin-1"), v.encode("latin-1"))
                                for k, v in reply.headers]})
        await send({"type": "http.response.body", "body": reply.body})


async def _in_thread(fn: Callable[[Request], Reply], req: Request) -> Reply:
    if _anyio_to_thread is not None:
        return await _anyio_to_thread.run_sync(fn, req)
    return await asyncio.to_thread(fn, req)


def _request(scope: Scope, path: str, root: str) -> Request:
    found: dict[bytes, bytes] = {}
    cookies: list[bytes] = []
    for name, value in scope.get("headers", ()):
        if name == b"cookie":        # HTTP/2 may split it in several fields
            cookies.append(value)
        else:
            found.setdefault(name, value)
    # Unlike WSGI, ASGI keeps "profiler_token" and "profiler-token" apart.
    # Servers and proxies in front may drop the underscore spelling (nginx,
    # gunicorn >= 22), so clients should send the dash one.
    token = found.get(b"profiler-token", found.get(b"profiler_token"))
    inm = found.get(b"if-none-match")
    action = found.get(b"x-holter-action")
    return Request(
        method=scope["method"],
        path=path,
        query=scope.get("query_string", b"").decode("latin-1"),
        root=root,
        https=scope.get("scheme") == "https",
        profiler_token=token,
        holter_token=found.get(b"x-holter-token"),
        cookie=b"; ".join(cookies).decode("latin-1") if cookies else None,
        if_none_match=inm.decode("latin-1") if inm is not None else None,
        action=action.decode("latin-1") if action is not None else None,
    )
