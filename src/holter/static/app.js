// app.js - the holter page: routing, polling, index view, header.
//
// Views by URL fragment: #/ (traced files), #/file/<id>, #/file/<id>/<line>,
// #/profile (the sampler's flame graph, profile.js).
// One serialized poll loop (the next poll is scheduled only after the
// previous one finished) asks, every 250 ms while the tab is visible:
// api/stacks always, plus api/files on the index or api/files/<id>/lines in
// a file view; api/sampler about once a second on the profile and file
// views (every 5 s elsewhere, for the header's "Profile" link), and while
// the sampler has samples, api/profile/lines?file=<path> in a file view
// (once a second) or what profile.js asks for on the profile view.
// Requests revalidate with the server's ETag (the browser sends
// If-None-Match and gets 304), and a body whose ETag we already rendered is
// not even parsed, so an idle program costs next to nothing on both sides.
// JSON shapes: docs/http-api.md. All URLs are relative, so the page works
// under a path prefix.

import { FileView, prepareSource } from "./fileview.js";
import { ProfileView } from "./profile.js";
import { StacksPanel, shortName } from "./stacks.js";
import { escapeHtml } from "./highlight.js";

const POLL_MS = 250;        // normal poll period
const RETRY_MS = 2000;      // period while disconnected or refused
const STATUS_MS = 5000;     // how often to refresh the header's status line
const SAMPLER_MS = 1000;    // api/sampler on the profile and file views
const SAMPLER_IDLE_MS = 5000; // api/sampler elsewhere
const SAMPLES_MS = 1000;    // api/profile/lines in a file view

const $ = (id) => document.getElementById(id);
const viewEl = $("view");
const crumbEl = $("crumb");
const statusEl = $("status-info");
const connEl = $("conn");
const navProfile = $("nav-profile");
const stacksEl = $("stacks");
const stacks = new StacksPanel($("stacks-body"), $("stacks-summary"));

// A token in the page URL is also sent as a header, in case the cookie the
// server sets with it was refused.
const pageToken = new URLSearchParams(location.search).get("token");
const reqHeaders = pageToken ? { "X-Holter-Token": pageToken } : {};

class FetchError extends Error {
  /** kind: "network" (server gone), "token" (403), "http" (other status). */
  constructor(kind, status, message) {
    super(message);
    this.kind = kind;
    this.status = status;
  }
}

const etags = new Map();    // url -> ETag of the body last applied

/**
 * GET a JSON route. Resolves to null when the body's ETag is the one last
 * applied for this url (nothing to do), otherwise to {data, commit}: call
 * commit() once the data is applied, so a body dropped because the view
 * changed is not taken as seen. `force` parses even an unchanged body.
 */
async function getJSON(url, force = false) {
  let resp;
  try {
    resp = await fetch(url, { cache: "no-cache", headers: reqHeaders });
  } catch (e) {
    throw new FetchError("network", 0, "disconnected");
  }
  if (resp.status === 304) return null;
  if (resp.status === 403) throw new FetchError("token", 403, "missing or wrong token");
  if (!resp.ok) {
    let msg = `HTTP ${resp.status}`;
    try { msg = (await resp.json()).error || msg; } catch (e) { /* not JSON */ }
    throw new FetchError("http", resp.status, msg);
  }
  const etag = resp.headers.get("ETag");
  if (!force && etag && etags.get(url) === etag) {
    resp.body?.cancel().catch(() => {});
    return null;
  }
  let data;
  try {
    data = await resp.json();
  } catch (e) {
    throw new FetchError("network", 0, "disconnected");   // cut off mid-body
  }
  return { data, commit: () => { if (etag) etags.set(url, etag); } };
}

// ---------------------------------------------------------------- state

let route = { kind: "index" };   // parsed fragment
let routeSeq = 0;                // bumped on every navigation
let viewState = "idle";          // file view: loading | ready | missing | error
let fileView = null;             // FileView of the open file, once loaded
let indexView = null;            // {tbody, rows, order, empty} on the index
let filesMeta = null;            // Map id -> /api/files entry, file order
let filesByPath = new Map();     // path -> id, from the same body
let profileView = null;          // ProfileView, built at the first visit and kept
let sampler;                     // last api/sampler body; null: no sampler routes; undefined: not asked yet
let samplerAt = 0;               // Date.now() of the last api/sampler poll
let samplesAt = 0;               // ... of the last api/profile/lines poll
const sources = new Map();       // id -> prepared source, or null if none
let lastStacks = null;           // last /api/stacks body
let knownPid = null;             // pid of the program we are showing
let lastStatusAt = 0;
let conn = "ok";                 // ok | network | token | http

