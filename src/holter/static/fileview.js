// fileview.js - one traced file: source rows, hit counts, recency bars,
// the lines threads are executing now and, while the stack sampler has
// samples, sampled line heat (/api/profile/lines) in a column of its own.
//
// The rows are built once per file from /api/files/<id>/source, as HTML
// strings of 100 rows (a 10,000-line file builds in well under a second).
// After that every poll touches only what changed: a hit-count cell whose
// count moved, a bar whose widths moved, a code cell whose executing marks
// moved. Data shapes are those of docs/http-api.md.

import { highlightSource, renderLine, byteColToIndex, escapeHtml } from "./highlight.js";

const BAR_UNIT = 12;      // px per unit of a recency level (11 levels, each <= 1); style.css sizes td.bars to match
const LEVELS = 11;
const CHUNK = 100;        // rows per <tbody>
const ROW_HEIGHT = 19;    // px, as table.source tr in style.css
const MAX_MARK_SPAN = 200; // lines: a longer `pos` highlights only its first lines
// Cells of a row (tr.cells index).
const C_HITS = 1;         // exact hit count (trace hook)
const C_SAMP = 2;         // samples at the line (sampler); hidden until there are any
const C_BARS = 3;         // recency bars
const C_CODE = 4;         // the source line

export class FileView {
  /**
   * @param {HTMLElement} root  element the view renders into
   * @param {number} id         file id
   * @param {object|null} meta  the file's entry in /api/files, if known
   * @param {{lines: string[], segs: Array, path: string}|null} source
   *        highlighted source, or null when the file has no source
   */
  constructor(root, id, meta, source) {
    this.root = root;
    this.id = id;
    this.meta = meta;
    this.source = source;
    this.lines = source ? source.lines : [];
    this.segs = source ? source.segs : [];
    this.rows = [];                 // rows[n - 1] is tr#line-n
    this.hitCount = [];             // hitCount[n]: count shown for line n
    this.barKey = new Map();        // line -> widths string currently drawn
    this.exec = new Map();          // line -> {key} of the executing state drawn
    this.target = null;             // tr marked as the URL's line
    this.lastStacks = null;         // last /api/stacks body applied
    this.pendingLine = 0;           // line to go to once its row exists
    this.path = source ? source.path : (meta ? meta.path : null);  // for api/profile/lines
    this.sampKey = new Map();       // line -> samples text + tint drawn
    this.samplesShown = false;      // the samples column is visible
    this.build();
  }

  build() {
    const path = this.source ? this.source.path : (this.meta ? this.meta.path : `file ${this.id}`);
    this.root.innerHTML =
      `<div class="file-head"><span class="file-path">${escapeHtml(path)}</span>` +
      ` <span class="file-stats"></span> <span class="file-samples"></span></div>` +
      (this.source ? "" : '<p class="notice">holter could not read this file\'s source; only counts are shown.</p>') +
      '<table class="source"></table>';
    this.stats = this.root.querySelector(".file-stats");
    this.sampStats = this.root.querySelector(".file-samples");
    this.table = this.root.querySelector("table.source");
    const n = this.source ? this.lines.length : (this.meta ? this.meta.lines : 0);
    this.root.style.setProperty("--ln-digits", String(Math.max(3, String(n).length)));
    this.ensureRows(n);
  }

  // Append rows up to line n (all of them at build; later only for files
  // without source whose counts name lines past the known end). Rows go in
  // <tbody> chunks of CHUNK lines: the browser skips chunks out of sight
  // (content-visibility in style.css), each sized exactly so that scrolling
  // to any line lands right before it was ever drawn.
  ensureRows(n) {
    while (this.rows.length < n) {
      let chunk = this.table.lastElementChild;
      if (!chunk || chunk.rows.length >= CHUNK) {
        chunk = document.createElement("tbody");
        this.table.appendChild(chunk);
      }
      const first = this.rows.length;
      const end = Math.min(n, first + CHUNK - chunk.rows.length);
      const parts = [];
      for (let i = first; i < end; i++) {
        const text = this.lines[i];
        const code = text === undefined ? "" : renderLine(text, this.segs[i], null);
        parts.push(`<tr id="line-${i + 1}"><td class="ln">${i + 1}</td><td class="hits"></td>` +
          `<td class="samp"></td><td class="bars"></td><td class="code">${code}</td></tr>`);
      }
      chunk.insertAdjacentHTML("beforeend", parts.join(""));
      const all = chunk.rows;
      for (let i = all.length - (end - first); i < all.length; i++) this.rows.push(all[i]);
      chunk.style.containIntrinsicHeight = `${all.length * ROW_HEIGHT}px`;
    }
    if (this.pendingLine && this.row(this.pendingLine)) this.gotoLine(this.pendingLine);
  }

