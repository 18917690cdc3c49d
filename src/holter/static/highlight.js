// highlight.js - a small Python syntax highlighter for the file view.
//
// Tokenizes a whole source file once (files of a few thousand lines take a
// few milliseconds) and returns, for each line, the coloured segments as
// [start, end, cls] in JS string indices into that line. renderLine() then
// turns one line into HTML, optionally wrapping ranges in
// <mark class="executing"> (the sub-expression a thread is executing, from
// /api/stacks `pos`); marks are applied to the raw text and the token
// segments are cut at their edges, so the two always nest correctly.
//
// Handles what Python sources actually contain: keywords (soft keywords
// match/case/type at the start of a statement), builtins, strings with any
// r/b/u/f/t prefix, triple-quoted strings spanning lines, f-string
// replacement fields (3.12 nesting included) highlighted as code, comments,
// numbers, decorators, def/class names. It never throws on bad input:
// anything unterminated ends at the end of the line or of the file.

const KEYWORDS = new Set(
  ("and as assert async await break class continue def del elif else except " +
   "finally for from global if import in is lambda nonlocal not or pass raise " +
   "return try while with yield").split(" "));
const CONSTANTS = new Set(["True", "False", "None", "Ellipsis", "NotImplemented", "__debug__"]);
const BUILTINS = new Set(
  ("abs aiter all anext any ascii bin bool breakpoint bytearray bytes callable chr " +
   "classmethod compile complex delattr dict dir divmod enumerate eval exec exit " +
   "filter float format frozenset getattr globals hasattr hash help hex id input " +
   "int isinstance issubclass iter len list locals map max memoryview min next " +
   "object oct open ord pow print property quit range repr reversed round set " +
   "setattr slice sorted staticmethod str sum super tuple type vars zip __import__ " +
   "__name__ __file__ __doc__ " +
   "BaseException BaseExceptionGroup Exception ExceptionGroup ArithmeticError " +
   "AssertionError AttributeError BlockingIOError BrokenPipeError BufferError " +
   "ConnectionError ConnectionResetError EOFError FileExistsError " +
   "FileNotFoundError FloatingPointError GeneratorExit ImportError IndexError " +
   "InterruptedError IsADirectoryError KeyError KeyboardInterrupt LookupError " +
   "MemoryError ModuleNotFoundError NameError NotADirectoryError " +
   "NotImplementedError OSError OverflowError PermissionError ProcessLookupError " +
   "RecursionError ReferenceError RuntimeError StopAsyncIteration StopIteration " +
   "SyntaxError SystemError SystemExit TimeoutError TypeError UnboundLocalError " +
   "UnicodeDecodeError UnicodeEncodeError UnicodeError ValueError " +
   "ZeroDivisionError Warning DeprecationWarning RuntimeWarning UserWarning").split(" "));
const SELF = new Set(["self", "cls"]);

