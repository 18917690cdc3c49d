"""Builds holter's C core (holter._core). Metadata lives in pyproject.toml.

The core links libmicrohttpd (Debian: libmicrohttpd-dev), the HTTP server
that runs in a native thread. HOLTER_CFLAGS adds flags, e.g. sanitizers.
"""
import os
import tomllib
from glob import glob

from setuptools import Extension, setup

CORE = "src/holter/_core"
with open("pyproject.toml", "rb") as f:
    VERSION = tomllib.load(f)["project"]["version"]

extra = ["-std=c11", "-O2", "-fvisibility=hidden", "-Wall", "-Wextra",
         "-Wno-missing-field-initializers", "-Wno-unused-parameter"]
if os.environ.get("HOLTER_WERROR"):
    extra.append("-Werror")
extra += os.environ.get("HOLTER_CFLAGS", "").split()

setup(
    ext_modules=[
        Extension(
            "holter._core",
            sources=sorted(glob(f"{CORE}/*.c")),
            depends=glob(f"{CORE}/*.h"),
            define_macros=[("HOLTER_VERSION", f'"{VERSION}"')],
            libraries=["microhttpd", "pthread"],
            extra_compile_args=extra,
            extra_link_args=os.environ.get("HOLTER_LDFLAGS", "").split(),
        )
    ]
)
