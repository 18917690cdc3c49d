// stacks.js - the live stacks panel shown at the bottom of every view.
//
// Fed with /api/stacks bodies (docs/http-api.md) several times a second, so
// it diffs: a thread block or frame row is touched only when its content
// changed, and a frame link keeps its element while its line moves, so a
// click aimed at it lands. Frames of traced files link to
// #/file/<file_id>/<line>.

export function shortName(path) {
  const i = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  return i >= 0 ? path.slice(i + 1) : path;
}

export class StacksPanel {
  constructor(body, summary) {
    this.body = body;              // container of the thread blocks
    this.summary = summary;        // small text next to the panel title
    this.blocks = new Map();       // thread id -> {el, head, list, key}
    this.currentFile = null;       // file id of the open file view, or null
    this.last = null;              // last /api/stacks body rendered
  }

  /** Render a /api/stacks body (or re-render the last one for `fileId`). */
  update(data, fileId) {
    if (data) this.last = data;
    data = this.last;
    const fileChanged = fileId !== this.currentFile;
    this.currentFile = fileId;
    if (!data) return;
    const threads = data.threads || [];
    const seen = new Set();
    let prev = null;
    for (const t of threads) {
      seen.add(t.id);
      let b = this.blocks.get(t.id);
      if (!b) {
        b = this.newBlock(t);
        this.blocks.set(t.id, b);
      }
      const key = JSON.stringify([t.name, t.native_id, t.omitted, t.frames]);
      if (key !== b.key || fileChanged) {
        this.fillBlock(b, t);
        b.key = key;
      }
      // Keep DOM order equal to the server's without moving unchanged nodes.
      const want = prev ? prev.nextSibling : this.body.firstChild;
      if (want !== b.el) this.body.insertBefore(b.el, want);
      prev = b.el;
    }
    for (const [id, b] of this.blocks) {
      if (!seen.has(id)) {
        b.el.remove();
        this.blocks.delete(id);
      }
    }
    if (threads.length === 0 && !this.body.querySelector(".empty")) {
      this.body.insertAdjacentHTML("beforeend", '<p class="empty">no stacks yet</p>');
    } else if (threads.length) {
      this.body.querySelector(".empty")?.remove();
    }
    const n = threads.length;
    const text = `${n} thread${n === 1 ? "" : "s"}`;
    if (this.summary.textContent !== text) this.summary.textContent = text;
    this.summary.title = `snapshot ${data.generation}, ${Number(data.age_s).toFixed(2)} s old`;
  }

  newBlock(t) {
    const el = document.createElement("div");
    el.className = "thread";
    el.dataset.threadId = String(t.id);
    el.innerHTML = '<div class="thread-head"><span class="thread-name"></span> ' +
      '<span class="thread-id"></span></div><ol class="frames"></ol>';
    return { el, head: el.firstChild, list: el.lastChild, key: null };
  }

  fillBlock(b, t) {
    b.el.dataset.threadName = t.name;
    const nameEl = b.head.firstChild;
    if (nameEl.textContent !== t.name) nameEl.textContent = t.name;
    const idText = `id ${t.id}` + (t.native_id != null ? ` · native ${t.native_id}` : "");
    const idEl = b.head.lastChild;
    if (idEl.textContent !== idText) idEl.textContent = idText;
    // Deep stacks arrive without their outermost frames: say how many.
    const omitted = Number(t.omitted) || 0;
    let note = b.el.querySelector(".omitted");
    if (omitted > 0) {
      if (!note) {
        note = document.createElement("div");
        note.className = "omitted";
        b.list.before(note);
      }
      const text = `… ${omitted} outer frame${omitted === 1 ? "" : "s"} omitted`;
      if (note.textContent !== text) note.textContent = text;
    } else if (note) {
      note.remove();
    }
    const frames = t.frames || [];
    const items = b.list.children;
    for (let i = 0; i < frames.length; i++) {
      let li = items[i];
      if (!li) {
        li = document.createElement("li");
        b.list.appendChild(li);
      }
      this.fillFrame(li, frames[i]);
    }
    while (items.length > frames.length) b.list.lastChild.remove();
    if (frames.length === 0 && !b.list.children.length) {
      b.list.innerHTML = '<li class="frame none">no Python frames</li>';
    }
  }

  // One frame row: "file:line in qualname". The link element is kept while
  // only its line changes.
  fillFrame(li, f) {
    const traced = f.file_id !== null && f.file_id !== undefined;
    const cls = "frame" + (traced ? "" : " untraced") +
      (traced && f.file_id === this.currentFile ? " here" : "");
    if (li.className !== cls) li.className = cls;
    let loc = li.firstChild;
    const wantTag = traced ? "A" : "SPAN";
    if (!loc || loc.tagName !== wantTag) {
      li.innerHTML = (traced ? '<a class="frame-link"></a>' : '<span class="frame-loc"></span>') +
        ' in <span class="qualname"></span>';
      loc = li.firstChild;
    }
    const text = `${shortName(f.path)}:${f.line}`;
    if (loc.textContent !== text) loc.textContent = text;
    if (loc.title !== f.path) loc.title = f.path;
    if (traced) {
      const fid = String(f.file_id);
      const line = String(f.line);
      if (loc.dataset.fileId !== fid) loc.dataset.fileId = fid;
      if (loc.dataset.line !== line) loc.dataset.line = line;
      const href = `#/file/${fid}/${line}`;
      if (loc.getAttribute("href") !== href) loc.setAttribute("href", href);
    }
    const q = li.lastChild;
    if (q.textContent !== f.qualname) q.textContent = f.qualname;
  }
}