// Sticky regexes, applied at the scanner's position.
const RE_SPACE = /[ \t\f\v]+/y;
const RE_PREFIX_QUOTE = /(?:[rR][bBfFtT]?|[bBfFtT][rR]?|[uU])?('''|"""|'|")/y;
const RE_IDENT = /[\p{L}\p{Nl}_][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}]*/uy;
const RE_NUMBER = new RegExp(
  "0[xX](?:_?[0-9a-fA-F])+|0[bB](?:_?[01])+|0[oO](?:_?[0-7])+" +
  "|(?:\\d(?:_?\\d)*(?:\\.(?:\\d(?:_?\\d)*)?)?|\\.\\d(?:_?\\d)*)" +
  "(?:[eE][+-]?\\d(?:_?\\d)*)?[jJ]?", "y");
const RE_DOTTED = /\s*[\p{L}\p{Nl}_][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}.]*/uy;
const RE_OPERATOR = /\*\*=?|\/\/=?|<<=?|>>=?|->|:=|[-+*\/%&|^@<>=!]=|[-+*\/%&|^~<>=@]/y;
// Rest of a line after a soft keyword, to tell `match x:` from `match = 3`.
const RE_SOFT_TYPE = /^[ \t]+[\p{L}_][\p{L}\p{N}_]*[ \t]*(?:\[.*\])?[ \t]*=(?!=)/u;

class Scanner {
  constructor(src) {
    this.src = src;
    this.pos = 0;
    this.tokens = [];          // [absStart, absEnd, cls], ascending, disjoint
    this.prev = "";            // previous significant token text ("" at start)
    this.lineStart = true;     // next token starts a logical line
  }

  emit(start, end, cls) {
    if (end > start) this.tokens.push([start, end, cls]);
  }

  // Code until the end of the source, or, inside an f-string replacement
  // field (`inField`), until an unbalanced `}`, a top-level `:` (format
  // spec) or `!` conversion; a newline also stops it in a one-line f-string.
  code(inField, singleLine) {
    const s = this.src;
    let depth = 0;
    while (this.pos < s.length) {
      const i = this.pos;
      const c = s[i];
      if (c === "\n" || c === "\r") {
        if (inField && singleLine) return;
        this.pos++;
        if (depth === 0 && !inField) {
          this.lineStart = true;
          this.prev = "";
        }
        continue;
      }
      RE_SPACE.lastIndex = i;
      if (RE_SPACE.test(s)) { this.pos = RE_SPACE.lastIndex; continue; }
      if (c === "\\") {                       // explicit line continuation
        this.pos++;
        if (s[this.pos] === "\r") this.pos++;
        if (s[this.pos] === "\n") this.pos++;
        continue;
      }
      if (c === "#") {
        let j = i;
        while (j < s.length && s[j] !== "\n" && s[j] !== "\r") j++;
        this.emit(i, j, "com");
        this.pos = j;
        continue;
      }
      if (inField && depth === 0) {
        if (c === "}" || (c === ":" && s[i + 1] !== "=") ||
            (c === "!" && s[i + 1] !== "=")) return;
      }
      const atStart = this.lineStart;
      this.lineStart = false;
      RE_PREFIX_QUOTE.lastIndex = i;
      let m = RE_PREFIX_QUOTE.exec(s);
      if (m) {
        this.string(i, m[0].length - m[1].length, m[1]);
        this.prev = "str";
        continue;
      }
      RE_IDENT.lastIndex = i;
      m = RE_IDENT.exec(s);
      if (m) {
        this.word(i, m[0], atStart);
        continue;
      }
      if ((c >= "0" && c <= "9") || (c === "." && s[i + 1] >= "0" && s[i + 1] <= "9")) {
        RE_NUMBER.lastIndex = i;
        m = RE_NUMBER.exec(s);
        if (m) {
          this.emit(i, i + m[0].length, "num");
          this.pos = i + m[0].length;
          this.prev = "num";
          continue;
        }
      }
      if (c === "@" && atStart) {             // decorator: @name.attr
        RE_DOTTED.lastIndex = i + 1;
        m = RE_DOTTED.exec(s);
        const end = m ? i + 1 + m[0].length : i + 1;
        this.emit(i, end, "deco");
        this.pos = end;
        this.prev = "@";
        continue;
      }
      if (c === "." && s[i + 1] === "." && s[i + 2] === ".") {   // Ellipsis
        this.pos = i + 3;
        this.prev = "...";
        continue;
      }
      if ("([{".includes(c)) depth++;
      else if (")]}".includes(c)) depth = Math.max(0, depth - 1);
      else if (c === ";" && depth === 0 && !inField) {
        this.pos = i + 1;
        this.lineStart = true;
        this.prev = ";";
        continue;
      }
      RE_OPERATOR.lastIndex = i;
      m = RE_OPERATOR.exec(s);
      if (m) {
        this.emit(i, i + m[0].length, "op");
        this.pos = i + m[0].length;
        this.prev = m[0];
        continue;
      }
      this.pos = i + 1;
      this.prev = c;
    }
  }

  word(i, w, atStart) {
    const s = this.src;
    const end = i + w.length;
    let cls = null;
    const afterDot = this.prev === ".";
    if (this.prev === "def" || this.prev === "class") {
      cls = this.prev === "def" ? "fn" : "cls";
    } else if (afterDot) {
      cls = null;                               // attribute: obj.print, obj.type
    } else if (KEYWORDS.has(w)) {
      cls = "kw";
    } else if (CONSTANTS.has(w)) {
      cls = "const";
    } else if (atStart && (w === "match" || w === "case") && this.softKeyword(end)) {
      cls = "kw";
    } else if (atStart && w === "type" && RE_SOFT_TYPE.test(this.restOfLine(end))) {
      cls = "kw";
    } else if (SELF.has(w)) {
      cls = "self";
    } else if (BUILTINS.has(w)) {
      cls = "bi";
    }
    this.emit(i, end, cls);
    this.pos = end;
    this.prev = cls === "kw" ? w : "id";
  }

  restOfLine(from) {
    const s = this.src;
    let j = from;
    while (j < s.length && s[j] !== "\n" && s[j] !== "\r") j++;
    return s.slice(from, j);
  }

  // `match`/`case` start a statement when the line ends with `:` and the
  // word is not itself being assigned, called or subscripted-and-assigned.
  softKeyword(end) {
    const rest = this.restOfLine(end).replace(/#.*$/, "").trimEnd();
    if (!/^[ \t]/.test(rest) && !/^[(\[{'"]/.test(rest)) return false;
    return rest.endsWith(":") && !/^\s*[=.,)]/.test(rest);
  }

  // A string literal starting at `i`, with a prefix of `plen` characters.
  string(i, plen, quote) {
    const s = this.src;
    const prefix = s.slice(i, i + plen).toLowerCase();
    const isF = prefix.includes("f") || prefix.includes("t");
    const triple = quote.length === 3;
    let j = i + plen + quote.length;
    let segStart = i;
    for (;;) {
      if (j >= s.length) { this.emit(segStart, j, "str"); this.pos = j; return; }
      const c = s[j];
      if (c === "\\") { j += (s[j + 1] === "\r" && s[j + 2] === "\n") ? 3 : 2; continue; }
      if (!triple && (c === "\n" || c === "\r")) {   // unterminated
        this.emit(segStart, j, "str"); this.pos = j; return;
      }
      if (s.startsWith(quote, j)) {
        j += quote.length;
        this.emit(segStart, j, "str"); this.pos = j; return;
      }
      if (isF && c === "{") {
        if (s[j + 1] === "{") { j += 2; continue; }
        this.emit(segStart, j + 1, "str");
        this.pos = j + 1;
        this.field(!triple);
        j = this.pos;
        segStart = j;
        continue;
      }
      j++;
    }
  }

  // An f-string replacement field after its `{`: expression, optional `=`,
  // `!conv`, `:spec` (which may hold nested fields), closing `}`.
  field(singleLine) {
    const s = this.src;
    const savedPrev = this.prev;
    const savedStart = this.lineStart;
    this.prev = "{";
    this.lineStart = false;
    this.code(true, singleLine);
    this.prev = savedPrev;
    this.lineStart = savedStart;
    let j = this.pos;
    if (s[j] === "!") {                           // conversion: !r !s !a
      let k = j + 1;
      while (k < s.length && /[a-z]/i.test(s[k])) k++;
      this.emit(j, k, "op");
      j = k;
    }
    if (s[j] === ":") {                           // format spec
      let segStart = j;
      while (j < s.length && s[j] !== "}") {
        if (singleLine && (s[j] === "\n" || s[j] === "\r")) break;
        if (s[j] === "{") {
          this.emit(segStart, j + 1, "str");
          this.pos = j + 1;
          this.field(singleLine);        // consumes its own `}`
          j = this.pos;
          segStart = j;
          continue;
        }
        j++;
      }
      this.emit(segStart, j, "str");
    }
    if (s[j] === "}") {
      this.emit(j, j + 1, "str");
      j++;
    }
    this.pos = j;
  }
}

const RE_NEWLINE = /\r\n|\r|\n/g;

/** Split a source into lines the way the compiler numbers them (\n, \r\n,
 *  \r), without a phantom empty line after a final newline. */
export function splitLines(source) {
  const lines = source.split(RE_NEWLINE);
  if (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();
  return lines;
}

/** Tokenize a whole source. Returns {lines, segs}: lines[i] is the text of
 *  line i+1, segs[i] its coloured segments [start, end, cls] (line-relative
 *  JS indices, ascending, disjoint). */
export function highlightSource(source) {
  const lines = splitLines(source);
  const sc = new Scanner(source);
  try {
    sc.code(false, false);
  } catch (e) {
    // A highlighter bug must not cost the user the source: show the rest plain.
    console.error("holter: highlighter failed", e);
  }
  const segs = lines.map(() => []);
  // Line start offsets in the source, to cut tokens that span lines.
  const starts = new Array(lines.length);
  let off = 0;
  for (let i = 0; i < lines.length; i++) {
    starts[i] = off;
    off += lines[i].length;
    if (source[off] === "\r" && source[off + 1] === "\n") off += 2;
    else off += 1;
  }
  let li = 0;
  for (const [a, b, cls] of sc.tokens) {
    if (!cls) continue;
    while (li + 1 < lines.length && starts[li + 1] <= a) li++;
    let k = li;
    let from = a;
    while (k < lines.length && from < b) {
      const lineEnd = starts[k] + lines[k].length;
      const to = Math.min(b, lineEnd);
      if (to > from) segs[k].push([from - starts[k], to - starts[k], cls]);
      k++;
      if (k < lines.length) from = Math.max(from, starts[k]);
    }
  }
  return { lines, segs };
}

const ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
export function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (ch) => ESC[ch]);
}

/** HTML for one line: `segs` from highlightSource, `marks` sorted, disjoint
 *  [start, end) ranges (JS indices) wrapped in <mark class="executing">. */
export function renderLine(text, segs, marks) {
  if (!marks || marks.length === 0) {
    let html = "";
    let at = 0;
    for (const [a, b, cls] of segs) {
      if (a > at) html += escapeHtml(text.slice(at, a));
      html += `<span class="t-${cls}">${escapeHtml(text.slice(a, b))}</span>`;
      at = b;
    }
    return html + escapeHtml(text.slice(at));
  }
  // Cut points: token edges and mark edges; each piece has one class and is
  // entirely inside or outside a mark.
  const cuts = new Set([0, text.length]);
  for (const [a, b] of segs) { cuts.add(a); cuts.add(b); }
  for (const [a, b] of marks) { cuts.add(Math.min(a, text.length)); cuts.add(Math.min(b, text.length)); }
  const points = [...cuts].sort((x, y) => x - y);
  let html = "";
  let si = 0;
  let mi = 0;
  let inMark = false;
  for (let p = 0; p + 1 < points.length; p++) {
    const a = points[p];
    const b = points[p + 1];
    while (si < segs.length && segs[si][1] <= a) si++;
    while (mi < marks.length && marks[mi][1] <= a) mi++;
    const cls = si < segs.length && segs[si][0] <= a ? segs[si][2] : null;
    const marked = mi < marks.length && marks[mi][0] <= a;
    if (marked !== inMark) {
      html += marked ? '<mark class="executing">' : "</mark>";
      inMark = marked;
    }
    const piece = escapeHtml(text.slice(a, b));
    html += cls ? `<span class="t-${cls}">${piece}</span>` : piece;
  }
  if (inMark) html += "</mark>";
  return html;
}

/** JS string index of a 0-based UTF-8 byte column in `text` (as in
 *  co_positions). A column inside a multi-byte character rounds down;
 *  past the end clamps to the end. */
export function byteColToIndex(text, col) {
  if (col <= 0) return 0;
  if (!/[^\x00-\x7f]/.test(text)) return Math.min(col, text.length);
  const bytes = new TextEncoder().encode(text);
  if (col >= bytes.length) return text.length;
  // stream: true holds back an incomplete trailing sequence instead of
  // turning it into U+FFFD, so a mid-character column rounds down.
  return new TextDecoder().decode(bytes.subarray(0, col), { stream: true }).length;
}
