// flame.js - the flame graph of an /api/profile body, drawn on a <canvas>.
//
// Icicle layout: the root ("all") is the top row and callees hang below
// their callers; a node's width is proportional to its samples, children
// left to right in the server's order (by name), the parent's self time
// left as a gap on the right. Colour comes from a hash of the node's file
// (warm hues), shaded per function; the share of a node's samples where
// its thread was idle (wall mode `idle`) pulls it towards a cool grey-blue.
//
// Workload: trees of up to ~10^5 nodes, replaced about once a second while
// the user hovers, zooms and searches. Each body is flattened once, in
// pre-order, into typed arrays: a node's subtree is the index range
// [i, end[i]), so drawing visits only nodes wide enough to see (a narrow
// node's whole subtree is skipped in one step) and fills them batched by
// colour; hit-testing walks down from the root. Zoom is kept across bodies
// as a path of (name, file) pairs.
//
// Data shape: docs/http-api.md, "GET /api/profile". Used by profile.js.

export const ROW_H = 18;        // px per row (depth)
const MIN_W = 0.35;             // px: narrower nodes (and their subtrees) are not drawn
const LABEL_PAD = 4;            // px of padding left of a label
const FONT = '12px ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, monospace';
const TEXT_COLOUR = "#1e1f1c";
const MATCH_COLOUR = "hsl(276, 85%, 72%)";  // search / highlight hits
const MAX_CANVAS_PX = 32000;    // browsers refuse larger canvases

