#!/usr/bin/env bash
# Installs everything holter needs on a fresh Debian machine, idempotently
# and quietly: system packages (apt-get), one virtualenv per supported
# CPython (pyenv) with holter built and installed into it, and test tools.
#
#   scripts/setup.sh            runtime only (libmicrohttpd, the venvs)
#   scripts/setup.sh --test     also the test tools (chromium, playwright, ...)
#
# Prints nothing when there is nothing to do. PYTHONS overrides the list of
# CPython versions (default: every 3.11/3.12/3.13 that pyenv has).
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[[ "${1:-}" == "--test" ]] && want_test=1

apt_packages=(libmicrohttpd-dev pkg-config gcc)
((want_test)) && apt_packages+=(chromium)
missing=()
for p in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The CPython versions to support, newest patch release pyenv has of each.
if [[ -z "${PYTHONS:-}" ]]; then
    root="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"
    PYTHONS=""
    for minor in 3.11 3.12 3.13; do
        best=$(ls -d "$root"/versions/"$minor".* 2>/dev/null | grep -E "/$minor\.[0-9]+$" | sort -V | tail -n 1 || true)
        [[ -n "$best" ]] && PYTHONS+="$best/bin/python "
    done
fi
[[ -n "$PYTHONS" ]] || { echo "setup: no CPython 3.11-3.13 found under pyenv" >&2; exit 1; }

test_reqs=(pytest pytest-timeout playwright heartrate flask starlette uvicorn httpx gunicorn python-fasthtml uwsgi jsonschema)
stamp_src=$(cat pyproject.toml setup.py src/holter/_core/*.[ch] | sha1sum | cut -c1-12)
for py in $PYTHONS; do
    minor=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    venv=".venv/$minor"
    [[ -x "$venv/bin/python" ]] || "$py" -m venv "$venv"
    stamp="$venv/.holter-build-$stamp_src"
    if [[ ! -e "$stamp" ]]; then
        echo "setup: building holter for Python $minor" >&2
        "$venv/bin/python" -m pip install -q --disable-pip-version-check setuptools wheel
        HOLTER_WERROR=1 "$venv/bin/python" -m pip install -q --disable-pip-version-check \
            --no-build-isolation -e . >/dev/null
        rm -f "$venv"/.holter-build-*
        touch "$stamp"
    fi
    deps_stamp="$venv/.holter-test-deps-$(echo "${test_reqs[*]}" | sha1sum | cut -c1-12)"
    if ((want_test)) && [[ ! -e "$deps_stamp" ]]; then
        "$venv/bin/python" -m pip install -q --disable-pip-version-check "${test_reqs[@]}"
        rm -f "$venv"/.holter-test-deps*
        touch "$deps_stamp"
    fi
done
