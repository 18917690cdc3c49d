"""The ``holter`` command: run a program under holter, save its profile.

    holter run [options] script.py [args...]
    holter run [options] -m module [args...]
    holter export URL (folded|speedscope|pprof|liveprofiler|nylas) [-o FILE]

The program runs as ``python script.py`` would run it (same sys.argv,
sys.path[0], __main__, exit code, and tracebacks without holter's frames),
with its file traced and the live page served.
"""
from __future__ import annotations

import argparse
import builtins
import importlib.machinery
import importlib.util
import io
import os
import runpy
import sys
import time
import types
from types import TracebackType

from holter import _sampling, _session, files as _files

class _UsageError(Exception):
    """A bad command line: reported in one line, exit status 2 (as python)."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="holter", description="A live view of a running Python program.")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a script or module under holter",
                         usage="holter run [options] (script.py | -m module) [args...]")
    run.add_argument("-m", dest="module", metavar="MODULE", help="run a library module as a script")
    run.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1)")
    run.add_argument("--port", type=int, default=9999, help="port (default 9999; 0 picks a free one)")
    run.add_argument("--token", help="access token (generated if the host is not loopback)")
    run.add_argument("--all", action="store_true", help="trace every file, not just the script")
    run.add_argument("--path-contains", action="append", default=[], metavar="TEXT",
                     help="also trace files whose path contains TEXT (repeatable)")
    run.add_argument("--sample", action="store_true",
                     help="profile with the stack sampler (no line counting: production mode)")
    run.add_argument("--interval", type=float, default=0.01,
                     help="seconds between samples with --sample (default 0.01)")
    run.add_argument("--mode", choices=("wall", "cpu"), default="wall",
                     help="--sample: every thread (wall) or threads on a CPU (cpu)")
    run.add_argument("--browser", action="store_true", help="open the page in a browser")
    run.add_argument("--wait", action="store_true",
                     help="keep serving after the program ends, until Ctrl-C")
    run.add_argument("--quiet", action="store_true", help="do not print the URL")
    run.add_argument("args", nargs=argparse.REMAINDER, help="the script and its arguments")
    exp = sub.add_parser("export", help="save the profile of a running holter",
                         description="Fetch a profile from a running holter's page URL.")
    exp.add_argument("url", help="the URL holter printed (with its ?token= if any)")
    exp.add_argument("format", choices=("folded", "speedscope", "pprof", "liveprofiler", "nylas"))
    exp.add_argument("-o", "--output", default="-", help="file to write (default: stdout)")
    exp.add_argument("--window", type=float, default=0, help="last seconds only (default: all)")
    exp.add_argument("--thread", type=int, help="one thread's ident only")
    exp.add_argument("--reset", action="store_true", help="clear the profile after reading")
    return p


def _export(opts: argparse.Namespace) -> int:
    """`holter export URL FORMAT`: the HTTP API's export, saved to a file."""
    import urllib.error
    import urllib.parse
    import urllib.request
    base, _, query = opts.url.partition("?")
    params = dict(urllib.parse.parse_qsl(query))
    params["window"] = str(opts.window)
    if opts.thread is not None:
        params["thread"] = str(opts.thread)
    if opts.reset:
        params["reset"] = "1"
    url = base.split("#")[0].rstrip("/") + f"/api/profile/{opts.format}?" + urllib.parse.urlencode(params)
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            body = r.read()
    except (urllib.error.URLError, OSError) as e:
        print(f"holter export: {e}", file=sys.stderr)
        return 1
    if opts.output == "-":
        sys.stdout.buffer.write(body)
    else:
        with open(opts.output, "wb") as f:
            f.write(body)
    return 0


def _file_filter(opts: argparse.Namespace) -> _files.FileFilter:
    if opts.all:
        return _files.all
    marked, contains = _files.marked, _files.path_contains(*opts.path_contains)
    if opts.path_contains:
        return lambda path: contains(path) or marked(path)
    return marked


