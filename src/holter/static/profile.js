// profile.js - the #/profile view: the stack sampler's live flame graph,
// its top functions, and the controls around them.
//
// Reads (docs/http-api.md, "The stack sampler (profiles)"):
//   api/sampler            health, about once a second (no ETag)
//   api/profile            the tree, about once a second, ETag-aware
//   api/profile/top        functions by self samples, with the tree
//   api/profile/threads    the thread filter's choices, every 2 s
// each with the current `window`, `thread` and `idle` query parameters,
// and POSTs api/profile/reset. app.js owns the poll loop and calls poll()
// on each turn while this view is shown; poll() decides what is due.
// A body whose ETag was already drawn is not parsed (getJSON in app.js);
// after a change of window or thread the first body is always drawn.
//
// The view is built once and kept while the user visits other views, so
// zoom, search, thread and window survive a trip to a file and back.
// DOM hooks used by tests/test_browser_profile.py: #flame, #flame-search,
// #flame-thread, #flame-window, #flame-pause, #flame-reset, tr.top-row
// [data-name], #flame-tooltip, #sampler-health, window.holterFlame.

import { FlameGraph, ROW_H, fmtInt, pct } from "./flame.js";
import { escapeHtml } from "./highlight.js";
import { shortName } from "./stacks.js";

const PROFILE_MS = 1000;    // tree and top table
const THREADS_MS = 2000;    // thread list
const FILES_MS = 5000;      // api/files, to link file:line to traced files
const TOP_ROWS = 200;       // rows of the top table (the server's default limit)
const EXPORTS = [           // [route, label, download name]
  ["folded", "folded", "profile.folded.txt"],
  ["speedscope", "speedscope", "profile.speedscope.json"],
  ["pprof", "pprof", "profile.pb"],
  ["liveprofiler", "liveprofiler", "profile.liveprofiler.json"],
  ["nylas", "nylas", "profile.nylas.txt"],
];

export class ProfileView {
  /**
   * @param {object} env  getJSON(url, force) and FetchError from app.js;
   *   headers: extra request headers (the page's token); token: the page's
   *   token or null (added to export links, which cannot send headers);
   *   refreshFiles(): polls api/files; fileHref(path, line): "#/file/..."
   *   for a traced file, else null; kick(): poll now.
   */
  constructor(env) {
    this.env = env;
    this.windowS = 0;            // seconds, 0 = everything
    this.thread = "";            // thread id as text, "" = all threads
    this.idle = true;            // keep idle samples (wall mode)
    this.paused = false;
    this.dirty = true;           // parameters changed: fetch now, even when paused
    this.sampler = undefined;    // last api/sampler body; null = no sampler routes
    this.shown = { profile: null, top: null, threads: null };  // URL of the body drawn
    this.due = { profile: 0, threads: 0, files: 0 };           // next poll, Date.now() ms
    this.topRows = [];           // [{tr, key}] reused row by row
    this.topData = null;         // last api/profile/top body
    this.threads = [];           // last api/profile/threads list
    this.profile = null;         // last api/profile body drawn
    this.build();
    this.flame = new FlameGraph(this.canvas, { onChange: () => this.onFlameChange() });
    this.wire();
    const flame = this.flame;
    // Read-only hook for tests (tests/test_browser_profile.py).
    window.holterFlame = Object.freeze({
      nodeAt(x, y) {
        const i = flame.indexAt(x, y);
        if (i < 0) return null;
        const d = flame.info(i);
        return { name: d.name, file: d.file, value: d.value };
      },
      zoomedPath: () => flame.zoomedPath(),
      matchedCount: () => flame.matchCount,
    });
  }

