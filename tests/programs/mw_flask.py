"""A Flask application under holter.wsgi.ProfilingMiddleware.

Imported by tests/test_middleware_wsgi.py, and served by gunicorn in
tests/test_middleware_gunicorn.py as ``mw_flask:create_app()``. Settings
come from arguments, else from the environment (HOLTER_MW_SECRET,
HOLTER_MW_INTERVAL), so gunicorn's workers get them too.
"""
import os
import tempfile
import threading
import time

from flask import Flask, Response, request, send_file, stream_with_context

from holter.wsgi import ProfilingMiddleware

FILE_BODY = bytes(range(256)) * 64            # served by /file through wsgi.file_wrapper
released = threading.Event()                 # lets /stream finish its second chunk


def busy_handler(seconds: float) -> int:
    """Spins on the CPU: what the profile must show."""
    end = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


def flask_app() -> Flask:
    app = Flask("mw_flask")
    path = os.path.join(tempfile.gettempdir(), f"holter-mw-file-{os.getuid()}.bin")
    if not os.path.exists(path) or os.path.getsize(path) != len(FILE_BODY):
        # Written once: its mtime is in /file's ETag, which must not move.
        with open(path + f".{os.getpid()}", "wb") as f:
            f.write(FILE_BODY)
        os.replace(path + f".{os.getpid()}", path)

    @app.get("/")
    def index():
        resp = Response("hello from flask\n", mimetype="text/plain")
        resp.headers["X-Custom"] = "kept"
        resp.set_cookie("app_cookie", "1")
        return resp

    @app.route("/echo", methods=["POST", "PUT"])
    def echo():
        return Response(request.get_data(), status=201, mimetype="application/octet-stream")

    @app.get("/stream")
    def stream():
        def chunks():
            yield b"first chunk\n"
            released.wait(10)
            yield b"second chunk\n"
        return Response(stream_with_context(chunks()), mimetype="text/plain")

    @app.get("/release")
    def release():
        released.set()
        return "released\n"

    @app.get("/file")
    def file():
        return send_file(path, mimetype="application/octet-stream")

    @app.get("/busy")
    def busy():
        seconds = float(request.args.get("s", "0.5"))
        return f"spun {busy_handler(seconds)}\n"

    @app.get("/pid")
    def pid():
        return str(os.getpid())

    return app


def with_pid_header(app):
    """Outermost layer: says which worker answered, /liveprofiler included."""
    def wrapped(environ, start_response):
        def start(status, headers, exc_info=None):
            return start_response(status, headers + [("X-Worker-Pid", str(os.getpid()))], exc_info)
        return app(environ, start)

    return wrapped


def create_app(secret=None, interval=None, page_path="/_holter", mode="wall", wrap=True):
    """The WSGI application: Flask under the middleware (or bare, wrap=False)."""
    app = flask_app()
    if wrap:
        app.wsgi_app = ProfilingMiddleware(
            app.wsgi_app,
            interval=interval or float(os.environ.get("HOLTER_MW_INTERVAL", "0.01")),
            secret_header=secret or os.environ.get("HOLTER_MW_SECRET", "s3cret"),
            mode=mode, page_path=page_path)
    return with_pid_header(app)