// FNV-1a, 32 bits: stable colours for a file or function across bodies.
function hash(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const styleCache = new Map();   // packed r/g/b -> "rgb(...)"
const IDLE_RGB = [128, 150, 176];  // the cool grey-blue idle samples pull towards

// Warm hue per file (red .. orange .. yellow), lightness per function; the
// idle share (0..1) mixes it, in RGB so no green shows on the way, towards
// a desaturated blue. Quantized so that a tree of 10^5 nodes makes a few
// hundred distinct strings at most.
function nodeStyle(file, name, idleShare) {
  const fh = hash(file || name);
  const nh = hash(name);
  const q = Math.round(Math.min(1, Math.max(0, idleShare)) * 8) / 8;
  const warm = hslToRgb(4 + (fh % 48), 0.72 + ((fh >>> 8) % 18) / 100, 0.5 + (nh % 13) / 100);
  const r = Math.round(warm[0] + (IDLE_RGB[0] - warm[0]) * q);
  const g = Math.round(warm[1] + (IDLE_RGB[1] - warm[1]) * q);
  const b = Math.round(warm[2] + (IDLE_RGB[2] - warm[2]) * q);
  const key = (r << 16) | (g << 8) | b;
  let s = styleCache.get(key);
  if (!s) styleCache.set(key, (s = `rgb(${r}, ${g}, ${b})`));
  return s;
}

function hslToRgb(h, s, l) {
  const k = (n) => (n + h / 30) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = (n) => l - a * Math.max(-1, Math.min(k(n) - 3, 9 - k(n), 1));
  return [f(0) * 255, f(8) * 255, f(4) * 255];
}

export class FlameGraph {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {object} hooks  onChange(): zoom, highlight or data changed (for
   *                        the breadcrumb and the match line);
   *                        onHover(index, clientX, clientY): a node (or -1)
   *                        under the pointer or keyboard focus.
   */
  constructor(canvas, hooks = {}) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d", { alpha: false });
    this.hooks = hooks;
    this.width = 0;               // CSS px
    this.n = 0;                   // nodes in the flattened tree
    this.nodes = [];              // nodes[i]: the JSON node
    this.depth = new Uint16Array(0);
    this.start = new Float64Array(0);  // samples left of the node, from the root's left edge
    this.value = new Float64Array(0);
    this.end = new Int32Array(0);      // one past the node's last descendant
    this.parent = new Int32Array(0);   // -1 for the root
    this.styles = [];             // styles[i]: fill colour, computed lazily
    this.lower = null;            // lower[i]: "name\0file" lower-cased, at the first search
    this.total = 0;               // the root's value
    this.mode = "";
    this.zoom = 0;                // index of the node filling the width
    this.wantPath = [];           // [{name, file}] from below the root: the zoom the user chose
    this.search = "";             // lower-cased substring, or ""
    this.highlight = null;        // {name, file, line}: one function, or null
    this.matched = new Uint8Array(0);
    this.matchCount = 0;          // nodes matched
    this.matchValue = 0;          // samples under matched nodes, nested matches counted once
    this.focus = -1;              // keyboard focus, or -1
    this.rows = 0;                // rows the canvas is sized for
    this.charW = 7.2;             // px per label character, measured at first draw
    this.drawn = 0;               // nodes drawn by the last render()
    this.frame = 0;               // pending requestAnimationFrame
  }

  // ------------------------------------------------------------ data

  /** Take a new /api/profile body; zoom, search and focus are kept. */
  setData(profile) {
    const focusPath = this.focus >= 0 ? this.pathOf(this.focus) : null;
    this.mode = profile && profile.mode || "";
    this.load(profile && profile.nodes ? profile : { strings: ["all"], nodes: [[-1, 0, -1, 0, 0, 0, 0]] });
    this.zoom = this.resolve(this.wantPath);
    this.focus = focusPath ? this.resolve(focusPath, true) : -1;
    this.computeMatches();
    this.hooks.onChange?.();
    this.schedule();
  }

  // The server sends the tree flat, in pre-order (docs/http-api.md): rows
  // [parent, name, file, line, value, self, idle] with names and files as
  // indexes into `strings`. One pass gives depth and left offsets, since a
  // parent always comes before its children and siblings come in order.
  load(profile) {
    const rows = profile.nodes, S = profile.strings;
    const n = rows.length;
    const nodes = new Array(n);
    const depth = new Uint16Array(n);
    const start = new Float64Array(n);
    const value = new Float64Array(n);
    const end = new Int32Array(n);
    const parent = new Int32Array(n);
    const next = new Float64Array(n);   // where a node's next child starts
    for (let i = 0; i < n; i++) {
      const r = rows[i];
      const p = r[0];
      nodes[i] = { name: S[r[1]], file: r[2] >= 0 ? S[r[2]] : undefined, line: r[3],
                   value: r[4], self: r[5], idle: r[6] };
      value[i] = Math.max(0, Number(r[4]) || 0);
      parent[i] = p;
      if (p >= 0 && p < i) {
        depth[i] = depth[p] < 65535 ? depth[p] + 1 : 65535;
        start[i] = next[p];
        next[p] += value[i];
      }
      next[i] = start[i];
    }
    for (let j = n - 1; j >= 0; j--) {
      if (end[j] < j + 1) end[j] = j + 1;
      const p = parent[j];
      if (p >= 0 && end[p] < end[j]) end[p] = end[j];
    }
    this.n = n;
    this.nodes = nodes;
    this.depth = depth;
    this.start = start;
    this.value = value;
    this.end = end;
    this.parent = parent;
    this.styles = new Array(n);
    this.lower = null;
    this.matched = new Uint8Array(n);
    this.total = n ? value[0] : 0;
  }

  styleOf(i) {
    let s = this.styles[i];
    if (s === undefined) {
      const x = this.nodes[i];
      const v = this.value[i];
      s = this.styles[i] = nodeStyle(x.file || "", x.name || "", v > 0 ? (Number(x.idle) || 0) / v : 0);
    }
    return s;
  }

  /** Index of the node at `path` ([{name, file}] below the root): the
   *  deepest existing prefix, or 0 (the root). `exact` returns -1 unless the
   *  whole path exists. */
  resolve(path, exact = false) {
    let i = 0;
    for (const step of path) {
      let byName = -1, hit = -1;
      for (let j = i + 1; j < this.end[i]; j = this.end[j]) {
        const x = this.nodes[j];
        if (x.name !== step.name) continue;
        if ((x.file || "") === (step.file || "")) { hit = j; break; }
        if (byName < 0) byName = j;
      }
      if (hit < 0) hit = byName;
      if (hit < 0) return exact ? -1 : i;
      i = hit;
    }
    return i;
  }

  /** [{name, file}] from below the root down to node i. */
  pathOf(i) {
    const path = [];
    for (; i > 0; i = this.parent[i]) path.push({ name: this.nodes[i].name, file: this.nodes[i].file || "" });
    return path.reverse();
  }

  /** Node i as plain data for tooltips, tables and tests. */
  info(i) {
    if (i < 0 || i >= this.n) return null;
    const x = this.nodes[i];
    return {
      name: String(x.name), file: x.file || "", line: x.line ?? null,
      value: this.value[i], self: Number(x.self) || 0, idle: Number(x.idle) || 0,
      depth: this.depth[i], root: i === 0,
    };
  }

  // ------------------------------------------------------------ zoom

  /** Zoom so that node i fills the width (0: the whole tree). */
  zoomTo(i) {
    if (i < 0 || i >= this.n) i = 0;
    this.zoom = i;
    this.wantPath = this.pathOf(i);
    this.hooks.onChange?.();
    this.schedule();
  }

  resetZoom() { this.zoomTo(0); }

  /** The zoom as names, below the root ([] when not zoomed). */
  zoomedPath() {
    return this.pathOf(this.zoom).map((s) => s.name);
  }

  /** The chosen zoom path is deeper than what this body holds. */
  zoomMissing() {
    return this.wantPath.length > this.depth[this.zoom] ? this.wantPath[this.wantPath.length - 1].name : null;
  }

  // ------------------------------------------------------------ search

  /** Highlight nodes whose name or file contains `text` (case-insensitive);
   *  "" clears. Replaces a function highlight. */
  setSearch(text) {
    this.search = (text || "").trim().toLowerCase();
    if (this.search) this.highlight = null;
    this.computeMatches();
    this.hooks.onChange?.();
    this.schedule();
  }

  /** Highlight one function ({name, file, line}), or null. Replaces a search. */
  setHighlight(fn) {
    this.highlight = fn;
    if (fn) this.search = "";
    this.computeMatches();
    this.hooks.onChange?.();
    this.schedule();
  }

  computeMatches() {
    const m = this.matched;
    m.fill(0);
    this.matchCount = 0;
    this.matchValue = 0;
    const q = this.search, fn = this.highlight;
    if (!q && !fn) return;
    if (q && !this.lower) {
      this.lower = this.nodes.map((x) => `${x.name}\0${x.file || ""}`.toLowerCase());
    }
    let coveredUntil = 0;          // end of the subtree of the last counted match
    for (let i = 1; i < this.n; i++) {
      const x = this.nodes[i];
      const hit = q
        ? this.lower[i].includes(q)
        : x.name === fn.name && (x.file || "") === (fn.file || "") && (fn.line == null || x.line === fn.line);
      if (!hit) continue;
      m[i] = 1;
      this.matchCount++;
      if (i >= coveredUntil) {     // not inside a match already counted
        this.matchValue += this.value[i];
        coveredUntil = this.end[i];
      }
    }
  }

  active() { return !!(this.search || this.highlight); }

  // ------------------------------------------------------------ geometry

  /** Set the width in CSS px (the container's); redraws. */
  resize(width) {
    width = Math.max(0, Math.floor(width));
    if (width === this.width) return;
    this.width = width;
    this.schedule();
  }

  /** Horizontal extent [x, w] of node i at the current zoom, in CSS px, or
   *  null if it is not drawn (outside the zoom or too narrow). */
  extent(i) {
    const z = this.zoom;
    if (i < 0 || i >= this.n) return null;
    const zv = this.value[z] || 1;
    const scale = this.width / zv;
    if (i <= z && this.end[i] > z) return [0, this.width];   // the zoom and its ancestors
    if (i < z || i >= this.end[z]) return null;              // beside the zoom
    const w = this.value[i] * scale;
    if (w < MIN_W) return null;
    // Hidden if an ancestor below the zoom is too narrow (its subtree was skipped).
    for (let p = this.parent[i]; p > z; p = this.parent[p]) if (this.value[p] * scale < MIN_W) return null;
    return [(this.start[i] - this.start[z]) * scale, w];
  }

  /** Index of the node drawn at (x, y), CSS px from the canvas' top left, or -1. */
  indexAt(x, y) {
    if (!this.n || x < 0 || x >= this.width || y < 0) return -1;
    const row = Math.floor(y / ROW_H);
    const z = this.zoom;
    const zd = this.depth[z];
    if (row <= zd) {               // the zoom or one of its ancestors: full width
      let i = z;
      while (this.depth[i] > row) i = this.parent[i];
      return i;
    }
    const zv = this.value[z] || 1;
    const scale = this.width / zv;
    const s = this.start[z] + x / scale;    // sample offset under the pointer
    let i = z;
    while (this.depth[i] < row) {
      let next = -1;
      for (let j = i + 1; j < this.end[i]; j = this.end[j]) {
        if (s >= this.start[j] && s < this.start[j] + this.value[j]) { next = j; break; }
        if (this.start[j] > s) break;
      }
      if (next < 0 || this.value[next] * scale < MIN_W) return -1;
      i = next;
    }
    return i;
  }

  // ------------------------------------------------------------ drawing

  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => { this.frame = 0; this.render(); });
  }

  /** Draw now (normally via schedule(): at most once per frame). */
  render() {
    if (this.frame) { cancelAnimationFrame(this.frame); this.frame = 0; }
    const W = this.width;
    if (!W) return;
    const z = this.zoom;
    const zv = this.value[z] || 1;
    const scale = W / zv;
    const zs = this.start[z];
    const active = this.active();

    // Pass 1: what is visible, bucketed by fill (and dimmed or not).
    const buckets = new Map();     // style + "\u0001" + alpha flag -> [x, y, w, ...]
    const labels = [];             // [i, x, y, w] of nodes wide enough for text
    const labelMin = this.charW * 3 + LABEL_PAD * 2;
    let maxRow = 0;
    let drawn = 0;
    const add = (i, x, row, w, dim) => {
      const style = active && this.matched[i] ? MATCH_COLOUR : this.styleOf(i);
      const key = style + (dim ? "\u0001d" : "\u0001");
      let b = buckets.get(key);
      if (!b) buckets.set(key, (b = []));
      const y = row * ROW_H;
      b.push(x, y, w);
      if (w >= labelMin) labels.push(i, x, y, w);
      if (row > maxRow) maxRow = row;
      drawn++;
    };
    // The zoomed node's ancestors, full width and dimmed, then the subtree.
    for (let a = this.parent[z]; a >= 0; a = this.parent[a]) add(a, 0, this.depth[a], W, true);
    const e = this.end[z];
    for (let i = z; i < e;) {
      const w = this.value[i] * scale;
      if (w < MIN_W) { i = this.end[i]; continue; }
      add(i, (this.start[i] - zs) * scale, this.depth[i], w, active && !this.matched[i]);
      i++;
    }
    this.drawn = drawn;

    // Size the canvas to the rows drawn (device pixels for sharp text).
    const dpr = window.devicePixelRatio || 1;
    const rows = Math.max(maxRow + 1, 1);
    const H = Math.min(rows * ROW_H + 2, Math.floor(MAX_CANVAS_PX / dpr));
    if (this.rows !== rows || this.canvas.width !== Math.round(W * dpr) || this.cssH !== H) {
      this.canvas.width = Math.round(W * dpr);
      this.canvas.height = Math.round(H * dpr);
      this.canvas.style.width = W + "px";
      this.canvas.style.height = H + "px";
      this.rows = rows;
      this.cssH = H;
    }
    const ctx = this.ctx;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    if (!this.bg) this.bg = getComputedStyle(this.canvas).getPropertyValue("--flame-bg").trim() || "#272822";
    ctx.fillStyle = this.bg;
    ctx.fillRect(0, 0, W, H);

    // Pass 2: rectangles, one path per fill; a 1 px gap right and below
    // once a node is wide enough to spare it.
    for (const [key, b] of buckets) {
      const sep = key.indexOf("\u0001");
      ctx.fillStyle = key.slice(0, sep);
      ctx.globalAlpha = key.endsWith("d") ? 0.38 : 1;
      ctx.beginPath();
      for (let k = 0; k < b.length; k += 3) {
        const w = b[k + 2];
        ctx.rect(b[k], b[k + 1], w >= 3 ? w - 1 : w, ROW_H - 1);
      }
      ctx.fill();
    }
    ctx.globalAlpha = 1;

    // Pass 3: labels, cut to fit with an ellipsis.
    ctx.font = FONT;
    if (!this.measured) {
      this.charW = ctx.measureText("MMMMMMMMMM").width / 10 || 7.2;
      this.measured = true;
    }
    ctx.textBaseline = "middle";
    for (let k = 0; k < labels.length; k += 4) {
      const i = labels[k], x = labels[k + 1], y = labels[k + 2], w = labels[k + 3];
      const dim = active && !this.matched[i] || (i < z);
      const fit = Math.floor((w - LABEL_PAD * 2) / this.charW);
      let text = i === 0 ? `all · ${fmtInt(this.total)} samples` : String(this.nodes[i].name);
      if (text.length > fit) text = fit > 1 ? text.slice(0, fit - 1) + "…" : "";
      if (!text) continue;
      ctx.globalAlpha = dim ? 0.55 : 1;
      ctx.fillStyle = TEXT_COLOUR;
      ctx.fillText(text, Math.max(x, 0) + LABEL_PAD, y + ROW_H / 2);
    }
    ctx.globalAlpha = 1;

    // Keyboard focus: an outline.
    const ext = this.focus >= 0 ? this.extent(this.focus) : null;
    if (ext) {
      ctx.strokeStyle = "#f8f8f2";
      ctx.lineWidth = 2;
      ctx.strokeRect(ext[0] + 1, this.depth[this.focus] * ROW_H + 1, Math.max(ext[1] - 2, 1), ROW_H - 3);
    }
    if (!this.total) {
      ctx.fillStyle = "#90908a";
      ctx.font = FONT;
      ctx.fillText("no samples yet", LABEL_PAD, ROW_H + ROW_H / 2);
    }
  }

  // ------------------------------------------------------------ keyboard

  /** Move the keyboard focus: "up" (caller), "down" (widest callee),
   *  "left"/"right" (siblings). */
  moveFocus(dir) {
    let i = this.focus >= 0 ? this.focus : this.zoom;
    if (this.focus >= 0) {
      if (dir === "up") {
        if (i > 0) i = this.parent[i];
      } else if (dir === "down") {
        let best = -1;
        for (let j = i + 1; j < this.end[i]; j = this.end[j]) {
          if (best < 0 || this.value[j] > this.value[best]) best = j;
        }
        if (best >= 0 && this.extent(best)) i = best;
      } else if (i > 0) {
        const p = this.parent[i];
        let prev = -1, next = -1;
        for (let j = p + 1; j < this.end[p]; j = this.end[j]) {
          if (j === i) continue;
          if (j < i && this.extent(j)) prev = j;
          if (j > i && this.extent(j)) { next = j; break; }
        }
        if (dir === "left" && prev >= 0) i = prev;
        if (dir === "right" && next >= 0) i = next;
      }
    }
    this.focus = i;
    this.schedule();
    return i;
  }

  clearFocus() {
    if (this.focus < 0) return;
    this.focus = -1;
    this.schedule();
  }
}

export function fmtInt(n) {
  return (Number(n) || 0).toLocaleString("en-US");
}

export function pct(part, whole) {
  if (!whole) return "0%";
  const p = (100 * part) / whole;
  return (p >= 10 || p === 0 ? p.toFixed(1) : p >= 0.1 ? p.toFixed(2) : p.toFixed(3)) + "%";
}