  row(n) {
    return n >= 1 && n <= this.rows.length ? this.rows[n - 1] : null;
  }

  /** Apply a /api/files/<id>/lines body. */
  applyLines(data) {
    const hits = data.hits || [];
    let maxLine = 0;
    for (const h of hits) if (h[0] > maxLine) maxLine = h[0];
    if (!this.source && maxLine > this.rows.length) {
      this.ensureRows(maxLine);
      if (this.lastStacks) this.applyStacks(this.lastStacks);   // rows it skipped
    }

    // Hit counts. They only grow; should a line ever drop out of `hits`
    // (a count reset), its cell is cleared.
    const seen = new Set();
    for (const [line, count] of hits) {
      seen.add(line);
      if (this.hitCount[line] === count) continue;
      const r = this.row(line);
      if (!r) continue;
      this.hitCount[line] = count;
      r.cells[C_HITS].textContent = count ? String(count) : "";
    }
    if (seen.size !== this.countedLines) {
      for (let line = 1; line < this.hitCount.length; line++) {
        if (this.hitCount[line] && !seen.has(line)) {
          this.hitCount[line] = 0;
          const r = this.row(line);
          if (r) r.cells[C_HITS].textContent = "";
        }
      }
    }
    this.countedLines = seen.size;

    // Recency bars: level 0 (most recent) first and lightest.
    const recentSeen = new Set();
    for (const [line, levels] of data.recent || []) {
      const r = this.row(line);
      if (!r) continue;
      recentSeen.add(line);
      const widths = [];
      for (let c = 0; c < LEVELS; c++) widths.push((Math.max(0, Number(levels[c]) || 0) * BAR_UNIT).toFixed(1));
      const key = widths.join(",");
      if (this.barKey.get(line) === key) continue;
      let bar = r.cells[C_BARS].firstChild;
      if (!bar) {
        bar = document.createElement("div");
        bar.className = "bar";
        bar.innerHTML = "<i></i>".repeat(LEVELS);
        r.cells[C_BARS].appendChild(bar);
      }
      const segs = bar.children;
      const old = (this.barKey.get(line) || "").split(",");
      for (let c = 0; c < LEVELS; c++) {
        if (old[c] !== widths[c]) segs[c].style.width = widths[c] + "px";
      }
      bar.title = "recent activity, most recent first: " +
        levels.map((v) => Number(v).toFixed(2)).join(" ");
      this.barKey.set(line, key);
    }
    for (const line of this.barKey.keys()) {
      if (!recentSeen.has(line)) {
        this.row(line)?.cells[C_BARS].replaceChildren();
        this.barKey.delete(line);
      }
    }

    const stats = `${Number(data.events).toLocaleString("en-US")} line events · ${seen.size} lines hit`;
    if (this.stats.textContent !== stats) this.stats.textContent = stats;
  }

  /** Apply a /api/profile/lines body: samples per line, tinted by heat
   *  (relative to the file's hottest line). null hides the column. */
  applySamples(data) {
    if (!data) {
      if (!this.samplesShown) return;
      for (const line of this.sampKey.keys()) this.setSamp(line, "", "", "");
      this.sampKey.clear();
      this.table.classList.remove("with-samples");
      this.sampStats.textContent = "";
      this.samplesShown = false;
      return;
    }
    const lines = data.lines || [];
    let max = 0, sum = 0, maxLine = 0;
    for (const [line, n] of lines) {
      if (n > max) max = n;
      if (line > maxLine) maxLine = line;
      sum += n;
    }
    if (!this.source && maxLine > this.rows.length) {
      this.ensureRows(maxLine);
      if (this.lastStacks) this.applyStacks(this.lastStacks);
    }
    if (!this.samplesShown) {
      this.table.classList.add("with-samples");
      this.samplesShown = true;
    }
    const seen = new Set();
    for (const [line, n] of lines) {
      if (!this.row(line) || !(n > 0)) continue;
      seen.add(line);
      // sqrt: a line with 1% of the hottest line's samples still shows.
      const heat = max ? Math.sqrt(n / max) : 0;
      const tint = `rgba(249, 38, 114, ${(0.1 + 0.65 * heat).toFixed(2)})`;
      const key = `${n}|${tint}`;
      if (this.sampKey.get(line) === key) continue;
      this.sampKey.set(line, key);
      this.setSamp(line, String(n), tint,
        `${n} samples at this line (${(100 * n / (sum || 1)).toFixed(1)}% of this file's)`);
    }
    for (const line of [...this.sampKey.keys()]) {
      if (!seen.has(line)) {
        this.setSamp(line, "", "", "");
        this.sampKey.delete(line);
      }
    }
    const text = `· ${sum.toLocaleString("en-US")} line samples`;
    if (this.sampStats.textContent !== text) this.sampStats.textContent = text;
  }

