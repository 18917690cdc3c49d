"""Reading the source of traced files, safely.

Only regular files are opened (a FIFO or device named as a code object's
file would block or never end), at most MAX_SOURCE_BYTES are kept, and text
is decoded the way Python decodes source (PEP 263 coding cookie, BOM) and
handed to the C core as UTF-8.
"""
from __future__ import annotations

import io
import os
import stat
import tokenize

MAX_SOURCE_BYTES = 8 << 20   # larger files are traced without their source


def read_head(path: str, limit: int) -> bytes | None:
    """The first `limit` bytes of the regular file `path`, or None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except (OSError, ValueError):
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read(limit + 1)
    except (OSError, ValueError):
        return None
    finally:
        os.close(fd)


def read_source(path: str) -> bytes | None:
    """The source of `path` as UTF-8 bytes, or None if it is not a readable
    regular file, is larger than MAX_SOURCE_BYTES, or is not text."""
    raw = read_head(path, MAX_SOURCE_BYTES)
    if raw is None or len(raw) > MAX_SOURCE_BYTES or b"\0" in raw:
        return None
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
        text = raw.decode(encoding, "replace")
    except (SyntaxError, LookupError):
        return None
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.encode("utf-8", "surrogatepass")