function parseHash() {
  const m = /^#\/file\/(\d+)(?:\/(\d+))?\/?$/.exec(location.hash);
  if (m) return { kind: "file", id: Number(m[1]), line: m[2] ? Number(m[2]) : null };
  if (/^#\/profile\/?$/.test(location.hash)) return { kind: "profile" };
  return { kind: "index" };
}

function onRoute() {
  const r = parseHash();
  if (r.kind === "file" && route.kind === "file" && r.id === route.id && fileView) {
    route = r;                   // same file: just move to the line
    if (r.line) fileView.gotoLine(r.line);
    else fileView.clearTarget();
    return;
  }
  route = r;
  routeSeq++;
  fileView = null;
  indexView = null;
  viewEl.scrollTop = 0;
  navProfile.classList.toggle("current", r.kind === "profile");
  if (r.kind === "index") {
    showIndex();
  } else if (r.kind === "profile") {
    showProfile();
  } else {
    viewState = "idle";
    crumbEl.textContent = `file ${r.id}`;
    viewEl.innerHTML = '<p class="notice">loading…</p>';
    loadFile(r, routeSeq);
  }
  stacks.update(null, r.kind === "file" ? r.id : null);
  kick();
}

// ---------------------------------------------------------------- index

function showIndex() {
  document.title = "holter";
  crumbEl.textContent = "";
  viewEl.innerHTML =
    '<h1 class="view-title">Traced files</h1>' +
    '<table class="files"><thead><tr><th>file</th><th>directory</th>' +
    '<th class="num">lines</th><th class="num">hits</th></tr></thead><tbody></tbody></table>' +
    '<p class="empty" hidden>No traced files yet: they appear once the program runs code from them.</p>';
  indexView = {
    tbody: viewEl.querySelector("tbody"),
    empty: viewEl.querySelector(".empty"),
    rows: new Map(),             // id -> {hits, lines, hitsVal, linesVal}
    order: null,
  };
  etags.delete("api/files");     // the fresh table needs a body
  if (filesMeta) renderIndex([...filesMeta.values()]);
}

function dirName(path) {
  const i = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  return i > 0 ? path.slice(0, i) : "";
}

function renderIndex(files) {
  const v = indexView;
  const order = files.map((f) => `${f.id}:${f.path}`).join("\n");
  if (order !== v.order) {       // files added: rebuild (rare)
    v.tbody.innerHTML = files.map((f) =>
      `<tr data-file-id="${f.id}"><td><a class="file-link" data-file-id="${f.id}" ` +
      `href="#/file/${f.id}" title="${escapeHtml(f.path)}">${escapeHtml(f.name || shortName(f.path))}</a>` +
      (f.has_source ? "" : ' <span class="tag" title="source not available">no source</span>') +
      `</td><td class="dir" title="${escapeHtml(f.path)}">${escapeHtml(dirName(f.path))}</td>` +
      `<td class="num lines"></td><td class="num file-hits"></td></tr>`).join("");
    v.rows.clear();
    for (const tr of v.tbody.rows) {
      v.rows.set(Number(tr.dataset.fileId),
        { lines: tr.cells[2], hits: tr.cells[3], hitsVal: null, linesVal: null });
    }
    v.order = order;
    v.empty.hidden = files.length > 0;
  }
  for (const f of files) {
    const r = v.rows.get(f.id);
    if (r.hitsVal !== f.hits) { r.hits.textContent = String(f.hits); r.hitsVal = f.hits; }
    if (r.linesVal !== f.lines) { r.lines.textContent = String(f.lines); r.linesVal = f.lines; }
  }
}

// ---------------------------------------------------------------- profile

function showProfile() {
  document.title = "Profile — holter";
  crumbEl.textContent = "";      // the header's "Profile" link shows where we are
  if (!profileView) {
    profileView = new ProfileView({
      getJSON, headers: reqHeaders, token: pageToken, kick,
      refreshFiles, fileHref,
    });
  }
  if (sampler !== undefined) profileView.setSampler(sampler);
  profileView.attach(viewEl);
}

/** "#/file/<id>/<line>" if `path` is a traced file, else null. */
function fileHref(path, line) {
  const id = filesByPath.get(path);
  if (id === undefined) return null;
  return line ? `#/file/${id}/${line}` : `#/file/${id}`;
}

/** Poll api/files for the profile view's links; true if the list changed. */
async function refreshFiles() {
  const res = await getJSON("api/files");
  if (!res) return false;
  const before = [...filesByPath.keys()].join("\n");
  setFilesMeta(res.data.files);
  res.commit();
  return [...filesByPath.keys()].join("\n") !== before;
}

// ---------------------------------------------------------------- file view

async function loadFile(r, seq) {
  viewState = "loading";
  try {
    if (!filesMeta || !filesMeta.has(r.id)) {
      const res = await getJSON("api/files", true);
      setFilesMeta(res.data.files);
    }
    if (seq !== routeSeq) return;
    const meta = filesMeta.get(r.id) || null;
    if (!sources.has(r.id)) {
      let src = null;
      try {
        src = prepareSource((await getJSON(`api/files/${r.id}/source`, true)).data);
      } catch (e) {
        if (!(e.kind === "http" && e.status === 404 && meta)) throw e;
        // Known file without source: rows from its line count, counts only.
      }
      if (!meta && !src) throw new FetchError("http", 404, "not found");
      sources.set(r.id, src);
    }
    if (seq !== routeSeq) return;
    const src = sources.get(r.id);
    const name = meta ? meta.name : src ? shortName(src.path) : `file ${r.id}`;
    document.title = `${name} — holter`;
    crumbEl.innerHTML = `<span class="sep">/</span> <span title="${escapeHtml(src ? src.path : meta.path)}">${escapeHtml(name)}</span>`;
    fileView = new FileView(viewEl, r.id, meta, src);
    viewState = "ready";
    etags.delete(`api/files/${r.id}/lines`);
    samplesAt = 0;               // samples column, if any, on the next poll
    if (lastStacks) fileView.applyStacks(lastStacks);
    if (route.line) fileView.gotoLine(route.line);
    kick();
  } catch (e) {
    if (seq !== routeSeq) return;
    if (e.kind === "http" && e.status === 404) {
      viewState = "missing";
      viewEl.innerHTML = `<p class="notice">No traced file with id ${r.id}. <a href="#/">All files</a></p>`;
    } else {
      viewState = "error";       // retried by the poll loop
      viewEl.innerHTML = `<p class="notice">${escapeHtml(e.message)}; retrying…</p>`;
      setConn(e);
    }
  }
}

function setFilesMeta(files) {
  filesMeta = new Map(files.map((f) => [f.id, f]));
  filesByPath = new Map(files.map((f) => [f.path, f.id]));
}

// ---------------------------------------------------------------- polling

async function pollStacks() {
  const res = await getJSON("api/stacks");
  if (!res) return;
  lastStacks = res.data;
  stacks.update(res.data, route.kind === "file" ? route.id : null);
  if (fileView) fileView.applyStacks(res.data);
  res.commit();
}

async function pollFiles(seq) {
  const res = await getJSON("api/files");
  if (!res || seq !== routeSeq || !indexView) return;
  setFilesMeta(res.data.files);
  renderIndex(res.data.files);
  res.commit();
}

async function pollLines(fv) {
  const res = await getJSON(`api/files/${fv.id}/lines`);
  if (!res || fv !== fileView) return;
  fv.applyLines(res.data);
  res.commit();
}

function samplerHasData() {
  return !!(sampler && (sampler.running || sampler.samples > 0));
}

// api/sampler has no ETag (it changes all the time) and is small. A 404
// means a server without the sampler routes: not an error for the page.
async function pollSampler() {
  samplerAt = Date.now();
  let s;
  try {
    s = (await getJSON("api/sampler", true)).data;
  } catch (e) {
    if (!(e.kind === "http" && e.status === 404)) throw e;
    s = null;
  }
  sampler = s;
  const on = !!(s && s.running);
  navProfile.classList.toggle("live", on);
  navProfile.title = on ? `stack sampler running (${s.mode}): flame graph`
    : samplerHasData() ? "stack sampler stopped: flame graph of its samples"
    : "flame graph of the stack sampler (not running)";
  if (profileView) profileView.setSampler(s);
}

async function pollSamples(fv) {
  samplesAt = Date.now();
  if (!samplerHasData() || !fv.path) {
    fv.applySamples(null);
    return;
  }
  const url = `api/profile/lines?file=${encodeURIComponent(fv.path)}`;
  let res;
  try {
    res = await getJSON(url, !fv.samplesShown);
  } catch (e) {
    if (!(e.kind === "http" && e.status === 404)) throw e;
    res = { data: { path: fv.path, lines: [] }, commit() {} };   // no samples in this file
  }
  if (!res || fv !== fileView) return;
  fv.applySamples(res.data);
  res.commit();
}

async function pollStatus() {
  const res = await getJSON("api/status", true);
  if (!res) return;
  const s = res.data;
  lastStatusAt = Date.now();
  if (knownPid !== null && s.pid !== knownPid) {
    // Another program now answers at this address: nothing we hold is valid.
    knownPid = s.pid;
    sources.clear();
    etags.clear();
    filesMeta = null;
    filesByPath = new Map();
    lastStacks = null;
    sampler = undefined;
    samplerAt = 0;
    profileView?.forget();
    route = { kind: "none" };
    onRoute();
  }
  knownPid = s.pid;
  const parts = [`Python ${s.python}`, s.hook, `pid ${s.pid}`];
  let html = parts.map(escapeHtml).join(" · ");
  if (!s.tracing) html += ' · <span class="warn">not tracing</span>';
  if (s.hook_errors) html += ` · <span class="warn">${Number(s.hook_errors)} hook errors</span>`;
  if (statusEl.innerHTML !== html) statusEl.innerHTML = html;
  statusEl.title = `holter ${s.holter}, ${s.files} files, ` +
    `${Number(s.line_events).toLocaleString("en-US")} line events, up ${Math.round(s.uptime_s)} s`;
}

function setConn(err) {
  const kind = err ? err.kind : "ok";
  const text = kind === "network" ? "disconnected — retrying"
    : kind === "token" ? "missing or wrong token — open the URL holter printed"
    : kind === "http" ? `server error: ${err.message}` : "";
  if (kind === conn && connEl.textContent === text) return;
  const wasDown = conn === "network" || conn === "token";
  conn = kind;
  connEl.textContent = text;
  connEl.className = kind;
  connEl.hidden = kind === "ok";
  document.body.classList.toggle("offline", kind === "network" || kind === "token");
  if (kind === "ok" && wasDown) lastStatusAt = 0;   // refresh status now
}

let timer = null;
let inFlight = false;
let again = false;

/** Poll now (or right after the poll in flight). */
function kick() {
  if (inFlight) { again = true; return; }
  clearTimeout(timer);
  timer = null;
  tick();
}

async function tick() {
  timer = null;
  if (document.hidden) return;   // visibilitychange kicks us again
  inFlight = true;
  let delay = POLL_MS;
  try {
    const seq = routeSeq;
    if (route.kind === "file" && viewState === "error") loadFile(route, seq);
    const jobs = [pollStacks()];
    const now = Date.now();
    const samplerDue = now - samplerAt >= (route.kind === "index" ? SAMPLER_IDLE_MS : SAMPLER_MS);
    if (route.kind === "index") jobs.push(pollFiles(seq));
    else if (fileView) jobs.push(pollLines(fileView));
    if (route.kind === "profile" && profileView) {
      // The sampler's state decides what the view asks for: first, then the rest.
      const pv = profileView;
      jobs.push((async () => {
        if (samplerDue || sampler === undefined) await pollSampler();
        if (pv === profileView && route.kind === "profile") await pv.poll();
      })());
    } else if (samplerDue) {
      jobs.push(pollSampler());
    }
    if (fileView && now - samplesAt >= SAMPLES_MS) jobs.push(pollSamples(fileView));
    if (Date.now() - lastStatusAt > STATUS_MS) jobs.push(pollStatus());
    const results = await Promise.allSettled(jobs);
    const failed = results.find((x) => x.status === "rejected");
    if (failed) {
      const e = failed.reason;
      if (!(e instanceof FetchError)) console.error("holter:", e);
      setConn(e instanceof FetchError ? e : new FetchError("http", 0, String(e)));
      delay = RETRY_MS;
    } else {
      setConn(null);
    }
  } finally {
    inFlight = false;
    if (again) { again = false; delay = 0; }
    if (!document.hidden) timer = setTimeout(tick, delay);
  }
}

// ---------------------------------------------------------------- wiring

window.addEventListener("hashchange", onRoute);
document.addEventListener("visibilitychange", () => { if (!document.hidden) kick(); });

// A click on a link to the line already in the URL fires no hashchange:
// go to (and flash) the line anyway.
document.addEventListener("click", (ev) => {
  const a = ev.target.closest && ev.target.closest('a[href^="#/file/"]');
  if (a && a.getAttribute("href") === location.hash && fileView) {
    ev.preventDefault();
    const r = parseHash();
    if (r.line) fileView.gotoLine(r.line);
  }
});

const toggle = $("stacks-toggle");
function setStacksOpen(open) {
  stacksEl.classList.toggle("collapsed", !open);
  toggle.setAttribute("aria-expanded", String(open));
  toggle.textContent = open ? "▾" : "▸";
  try { localStorage.setItem("holter.stacks", open ? "1" : "0"); } catch (e) { /* private mode */ }
}
toggle.addEventListener("click", () => setStacksOpen(stacksEl.classList.contains("collapsed")));
let stacksPref = null;
try { stacksPref = localStorage.getItem("holter.stacks"); } catch (e) { /* private mode */ }
if (stacksPref === "0") setStacksOpen(false);

onRoute();