  build() {
    const el = document.createElement("div");
    el.className = "profile";
    el.innerHTML = `
<div class="prof-bar" role="toolbar" aria-label="profile controls">
  <label>window <select id="flame-window">
    <option value="10">last 10 s</option>
    <option value="60">last minute</option>
    <option value="0" selected>everything</option>
  </select></label>
  <label>thread <select id="flame-thread"><option value="">all threads</option></select></label>
  <label class="idle-opt" title="keep samples where the thread was idle (waiting on I/O, a lock, sleep)">
    <input type="checkbox" id="flame-idle" checked> idle</label>
  <span class="search-box"><input id="flame-search" type="search" placeholder="search functions or files  /"
     autocomplete="off" spellcheck="false" aria-label="search functions or files"></span>
  <span id="flame-match" aria-live="polite"></span>
  <span class="spacer"></span>
  <button id="flame-pause" type="button" aria-pressed="false" title="stop updating; keep this picture">Pause</button>
  <button id="flame-reset" type="button" title="clear all samples in the program (POST api/profile/reset)">Reset</button>
  <span class="exports">export ${EXPORTS.map(([r, label, file]) =>
    `<a data-export="${r}" download="${file}" href="api/profile/${r}">${label}</a>`).join(" ")}</span>
</div>
<div id="sampler-health" role="status"></div>
<div class="sampler-off" hidden></div>
<div class="flame-area">
  <nav class="flame-crumbs" aria-label="zoom"></nav>
  <div class="flame-wrap"><canvas id="flame" tabindex="0"
     aria-label="flame graph: arrow keys move, Enter zooms, Escape zooms out"></canvas></div>
  <p class="flame-legend">root at the top, callees below · width = samples ·
    warm colours by file, <span class="idle-swatch">blue-grey</span> = idle share ·
    click to zoom, <kbd>Esc</kbd> to zoom out, <kbd>/</kbd> to search</p>
  <h2 class="view-title">Top functions <span class="sub">by self samples</span></h2>
  <table class="top"><thead><tr><th>function</th><th>location</th>
    <th class="num">self</th><th class="num">self %</th><th class="num">total</th><th class="num">total %</th>
  </tr></thead><tbody></tbody></table>
  <p class="empty top-empty" hidden>no samples in this window</p>
</div>
<div id="flame-tooltip" role="tooltip" hidden></div>`;
    const q = (sel) => el.querySelector(sel);
    this.el = el;
    this.canvas = q("#flame");
    this.wrap = q(".flame-wrap");
    this.tooltip = q("#flame-tooltip");
    this.search = q("#flame-search");
    this.matchEl = q("#flame-match");
    this.threadSel = q("#flame-thread");
    this.windowSel = q("#flame-window");
    this.idleBox = q("#flame-idle");
    this.pauseBtn = q("#flame-pause");
    this.resetBtn = q("#flame-reset");
    this.health = q("#sampler-health");
    this.offEl = q(".sampler-off");
    this.area = q(".flame-area");
    this.crumbs = q(".flame-crumbs");
    this.tbody = q("table.top tbody");
    this.topEmpty = q(".top-empty");
    this.exportLinks = [...el.querySelectorAll("a[data-export]")];
    this.updateExports();
  }

