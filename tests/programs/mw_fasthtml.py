"""A FastHTML application under holter.asgi.ProfilingMiddleware.

Imported by tests/test_middleware_asgi.py (skipped if python-fasthtml is
not installed).
"""
import time

from fasthtml.common import P, Titled, fast_app

from holter.asgi import ProfilingMiddleware


def busy_handler(seconds: float) -> int:
    """Spins on the CPU: what the profile must show."""
    end = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


def create_app(secret="s3cret", interval=0.01, page_path="/_holter", wrap=True):
    # A fixed secret_key: otherwise FastHTML writes .sesskey into the cwd.
    app, rt = fast_app(secret_key="holter-test", pico=False)

    @rt("/")
    def get():
        return Titled("holter test", P("hello from fasthtml"))

    @rt("/busy")
    def get(s: float = 0.5):  # noqa: F811 - FastHTML routes by function name
        return P(f"spun {busy_handler(s)}")

    if not wrap:
        return app
    return ProfilingMiddleware(app, interval=interval, secret_header=secret, page_path=page_path)
