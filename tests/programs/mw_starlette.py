"""A Starlette application under holter.asgi.ProfilingMiddleware.

Imported by tests/test_middleware_asgi.py, and served by uvicorn there as
``mw_starlette:create_app`` (with --factory). Settings come from arguments,
else from the environment (HOLTER_MW_SECRET, HOLTER_MW_INTERVAL).
"""
import asyncio
import contextlib
import os
import time

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from holter.asgi import ProfilingMiddleware

state = {"released": False, "lifespan": "not started"}


def busy_handler(seconds: float) -> int:
    """Spins on the CPU: what the profile must show."""
    end = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


async def index(request: Request) -> Response:
    resp = PlainTextResponse("hello from starlette\n", headers={"X-Custom": "kept"})
    resp.set_cookie("app_cookie", "1")
    return resp


async def echo(request: Request) -> Response:
    return Response(await request.body(), status_code=201, media_type="application/octet-stream")


async def stream(request: Request) -> Response:
    async def chunks():
        yield b"first chunk\n"
        for _ in range(1000):             # at most 10 s
            if state["released"]:
                break
            await asyncio.sleep(0.01)
        yield b"second chunk\n"
    return StreamingResponse(chunks(), media_type="text/plain")


async def release(request: Request) -> Response:
    state["released"] = True
    return PlainTextResponse("released\n")


def busy(request: Request) -> Response:
    # A plain function: Starlette runs it in its thread pool, off the main thread.
    seconds = float(request.query_params.get("s", "0.5"))
    return PlainTextResponse(f"spun {busy_handler(seconds)}\n")


async def lifespan_state(request: Request) -> Response:
    return PlainTextResponse(state["lifespan"])


async def pid(request: Request) -> Response:
    return PlainTextResponse(str(os.getpid()), headers={"X-Worker-Pid": str(os.getpid())})


async def ws_echo(websocket: WebSocket) -> None:
    await websocket.accept()
    text = await websocket.receive_text()
    await websocket.send_text("echo: " + text)
    await websocket.close()


@contextlib.asynccontextmanager
async def lifespan(app):
    state["lifespan"] = "started"
    yield
    state["lifespan"] = "stopped"


def starlette_app() -> Starlette:
    return Starlette(routes=[
        Route("/", index),
        Route("/echo", echo, methods=["POST", "PUT"]),
        Route("/stream", stream),
        Route("/release", release),
        Route("/busy", busy),
        Route("/lifespan", lifespan_state),
        Route("/pid", pid),
        WebSocketRoute("/ws", ws_echo),
    ], lifespan=lifespan)


def create_app(secret=None, interval=None, page_path="/_holter", mode="wall", wrap=True):
    """The ASGI application: Starlette under the middleware (or bare, wrap=False)."""
    app = starlette_app()
    if not wrap:
        return app
    return ProfilingMiddleware(
        app,
        interval=interval or float(os.environ.get("HOLTER_MW_INTERVAL", "0.01")),
        secret_header=secret or os.environ.get("HOLTER_MW_SECRET", "s3cret"),
        mode=mode, page_path=page_path)
