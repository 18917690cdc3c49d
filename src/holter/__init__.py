"""holter: a live, in-browser view of a running Python program.

    import holter
    holter.trace()          # prints the URL of the live page on stderr

Exact per-line hit counts on every thread, the lines executing right now and
the live stack of every thread, served by a native HTTP server that never
takes the GIL. See docs/http-api.md for the JSON behind the page.
"""
from holter import files
from holter._core import __version__
from holter._sampling import Sampler, export, profile, sampling, start
from holter._session import Tracer, counts, current, status, trace
from holter import _sampling, _session


def stop() -> None:
    """Stops everything holter runs: tracing, sampling, serving."""
    _sampling.stop()
    _session.stop()


__all__ = ["Sampler", "Tracer", "counts", "current", "export", "files", "profile",
           "sampling", "start", "status", "stop", "trace", "__version__"]
