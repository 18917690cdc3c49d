"""Which files holter traces, in addition to the file that called trace().

Each filter is a callable taking a file path and returning True to trace it,
as in heartrate::

    import holter
    holter.trace(files=holter.files.path_contains("my_app", "my_library"))

A filter that raises counts as False. Results are cached per path.
"""
from __future__ import annotations

import re
from typing import Callable

from holter._source import MAX_SOURCE_BYTES, read_head

FileFilter = Callable[[str], bool]


def all(path: str) -> bool:  # noqa: A001 - the name heartrate users know
    """Trace every file: ``holter.trace(files=holter.files.all)``."""
    return True


def path_contains(*substrings: str) -> FileFilter:
    """Trace files whose path contains any of `substrings`.

    >>> holter.trace(files=holter.files.path_contains("my_app"))
    """
    def matches(path: str) -> bool:
        return any(s in path for s in substrings)
    return matches


def contains_regex(pattern: str | re.Pattern[str]) -> FileFilter:
    """Trace files whose *contents* match the regex `pattern`, so a file can
    opt in with a comment.

    >>> holter.trace(files=holter.files.contains_regex(r"#\\s*trace-me"))
    """
    regex = re.compile(pattern) if isinstance(pattern, str) else pattern

    def matches(path: str) -> bool:
        raw = read_head(path, MAX_SOURCE_BYTES)
        return raw is not None and regex.search(raw.decode("utf-8", "replace")) is not None
    return matches


#: The default: files marked with a ``# holter`` comment (spaces optional).
marked: FileFilter = contains_regex(r"#\s*holter\b")