  setSamp(line, text, tint, title) {
    const r = this.row(line);
    if (!r) return;
    const c = r.cells[C_SAMP];
    c.textContent = text;
    c.style.background = tint;
    c.title = title;
  }

  /** Apply a /api/stacks body: mark the rows (and sub-expressions) that some
   *  thread is executing in this file. */
  applyStacks(data) {
    this.lastStacks = data;
    const want = new Map();   // line -> {names: Set, marks: [[a, b]], exec: bool}
    const entry = (line) => {
      let e = want.get(line);
      if (!e) want.set(line, (e = { names: new Set(), marks: [], exec: false }));
      return e;
    };
    for (const t of (data && data.threads) || []) {
      for (const f of t.frames || []) {
        if (f.file_id !== this.id) continue;
        if (!this.row(f.line)) continue;
        const e = entry(f.line);
        e.exec = true;
        e.names.add(t.name);
        if (Array.isArray(f.pos)) this.addMarks(f.pos, entry);
      }
    }
    // Redraw lines whose state changed, then clear lines no longer executing.
    for (const [line, e] of want) {
      const marks = mergeRanges(e.marks);
      const names = [...e.names];
      const key = JSON.stringify([e.exec, names, marks]);
      const old = this.exec.get(line);
      if (old && old.key === key) continue;
      this.drawExec(line, e.exec, names, marks);
      this.exec.set(line, { key });
    }
    for (const line of [...this.exec.keys()]) {
      if (!want.has(line)) {
        this.drawExec(line, false, [], []);
        this.exec.delete(line);
      }
    }
  }

  // Turn a `pos` [start_line, start_col, end_line, end_col] (UTF-8 byte
  // columns) into per-line [start, end) JS-index ranges.
  addMarks(pos, entry) {
    const [sl, sc, el, ec] = pos.map(Number);
    if (!(sl >= 1 && el >= sl) || !this.source) return;
    const last = Math.min(el, sl + MAX_MARK_SPAN - 1, this.lines.length);
    for (let line = sl; line <= last; line++) {
      const text = this.lines[line - 1];
      if (text === undefined) break;
      const a = line === sl ? byteColToIndex(text, sc) : text.length - text.trimStart().length;
      const b = line === el ? byteColToIndex(text, ec) : text.length;
      if (b > a) entry(line).marks.push([a, b]);
    }
  }

  drawExec(line, executing, names, marks) {
    const r = this.row(line);
    if (!r) return;
    r.classList.toggle("executing", executing);
    const text = this.lines[line - 1];
    let html = text === undefined ? "" : renderLine(text, this.segs[line - 1], marks);
    if (executing && names.length) {
      html += ` <span class="badge" title="threads executing this line">${escapeHtml(names.join(", "))}</span>`;
    }
    r.cells[C_CODE].innerHTML = html;
  }

  /** Scroll line n into the middle of the view and flash it. */
  gotoLine(n) {
    const r = this.row(n);
    if (this.target && this.target !== r) this.target.classList.remove("target", "flash");
    this.target = r;
    // A file without source grows its rows as counts arrive: go there then.
    this.pendingLine = r ? 0 : n;
    if (!r) return false;
    r.classList.add("target");
    r.classList.remove("flash");
    void r.offsetWidth;                 // restart the animation
    r.classList.add("flash");
    clearTimeout(this.flashTimer);
    this.flashTimer = setTimeout(() => r.classList.remove("flash"), 2000);
    r.scrollIntoView({ block: "center" });
    return true;
  }

  clearTarget() {
    this.pendingLine = 0;
    if (this.target) this.target.classList.remove("target", "flash");
    this.target = null;
  }
}

// Sort and merge overlapping [a, b) ranges.
function mergeRanges(ranges) {
  if (ranges.length < 2) return ranges;
  ranges.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  const out = [ranges[0].slice()];
  for (let i = 1; i < ranges.length; i++) {
    const top = out[out.length - 1];
    if (ranges[i][0] <= top[1]) top[1] = Math.max(top[1], ranges[i][1]);
    else out.push(ranges[i].slice());
  }
  return out;
}

/** Highlight a /api/files/<id>/source body once; the result is cached by id. */
export function prepareSource(body) {
  if (!body || typeof body.source !== "string") return null;
  const { lines, segs } = highlightSource(body.source);
  return { lines, segs, path: body.path };
}