def _user_traceback(tb: TracebackType | None) -> TracebackType | None:
    """Drops the frames down to _run's, so a traceback reads as it would
    without holter (with runpy's frames under -m, as `python -m` shows)."""
    t = tb
    while t is not None:
        if t.tb_frame.f_code is _run.__code__:
            return t.tb_next
        t = t.tb_next
    return tb


def _new_main(path: str | None) -> types.ModuleType:
    """A fresh __main__ module, as Python makes it, installed for good in
    sys.modules: atexit handlers and pickle look the program up there."""
    main = types.ModuleType("__main__")
    main.__builtins__ = builtins
    if sys.version_info < (3, 14):
        main.__annotations__ = {}
    if path is not None:                # a script; -m fills in the rest
        main.__file__ = path
        main.__cached__ = None
        main.__loader__ = importlib.machinery.SourceFileLoader("__main__", path)
    sys.modules["__main__"] = main
    return main


def _target(opts: argparse.Namespace) -> tuple[str, list[str]]:
    """The file to trace and the program's sys.argv; sets sys.path[0]."""
    if opts.module:
        try:
            spec = importlib.util.find_spec(opts.module)
        except (ImportError, ValueError):
            spec = None
        if spec is None:
            raise _UsageError(f"holter: no module named {opts.module}")
        origin = spec.origin or ""
        if spec.submodule_search_locations is not None:     # a package: its __main__
            main_spec = importlib.util.find_spec(opts.module + ".__main__")
            origin = main_spec.origin if main_spec and main_spec.origin else origin
        sys.path[0] = os.getcwd()
        return os.path.abspath(origin), [origin, *opts.args]
    if not opts.args:
        raise _UsageError("holter run: give a script, or -m module")
    script = opts.args[0]
    if not os.path.isfile(script):
        raise _UsageError(f"holter: can't open file {script!r}: no such file")
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    return os.path.abspath(script), list(opts.args)


def _run(opts: argparse.Namespace) -> int:
    try:
        path, argv = _target(opts)
    except _UsageError as e:
        print(e, file=sys.stderr)
        return 2
    sys.argv = argv
    if opts.sample:
        _sampling.start(opts.interval, opts.mode, host=opts.host, port=opts.port,
                        token=opts.token, quiet=opts.quiet, _main_file=path)
    else:
        _session.start(_file_filter(opts), {path}, opts.host, opts.port, opts.browser,
                       opts.token, opts.quiet)
    try:
        if opts.module:
            _new_main(None)
            # What `python -m` runs (private, but the only way to match it).
            runpy._run_module_as_main(opts.module, alter_argv=False)
        else:
            main = _new_main(path)
            with io.open_code(path) as f:
                code = compile(f.read(), path, "exec")
            exec(code, main.__dict__)
    except SystemExit:
        raise                                   # Python turns it into the exit status
    except BaseException:
        # Let Python end the program as it would without holter: print the
        # traceback, run atexit handlers, flush stdout, exit 1 (or die of
        # SIGINT for Ctrl-C). Only the traceback is trimmed, on its way to
        # sys.excepthook, which reads value.__traceback__.
        hook = sys.excepthook

        def excepthook(tp: type[BaseException], value: BaseException,
                       tb: TracebackType | None) -> None:
            sys.excepthook = hook
            value.__traceback__ = _user_traceback(tb)
            hook(tp, value, value.__traceback__)
        sys.excepthook = excepthook
        raise
    finally:
        if opts.wait and (_session.current() is not None or _sampling.sampling()):
            print("holter: the program ended; serving until Ctrl-C", file=sys.stderr, flush=True)
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``holter`` command."""
    opts = _parser().parse_args(argv)
    if opts.command == "run":
        if opts.args and opts.args[0] == "--":
            opts.args = opts.args[1:]
        return _run(opts)
    if opts.command == "export":
        return _export(opts)
    return 2