  wire() {
    const f = this.flame;
    this.windowSel.addEventListener("change", () => {
      this.windowS = Number(this.windowSel.value) || 0;
      this.paramsChanged();
    });
    this.threadSel.addEventListener("change", () => {
      this.thread = this.threadSel.value;
      this.paramsChanged();
    });
    this.idleBox.addEventListener("change", () => {
      this.idle = this.idleBox.checked;
      this.paramsChanged();
    });
    this.search.addEventListener("input", () => {
      f.setSearch(this.search.value);
      this.markTopSelection();
    });
    this.search.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape") {
        this.search.value = "";
        f.setSearch("");
        this.canvas.focus();
      } else if (ev.key === "Enter" || ev.key === "ArrowDown") {
        ev.preventDefault();
        this.canvas.focus();
      }
    });
    this.pauseBtn.addEventListener("click", () => this.setPaused(!this.paused));
    this.resetBtn.addEventListener("click", () => this.reset());

    // Pointer: tooltip on hover, zoom on click.
    let pending = null;
    this.canvas.addEventListener("mousemove", (ev) => {
      if (!pending) requestAnimationFrame(() => { this.hoverAt(pending); pending = null; });
      pending = ev;
    });
    this.canvas.addEventListener("mouseleave", () => { pending = null; this.hideTooltip(); });
    this.canvas.addEventListener("click", (ev) => {
      const { x, y } = this.local(ev);
      const i = f.indexAt(x, y);
      if (i < 0) return;
      f.focus = -1;
      f.zoomTo(i === f.zoom && i > 0 ? f.parent[i] : i);   // a click on the zoomed node zooms out
      this.hoverAt(ev);
    });
    this.canvas.addEventListener("keydown", (ev) => this.onKey(ev));
    this.canvas.addEventListener("blur", () => { f.clearFocus(); this.hideTooltip(); });
    this.crumbs.addEventListener("click", (ev) => {
      const b = ev.target.closest("button[data-index]");
      if (b) f.zoomTo(Number(b.dataset.index));
    });
    this.tbody.addEventListener("click", (ev) => {
      if (ev.target.closest("a")) return;          // file:line link: just follow it
      const tr = ev.target.closest("tr.top-row");
      if (tr) this.toggleHighlight(tr);
    });
    this.tbody.addEventListener("keydown", (ev) => {
      const tr = ev.target.closest("tr.top-row");
      if (tr && (ev.key === "Enter" || ev.key === " ") && ev.target === tr) {
        ev.preventDefault();
        this.toggleHighlight(tr);
      }
    });
    new ResizeObserver(() => this.flame.resize(this.wrap.clientWidth)).observe(this.wrap);
    // "/" anywhere in the view (not while typing) goes to the search box.
    this.el.addEventListener("keydown", (ev) => {
      if (ev.key === "/" && !/^(INPUT|SELECT|TEXTAREA)$/.test(ev.target.tagName)) {
        ev.preventDefault();
        this.search.focus();
        this.search.select();
      }
    });
  }

  /** Another program answers at this address: nothing drawn is current. */
  forget() {
    this.shown = { profile: null, top: null, threads: null };
    this.due = { profile: 0, threads: 0, files: 0 };
    this.sampler = undefined;
    this.threads = [];
    this.dirty = true;
  }

  /** Show the view in `container` (the page's #view). */
  attach(container) {
    container.replaceChildren(this.el);
    this.flame.resize(this.wrap.clientWidth);
    this.flame.schedule();
  }

  // ------------------------------------------------------------ parameters

  query() {
    const p = new URLSearchParams();
    p.set("window", String(this.windowS));
    if (this.thread) p.set("thread", this.thread);
    if (!this.idle) p.set("idle", "0");
    return p;
  }

  url(route) {
    return `api/${route}?${this.query()}`;
  }

  paramsChanged() {
    this.dirty = true;
    this.updateExports();
    this.env.kick();
  }

  updateExports() {
    const p = this.query();
    if (this.env.token) p.set("token", this.env.token);
    for (const a of this.exportLinks) a.setAttribute("href", `api/profile/${a.dataset.export}?${p}`);
  }

  setPaused(paused) {
    this.paused = paused;
    this.pauseBtn.textContent = paused ? "Resume" : "Pause";
    this.pauseBtn.setAttribute("aria-pressed", String(paused));
    this.pauseBtn.classList.toggle("on", paused);
    this.el.classList.toggle("paused", paused);
    this.renderHealth();
    if (!paused) this.env.kick();
  }

  async reset() {
    this.resetBtn.disabled = true;
    try {
      const resp = await fetch("api/profile/reset", {
        method: "POST", cache: "no-store",
        headers: { ...this.env.headers, "X-Holter-Action": "reset" },
      });
      if (!resp.ok) {
        let msg = `HTTP ${resp.status}`;
        try { msg = (await resp.json()).error || msg; } catch (e) { /* not JSON */ }
        this.flash(`reset failed: ${msg}`);
        return;
      }
      this.dirty = true;           // redraw even if paused: the old picture is gone
      this.due.threads = 0;
      this.env.kick();
    } catch (e) {
      this.flash("reset failed: disconnected");
    } finally {
      this.resetBtn.disabled = false;
    }
  }

  flash(text) {
    this.healthNote = text;
    this.renderHealth();
    clearTimeout(this.noteTimer);
    this.noteTimer = setTimeout(() => { this.healthNote = ""; this.renderHealth(); }, 5000);
  }

  // ------------------------------------------------------------ polling

  /** Called by app.js on each turn of its poll loop while the view shows. */
  async poll() {
    const now = Date.now();
    const s = this.sampler;
    const hasData = s && (s.running || s.samples > 0);
    const jobs = [];
    if (hasData && (this.dirty || (!this.paused && now >= this.due.profile))) {
      const force = this.dirty;
      this.dirty = false;
      this.due.profile = now + PROFILE_MS;
      jobs.push(this.pollProfile(force), this.pollTop(force));
      if (force) this.due.threads = 0;
    }
    if (hasData && now >= this.due.threads && (!this.paused || !this.threads.length)) {
      this.due.threads = now + THREADS_MS;
      jobs.push(this.pollThreads());
    }
    if (now >= this.due.files) {
      this.due.files = now + FILES_MS;
      jobs.push(this.env.refreshFiles().then((changed) => { if (changed) this.renderTop(true); }));
    }
    const results = await Promise.allSettled(jobs);
    const failed = results.find((r) => r.status === "rejected");
    if (failed) throw failed.reason;   // app.js shows it and retries; a URL not yet drawn is fetched in full
  }

  // The sampler's routes answer 404 until it has run: read that as "no
  // samples yet", not as an error.
  async get(url, force, empty) {
    try {
      return await this.env.getJSON(url, force);
    } catch (e) {
      if (e.kind === "http" && e.status === 404) return { data: empty, commit() {} };
      throw e;
    }
  }

  async pollProfile(force) {
    const url = this.url("profile");
    const res = await this.get(url, force || this.shown.profile !== url,
      { mode: "", total: 0, strings: ["all"], nodes: [[-1, 0, -1, 0, 0, 0, 0]] });
    if (!res) return;
    this.profile = res.data;
    this.shown.profile = url;
    this.flame.setData(res.data);
    this.area.hidden = false;
    res.commit();
  }

  async pollTop(force) {
    const url = `${this.url("profile/top")}&limit=${TOP_ROWS}`;
    const res = await this.get(url, force || this.shown.top !== url, { total: 0, functions: [] });
    if (!res) return;
    this.topData = res.data;
    this.shown.top = url;
    this.renderTop(false);
    res.commit();
  }

  async pollThreads() {
    // The list follows the window, never the thread filter itself.
    const p = new URLSearchParams({ window: String(this.windowS) });
    const url = `api/profile/threads?${p}`;
    const res = await this.get(url, this.shown.threads !== url, { threads: [] });
    if (!res) return;
    this.threads = res.data.threads || [];
    this.shown.threads = url;
    this.renderThreads();
    res.commit();
  }

  /** api/sampler body (null: the server has no sampler routes). app.js
   *  polls it and hands it to every interested view. */
  setSampler(s) {
    const before = this.sampler;
    this.sampler = s;
    const hasData = s && (s.running || s.samples > 0);
    const had = before && (before.running || before.samples > 0);
    if (hasData && !had) this.dirty = true;
    // Idle samples exist only in wall mode.
    this.idleBox.closest("label").hidden = !!(s && s.mode === "cpu");
    this.renderOff();
    this.renderHealth();
  }

  // ------------------------------------------------------------ rendering

  renderOff() {
    const s = this.sampler;
    if (s === undefined) return;
    const hasData = s && (s.running || s.samples > 0);
    let html = "";
    if (!s || !hasData) {
      html = `<p><b>The stack sampler is not running${s === null ? " (this holter has no sampler)" : ""}.</b>
        It samples every thread's stack from a native thread, without the GIL.</p>
        <p>Start it in the program:</p>
        <pre><code>import holter
holter.start()          # mode="wall" or "cpu", interval=0.01</code></pre>
        <p>or run the program under it: <code>holter run --sample script.py</code></p>`;
      if (s && s.error) html += `<p class="warn">sampler error: ${escapeHtml(String(s.error))}</p>`;
    } else if (!s.running) {
      html = `<p>The sampler has stopped${s.error ? `: <span class="warn">${escapeHtml(String(s.error))}</span>` : ""};
        showing the samples it took.</p>`;
    }
    if (this.offEl.innerHTML !== html) this.offEl.innerHTML = html;
    this.offEl.hidden = !html;
    this.offEl.classList.toggle("stopped", !!(s && hasData));
    this.area.hidden = !hasData;
    this.el.classList.toggle("no-data", !hasData);
  }

  renderHealth() {
    const s = this.sampler;
    let html = "";
    if (s) {
      const parts = [];
      parts.push(`<span class="h-mode">${escapeHtml(String(s.mode || "?"))}</span>` +
        (s.running ? "" : ' <span class="warn">stopped</span>'));
      const target = Number(s.target_hz) || 0, got = Number(s.achieved_hz) || 0;
      const slow = s.running && target > 0 && got < 0.9 * target;
      parts.push(`<span class="${slow ? "warn" : ""}" title="sampling rounds per second: achieved / target">` +
        `${got.toFixed(1)} / ${fmtNum(target)} Hz</span>`);
      parts.push(`<span title="sampling rounds; stacks recorded">${fmtInt(s.samples)} samples` +
        ` (${fmtInt(s.thread_samples)} stacks)</span>`);
      const torn = Number(s.torn) || 0, dropped = Number(s.dropped) || 0, bad = Number(s.bad_reads) || 0;
      const tornShare = s.thread_samples ? torn / s.thread_samples : 0;
      const split = s.missed !== undefined || s.lost !== undefined
        ? ` (${fmtInt(s.missed)} missed, ${fmtInt(s.lost)} lost)` : "";
      parts.push(`<span class="${dropped || tornShare > 0.05 ? "warn" : ""}" ` +
        `title="torn: stacks dropped because they changed while read; dropped: samples not recorded${split}; bad reads: failed memory reads">` +
        `${fmtInt(torn)} torn · ${fmtInt(dropped)} dropped` + (bad ? ` · ${fmtInt(bad)} bad reads` : "") + "</span>");
      parts.push(`${fmtInt(s.unique_stacks)} unique stacks · ${fmtInt(s.unique_frames)} frames`);
      const mem = Number(s.memory_bytes) || 0, cap = Number(s.memory_cap_bytes) || 0;
      parts.push(`<span class="${cap && mem > 0.9 * cap ? "warn" : ""}" title="memory used by the sampler's tables / cap">` +
        `${fmtBytes(mem)}${cap ? ` of ${fmtBytes(cap)}` : ""}</span>`);
      parts.push(`${fmtInt(s.threads)} thread${s.threads === 1 ? "" : "s"}`);
      if (s.error) parts.push(`<span class="warn">error: ${escapeHtml(String(s.error))}</span>`);
      html = "sampler: " + parts.join(" · ");
    } else if (s === null) {
      html = "sampler: not available";
    }
    if (this.paused) html += ' · <span class="paused-tag">paused</span>';
    if (this.healthNote) html += ` · <span class="warn">${escapeHtml(this.healthNote)}</span>`;
    if (this.health.innerHTML !== html) this.health.innerHTML = html;
  }

  renderThreads() {
    const sel = this.threadSel;
    const want = [["", "all threads", ""]];
    const names = new Map();
    for (const t of this.threads) names.set(t.name, (names.get(t.name) || 0) + 1);
    for (const t of this.threads) {
      const dup = names.get(t.name) > 1;
      want.push([String(t.id), dup ? `${t.name} (${t.native_id ?? t.id})` : String(t.name), String(t.name),
        `${t.name}: id ${t.id}, native ${t.native_id}, ${fmtInt(t.samples)} samples in the window`]);
    }
    // A chosen thread no longer in the window stays chosen, marked gone.
    if (this.thread && !want.some((w) => w[0] === this.thread)) {
      want.push([this.thread, `thread ${this.thread} (no samples)`, "", "no samples from this thread in the window"]);
    }
    const key = JSON.stringify(want);
    if (key !== this.threadsKey) {
      sel.replaceChildren(...want.map(([value, label, name, title]) => {
        const o = document.createElement("option");
        o.value = value;
        o.textContent = label;
        if (name) o.dataset.name = name;
        if (title) o.title = title;
        return o;
      }));
      sel.value = this.thread;
      this.threadsKey = key;
    }
  }

  // Top functions: rows are reused in place (a click must land on the row
  // it was aimed at even if a poll lands between mousedown and mouseup).
  renderTop(linksOnly) {
    const data = this.topData;
    if (!data) return;
    const fns = (data.functions || []).slice(0, TOP_ROWS);
    const total = Number(data.total) || 0;
    for (let k = 0; k < fns.length; k++) {
      const fn = fns[k];
      let r = this.topRows[k];
      if (!r) {
        const tr = document.createElement("tr");
        tr.className = "top-row";
        tr.tabIndex = 0;
        tr.innerHTML = '<td class="fn"></td><td class="loc"></td><td class="num"></td><td class="num pct"></td>' +
          '<td class="num"></td><td class="num pct"></td>';
        this.tbody.appendChild(tr);
        r = this.topRows[k] = { tr, key: null };
      }
      const href = fn.file ? this.env.fileHref(fn.file, fn.line) : null;
      const key = JSON.stringify([fn.name, fn.file, fn.line, fn.self, fn.total, total, href]);
      if (key === r.key) continue;
      r.key = key;
      const tr = r.tr, c = tr.cells;
      tr.dataset.name = fn.name;
      tr.dataset.file = fn.file || "";
      tr.dataset.line = fn.line ?? "";
      c[0].textContent = fn.name;
      c[0].title = fn.name;
      const loc = fn.file ? `${shortName(fn.file)}:${fn.line ?? "?"}` : "";
      const locHtml = href
        ? `<a href="${escapeHtml(href)}" title="${escapeHtml(fn.file)}">${escapeHtml(loc)}</a>`
        : `<span title="${escapeHtml(fn.file || "")}">${escapeHtml(loc)}</span>`;
      if (c[1].innerHTML !== locHtml) c[1].innerHTML = locHtml;
      c[2].textContent = fmtInt(fn.self);
      c[3].textContent = pct(fn.self, total);
      c[4].textContent = fmtInt(fn.total);
      c[5].textContent = pct(fn.total, total);
    }
    while (this.topRows.length > fns.length) this.topRows.pop().tr.remove();
    this.topEmpty.hidden = fns.length > 0;
    if (!linksOnly) this.markTopSelection();
  }

  toggleHighlight(tr) {
    const f = this.flame;
    const fn = { name: tr.dataset.name, file: tr.dataset.file, line: tr.dataset.line === "" ? null : Number(tr.dataset.line) };
    const h = f.highlight;
    const same = h && h.name === fn.name && h.file === fn.file && h.line === fn.line;
    this.search.value = "";
    f.setHighlight(same ? null : fn);
    this.markTopSelection();
  }

  markTopSelection() {
    const h = this.flame.highlight;
    for (const { tr } of this.topRows) {
      const on = !!h && tr.dataset.name === h.name && tr.dataset.file === (h.file || "") &&
        String(tr.dataset.line) === String(h.line ?? "");
      if (tr.classList.contains("selected") !== on) {
        tr.classList.toggle("selected", on);
        tr.setAttribute("aria-selected", String(on));
      }
    }
  }

  // Breadcrumb of the zoom, and the search's match line.
  onFlameChange() {
    const f = this.flame;
    const parts = [];
    const chain = [];
    for (let i = f.zoom; i >= 0; i = f.parent[i]) chain.push(i);
    chain.reverse();
    for (const i of chain) {
      const d = f.info(i);
      const cur = i === f.zoom;
      const label = i === 0 ? "all" : d.name;
      parts.push(`<button type="button" data-index="${i}" class="${cur ? "cur" : ""}"` +
        ` title="${escapeHtml(i === 0 ? "the whole profile" : `${d.name} (${d.file}:${d.line ?? "?"})`)}">` +
        `${escapeHtml(label)}</button>`);
    }
    let html = parts.join('<span class="sep">›</span>');
    if (f.zoom > 0) {
      const d = f.info(f.zoom);
      html += ` <span class="zoom-info">${pct(d.value, f.total)} of all</span>`;
      const href = d.file ? this.env.fileHref(d.file, d.line) : null;
      if (href) html += ` <a href="${escapeHtml(href)}">${escapeHtml(shortName(d.file))}:${d.line}</a>`;
      html += ' <button type="button" data-index="0" class="reset-zoom">reset zoom</button>';
    }
    const missing = f.zoomMissing();
    if (missing) html += ` <span class="warn" title="the zoomed function has no samples in this picture">${escapeHtml(missing)} not in this picture</span>`;
    if (this.crumbs.innerHTML !== html) this.crumbs.innerHTML = html;

    let m = "";
    if (f.active()) {
      const what = f.highlight ? `${f.highlight.name}` : `“${this.search.value.trim()}”`;
      m = f.matchCount
        ? `${escapeHtml(what)}: ${fmtInt(f.matchCount)} frame${f.matchCount === 1 ? "" : "s"}, ${pct(f.matchValue, f.total)} of total`
        : `${escapeHtml(what)}: no match`;
      if (f.highlight) m += ' <button type="button" class="clear-hl" title="clear the highlight">×</button>';
    }
    if (this.matchEl.innerHTML !== m) {
      this.matchEl.innerHTML = m;
      this.matchEl.querySelector(".clear-hl")?.addEventListener("click", () => {
        f.setHighlight(null);
        this.markTopSelection();
      });
    }
    // Node indices change with each body: find what is under the tooltip now.
    if (this.tipIndex >= 0) {
      if (this.tipKeyboard) this.keyTip(f.focus);
      else this.hoverAt({ clientX: this.tipX, clientY: this.tipY });
    }
  }

  // ------------------------------------------------------------ tooltip, keys

  local(ev) {
    const r = this.canvas.getBoundingClientRect();
    return { x: ev.clientX - r.left, y: ev.clientY - r.top };
  }

  hoverAt(ev) {
    if (!ev) return;
    const { x, y } = this.local(ev);
    const i = this.flame.indexAt(x, y);
    this.canvas.style.cursor = i >= 0 ? "pointer" : "";
    if (i < 0) this.hideTooltip();
    else this.showTip(i, ev.clientX, ev.clientY);
  }

  showTip(i, cx, cy, keyboard = false) {
    const f = this.flame;
    const d = f.info(i);
    if (!d) { this.hideTooltip(); return; }
    this.tipIndex = i;
    this.tipKeyboard = keyboard;
    this.tipX = cx;
    this.tipY = cy;
    const rows = [];
    rows.push(`<div class="tt-name">${escapeHtml(d.root ? "all" : d.name)}</div>`);
    if (d.file) rows.push(`<div class="tt-loc">${escapeHtml(d.file)}:${d.line ?? "?"}</div>`);
    rows.push(`<table><tr><th>samples</th><td>${fmtInt(d.value)}</td><td>${pct(d.value, f.total)} of total</td></tr>`);
    if (f.zoom > 0 && !d.root && i >= f.zoom) {
      rows.push(`<tr><th></th><td></td><td>${pct(d.value, f.value[f.zoom])} of zoom</td></tr>`);
    }
    rows.push(`<tr><th>self</th><td>${fmtInt(d.self)}</td><td>${pct(d.self, f.total)} of total</td></tr>`);
    if (f.mode === "wall" || d.idle) {
      rows.push(`<tr><th>idle</th><td>${fmtInt(d.idle)}</td><td>${pct(d.idle, d.value)} of its samples</td></tr>`);
    }
    rows.push("</table>");
    const tt = this.tooltip;
    const html = rows.join("");
    if (tt.innerHTML !== html) tt.innerHTML = html;
    tt.hidden = false;
    // Keep it inside the window, right-below the pointer when there is room.
    const pad = 14, w = tt.offsetWidth, h = tt.offsetHeight;
    let left = cx + pad, top = cy + pad;
    if (left + w > window.innerWidth - 4) left = Math.max(4, cx - pad - w);
    if (top + h > window.innerHeight - 4) top = Math.max(4, cy - pad - h);
    tt.style.left = left + "px";
    tt.style.top = top + "px";
  }

  hideTooltip() {
    this.tipIndex = -1;
    this.tooltip.hidden = true;
  }

  onKey(ev) {
    const f = this.flame;
    const dirs = { ArrowUp: "up", ArrowDown: "down", ArrowLeft: "left", ArrowRight: "right" };
    let i = -1;
    if (dirs[ev.key]) {
      i = f.moveFocus(dirs[ev.key]);
    } else if (ev.key === "Enter" || ev.key === " ") {
      if (f.focus >= 0) f.zoomTo(f.focus);
      i = f.focus;
    } else if (ev.key === "Escape") {
      if (f.zoom > 0) f.zoomTo(f.parent[f.zoom]);
      else if (f.active()) { this.search.value = ""; f.setSearch(""); f.setHighlight(null); this.markTopSelection(); }
      i = f.focus;
    } else if (ev.key === "Home" || ev.key === "0") {
      f.resetZoom();
      i = f.focus;
    } else {
      return;
    }
    ev.preventDefault();
    this.keyTip(i);
  }

  // Tooltip at the keyboard-focused node, scrolled into view.
  keyTip(i) {
    const f = this.flame;
    const ext = i >= 0 ? f.extent(i) : null;
    if (!ext) { this.hideTooltip(); return; }
    const r = this.canvas.getBoundingClientRect();
    const y = f.depth[i] * ROW_H;
    const top = this.wrap.scrollTop;
    if (y < top) this.wrap.scrollTop = y;
    else if (y + ROW_H > top + this.wrap.clientHeight) this.wrap.scrollTop = y + ROW_H - this.wrap.clientHeight;
    const r2 = this.canvas.getBoundingClientRect();
    this.showTip(i, r2.left + Math.min(ext[0] + ext[1] / 2, r.width - 10), r2.top + y + 16, true);
  }
}

function fmtNum(n) {
  return Number.isInteger(n) ? String(n) : Number(n).toFixed(1);
}

function fmtBytes(n) {
  if (n >= 1 << 30) return (n / (1 << 30)).toFixed(1) + " GiB";
  if (n >= 1 << 20) return (n / (1 << 20)).toFixed(1) + " MiB";
  if (n >= 1 << 10) return (n / (1 << 10)).toFixed(0) + " KiB";
  return n + " B";
}
