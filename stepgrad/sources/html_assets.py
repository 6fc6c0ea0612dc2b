"""The stylesheet and the script of the HTML stepper (see :mod:`stepgrad.sources.html`).

Kept as Python strings so the package needs no data files. The script is plain ES2015 in one
closure: it defines no global, finds its own root element, reads its data from the JSON beside
it and sets every text with ``textContent`` (never as HTML). It loads nothing.
"""

from __future__ import annotations

__all__ = ["CSS", "SCRIPT"]

_LIGHT = (
    "--sg-bg:#fbfbfc;--sg-fg:#1f2328;--sg-dim:#8b919a;--sg-acc:#0a5fbf;--sg-cur:#b04c00;"
    "--sg-done:#17803a;--sg-grad:#9c2a96;--sg-const:#00737c;--sg-warn:#8a5a00;"
    "--sg-err:#c4202c;--sg-btn:#eceff3;--sg-line:#d0d7de;"
)
_DARK = (
    "--sg-bg:#16181d;--sg-fg:#d8dde4;--sg-dim:#6d7480;--sg-acc:#5fa8ff;--sg-cur:#ffc24b;"
    "--sg-done:#4cc46f;--sg-grad:#e27ad8;--sg-const:#4fc6cf;--sg-warn:#e3b341;"
    "--sg-err:#ff6b6b;--sg-btn:#2a2e36;--sg-line:#3a3f4a;"
)
_MONO = 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, "Liberation Mono", monospace'

CSS = (
    f".stepgrad{{{_LIGHT}color:var(--sg-fg);background:var(--sg-bg);"
    "border:1px solid var(--sg-line);border-radius:6px;padding:8px 10px;margin:4px 0;"
    "box-sizing:border-box;max-width:100%;text-align:left;"
    "font:14px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;outline:none}"
    ".stepgrad:focus,.stepgrad:focus-within{border-color:var(--sg-acc)}"
    f".stepgrad.sg-dark{{{_DARK}}}"
    f"@media (prefers-color-scheme: dark){{.stepgrad:not(.sg-light){{{_DARK}}}}}"
    f"body[data-jp-theme-light=false] .stepgrad:not(.sg-light),"
    f"body.vscode-dark .stepgrad:not(.sg-light),"
    f"body.vscode-high-contrast:not(.vscode-high-contrast-light) .stepgrad:not(.sg-light)"
    f"{{{_DARK}}}"
    f"body.vscode-light .stepgrad:not(.sg-dark),body[data-jp-theme-light=true] "
    f".stepgrad:not(.sg-dark){{{_LIGHT}}}"
    ".stepgrad .sg-top{font-family:" + _MONO + ";margin-bottom:2px;overflow-wrap:anywhere}"
    ".stepgrad .sg-status{font-family:" + _MONO + ";margin-bottom:6px}"
    ".stepgrad .sg-note{font-family:" + _MONO + ";color:var(--sg-warn);min-height:0}"
    ".stepgrad .sg-bar{display:flex;flex-wrap:wrap;gap:4px;align-items:center;margin:4px 0 6px}"
    ".stepgrad button{font:13px/1.2 " + _MONO + ";color:var(--sg-fg);"
    "background:var(--sg-btn);border:1px solid var(--sg-line);border-radius:4px;"
    "padding:3px 8px;cursor:pointer}"
    ".stepgrad button:hover:not(:disabled){border-color:var(--sg-acc)}"
    ".stepgrad button:disabled{opacity:.45;cursor:default}"
    ".stepgrad .sg-noscript{color:var(--sg-warn);font-size:12px;margin:2px 0 4px}"
    ".stepgrad .sg-warning{color:var(--sg-warn);font-size:12px;margin:2px 0}"
    ".stepgrad .sg-keys{color:var(--sg-dim);font-size:12px;margin-left:6px}"
    ".stepgrad .sg-graph{overflow:auto;max-height:70vh;border:1px solid var(--sg-line);"
    "border-radius:4px;padding:4px 6px;margin-bottom:6px}"
    ".stepgrad .sg-canvas{font-family:" + _MONO + ";font-size:13px;line-height:1.2;"
    "white-space:pre;font-variant-ligatures:none;font-kerning:none;display:inline-block;"
    "min-width:100%}"
    ".stepgrad .sg-canvas>div{height:1.2em}"
    ".stepgrad .sg-title-line{font-family:" + _MONO + ";font-weight:bold;"
    "border-top:2px solid var(--sg-acc);padding-top:3px;margin-top:2px;"
    "overflow-wrap:anywhere}"
    ".stepgrad .sg-panel{font-family:" + _MONO + ";font-size:13px;overflow-x:auto;"
    "padding:2px 0}"
    ".stepgrad .sg-panel>div{white-space:pre-wrap;overflow-wrap:anywhere}"
    ".stepgrad table{border-collapse:collapse;margin:2px 0;font:inherit}"
    ".stepgrad th{font-weight:normal;color:var(--sg-dim);text-align:left;padding:0 14px 0 0;"
    "white-space:normal;vertical-align:bottom}"
    ".stepgrad td{padding:0 14px 0 0;vertical-align:top;white-space:pre-wrap}"
    ".stepgrad td.sg-num{text-align:right}"
    # a narrow panel (a phone, a thin notebook column): each edge as a block of labelled lines
    # instead of six columns that ran off the right edge
    ".stepgrad .sg-panel{container-type:inline-size}"
    "@container (max-width:620px){"
    ".stepgrad .sg-panel table,.stepgrad .sg-panel tbody,.stepgrad .sg-panel tr,"
    ".stepgrad .sg-panel td{display:block}"
    ".stepgrad .sg-panel tr.sg-head{display:none}"
    ".stepgrad .sg-panel tr{margin:0 0 6px 0}"
    ".stepgrad .sg-panel td{padding:0 0 0 2ch}"
    ".stepgrad .sg-panel td:first-child{padding:0}"
    ".stepgrad .sg-panel td.sg-num{text-align:left}"
    ".stepgrad .sg-panel td[data-label]::before{content:attr(data-label) ': ';"
    "color:var(--sg-dim)}}"
    ".stepgrad .sg-b{font-weight:bold}.stepgrad .sg-dim{color:var(--sg-dim)}"
    ".stepgrad .sg-ok{color:var(--sg-done);font-weight:bold}"
    ".stepgrad .sg-warn{color:var(--sg-warn);font-weight:bold}"
    ".stepgrad .sg-acc{color:var(--sg-acc);font-weight:bold}"
    ".stepgrad .sg-err{color:var(--sg-err);font-weight:bold}"
    # the drawing's styles (see STYLE_CLASSES): never colour alone, the characters say it too
    ".stepgrad .nc{color:var(--sg-cur);font-weight:bold}"
    ".stepgrad .nd{color:var(--sg-done)}"
    ".stepgrad .nw,.stepgrad .nx,.stepgrad .ex,.stepgrad .eh{color:var(--sg-dim)}"
    ".stepgrad .ea{color:var(--sg-cur);font-weight:bold}"
    ".stepgrad .ed{color:var(--sg-done)}"
    ".stepgrad .l,.stepgrad .m{font-weight:bold}"
    ".stepgrad .g{color:var(--sg-grad)}"
    ".stepgrad .k{color:var(--sg-const)}"
)

SCRIPT = r"""
(function () {
  "use strict";
  var here = document.currentScript;
  var root = document.getElementById("__ROOT__");
  if (here && here.closest && here.closest(".stepgrad")) root = here.closest(".stepgrad");
  if (!root || root.getAttribute("data-sg-ready")) return;
  root.setAttribute("data-sg-ready", "1");
  var packed = root.querySelector("script.sg-data").textContent.trim();
  if (typeof DecompressionStream === "undefined") return;
  // keys and clicks that come while the data is unpacked (a quick → right after the page
  // opens: a large page takes a few tenths of a second) are kept and done once it is ready
  var KEYS = {
    ArrowRight: "next", l: "next", " ": "next", ArrowLeft: "prev", h: "prev",
    Home: "home", End: "end", z: "zero", b: "again"
  };
  var early = [], page = root.id === "sg-page";
  function hold(event) {
    if (event.type === "click") {
      var b = event.target.closest ? event.target.closest("button[data-act]") : null;
      if (!b || !root.contains(b)) return;
      early.push(["act", b.getAttribute("data-act")]);
    } else {
      if (event.ctrlKey || event.metaKey || event.altKey || !KEYS[event.key]) return;
      var on = event.target.closest ? event.target.closest("button[data-act]") : null;
      if (event.key === " " && on && root.contains(on)) {
        early.push(["act", on.getAttribute("data-act")]);  // Space presses a focused button
      } else {
        early.push(["key", event.key]);
      }
    }
    event.preventDefault();
  }
  root.addEventListener("click", hold, true);
  (page ? document : root).addEventListener("keydown", hold, true);
  var bytes = Uint8Array.from(atob(packed), function (c) { return c.charCodeAt(0); });
  var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
  new Response(stream).text().then(function (text) { start(JSON.parse(text)); });

function start(data) {
  var W = data.width, H = data.height, N = data.total;
  var scenes = data.scenes, steps = data.steps;
  var canvasEl = root.querySelector(".sg-canvas");
  var graphEl = root.querySelector(".sg-graph");
  var statusEl = root.querySelector(".sg-status");
  var titleEl = root.querySelector(".sg-title-line");
  var panelEl = root.querySelector(".sg-panel");
  var hint = root.querySelector(".sg-noscript");
  if (hint) hint.parentNode.removeChild(hint);
  var noteEl = document.createElement("div");
  noteEl.className = "sg-note";
  statusEl.parentNode.insertBefore(noteEl, statusEl.nextSibling);
  var buttons = {};
  Array.prototype.forEach.call(root.querySelectorAll("button[data-act]"), function (b) {
    buttons[b.getAttribute("data-act")] = b;
  });

  // the canvas: characters and style ids per row, from the data
  while (canvasEl.firstChild) canvasEl.removeChild(canvasEl.firstChild);
  var chars = [], sty = [], rowEls = [];
  for (var y = 0; y < H; y++) {
    var row = data.base[y], cs = Array.from(row[0]), ss = [];
    for (var r = 0; r < row[1].length; r += 2) {
      for (var i = 0; i < row[1][r + 1]; i++) ss.push(row[1][r]);
    }
    while (cs.length < W) cs.push(" ");
    while (ss.length < W) ss.push(0);
    chars.push(cs); sty.push(ss);
    var div = document.createElement("div");
    canvasEl.appendChild(div);
    rowEls.push(div);
  }
  canvasEl.style.width = W + "ch";
  var dirty = {};
  for (var d0 = 0; d0 < H; d0++) dirty[d0] = true;
  var undo = [];  // one entry per applied delta: the cells it overwrote

  function apply(delta) {
    var saved = [];
    for (var d = 0; d < delta.length; d++) {
      var seg = delta[d], y = seg[0], x = seg[1], text = Array.from(seg[2]);
      var ids = [], k = 3;
      while (ids.length < text.length) {
        var s = seg[k], n = k + 1 < seg.length ? seg[k + 1] : text.length - ids.length;
        for (var j = 0; j < n; j++) ids.push(s);
        k += 2;
      }
      saved.push([y, x, chars[y].slice(x, x + text.length), sty[y].slice(x, x + text.length)]);
      for (var m = 0; m < text.length; m++) { chars[y][x + m] = text[m]; sty[y][x + m] = ids[m]; }
      dirty[y] = true;
    }
    undo.push(saved);
  }

  function unapply() {
    var saved = undo.pop();
    for (var d = saved.length - 1; d >= 0; d--) {
      var e = saved[d], y = e[0], x = e[1];
      for (var m = 0; m < e[2].length; m++) { chars[y][x + m] = e[2][m]; sty[y][x + m] = e[3][m]; }
      dirty[y] = true;
    }
  }

  function paintRows() {
    Object.keys(dirty).forEach(function (key) {
      var y = +key, cs = chars[y], ss = sty[y], end = cs.length;
      while (end > 0 && cs[end - 1] === " " && !ss[end - 1]) end--;
      var el = rowEls[y];
      while (el.firstChild) el.removeChild(el.firstChild);
      var x = 0;
      while (x < end) {
        var s = ss[x], z = x;
        while (z < end && ss[z] === s) z++;
        var text = cs.slice(x, z).join("");
        if (s && data.styles[s]) {
          var span = document.createElement("span");
          span.className = data.styles[s];
          span.textContent = text;
          el.appendChild(span);
        } else {
          el.appendChild(document.createTextNode(text));
        }
        x = z;
      }
    });
    dirty = {};
  }

  // the walkthrough: which stored pass is shown, at which step, with which pass number
  var st = { scene: "fresh", step: 0, pass: 1, note: "" };
  undo.push([]);  // the first pass's step 0 is the markup itself

  function enter(scene) {
    while (undo.length) unapply();
    st.scene = scene; st.step = 0;
    apply(scenes[scene].deltas[0]);
  }
  function go(k) {
    if (st.scene === "zeroed") return false;
    k = Math.max(0, Math.min(N, k));
    if (k === st.step) return false;
    while (undo.length - 1 < k) apply(scenes[st.scene].deltas[undo.length]);
    while (undo.length - 1 > k) unapply();
    st.step = k; st.note = "";
    return true;
  }
  function cleared() { return st.scene === "zeroed"; }
  function finished() { return cleared() || st.step >= N; }
  function can(act) {
    if (act === "next" || act === "end") return !finished();
    if (act === "prev" || act === "home") return !cleared() && st.step > 0;
    if (act === "again") return finished() && st.scene !== "again";
    return true;
  }

  function act(name) {
    if (name === "next") return go(st.step + 1);
    if (name === "prev") return go(st.step - 1);
    if (name === "home") return go(0);
    if (name === "end") return go(N);
    if (name === "zero") {
      if (!cleared() && st.step === 0 && N > 0) enter("clean");  // a pass with no steps is over
      else if (!cleared()) enter("zeroed");
      st.note = "zero_grad: all grads set to 0; the next pass starts clean.";
      return true;
    }
    if (name === "again") {
      if (!finished()) return false;
      if (st.scene === "again") {
        st.note = "This page stores two accumulated passes: press z (zero_grad), then b, " +
          "for a clean pass.";
        return true;
      }
      if (cleared()) {
        enter("clean");
        st.note = "zero_grad was called: this pass starts from 0.";
      } else {
        enter("again");
        st.note = "No zero_grad: pass " + (st.pass + 1) + " adds to the grads of pass " +
          st.pass + ", so at its end every grad is exactly 2x one pass's grad.";
      }
      st.pass += 1;
      return true;
    }
    if (name === "look") {
      var dark = root.classList.contains("sg-dark") ||
        (!root.classList.contains("sg-light") &&
         getComputedStyle(root).getPropertyValue("--sg-bg").trim() === "#16181d");
      root.classList.toggle("sg-dark", !dark);
      root.classList.toggle("sg-light", dark);
      return false;
    }
    return false;
  }

  // the text around the drawing
  function fill(text) {
    return text.replace(/\{p\}/g, String(st.pass)).replace(/\{q\}/g, String(st.pass - 1));
  }
  function piece(text, cls) {
    var el = document.createElement("span");
    if (cls) el.className = "sg-" + cls;
    el.textContent = fill(text);
    return el;
  }
  function line(segments) {
    var div = document.createElement("div");
    segments.forEach(function (s) { div.appendChild(piece(s[0], s[1])); });
    return div;
  }
  function cell(tag, parts, cls) {
    var td = document.createElement(tag);
    if (cls) td.className = cls;
    parts.forEach(function (p) {
      td.appendChild(typeof p === "string" ? document.createTextNode(p) : piece(p[0], p[1]));
    });
    return td;
  }
  var ORDINAL = ["", "1st", "2nd", "3rd"];

  function status() {
    var parts = ["pass " + st.pass, " · "];
    if (cleared()) {
      parts.push("grads zeroed");
    } else {
      parts.push("step " + st.step + " of " + N, " · ");
      var pass1 = st.scene === "fresh";
      var word = cleared() ? "zeroed" : st.step >= N ? "✓ done" : st.step === 0 ?
        (pass1 ? "not started" : "ready") : "in progress";
      parts.push(word);
      if (st.scene === "again") parts.push(" · grads accumulate (no zero_grad)");
      else if (st.scene === "clean" && (st.pass > 1 || st.step === 0)) {
        parts.push(" · grads zeroed before this pass");
      }
    }
    return parts.join("");
  }

  function title() {
    if (cleared()) return "pass " + st.pass + " · zero_grad";
    if (st.step === 0) return "pass " + st.pass + " · step 0 of " + N + " · nothing fired yet";
    var s = steps[st.step - 1];
    return "step " + st.step + " of " + N + " · " + s[1] + " fires · upstream " + s[2] +
      " = " + s[3];
  }

  function panel() {
    var scene = scenes[st.scene];
    var out = [];
    if (cleared() || st.step === 0) {
      scene.start.forEach(function (l) { out.push(line(l)); });
      return out;
    }
    var s = steps[st.step - 1], grads = scene.grads[st.step - 1];
    if (!s[4].length) {
      out.push(line([["(no edge needs a gradient: its inputs are constants)", "dim"]]));
    } else {
      var table = document.createElement("table");
      var head = document.createElement("tr");
      var labels = ["edge", "local derivative", "local", "upstream × local = contribution",
                    "grad before → after", "then"];
      head.className = "sg-head";
      labels.forEach(function (h) { head.appendChild(cell("th", [h])); });
      table.appendChild(head);
      s[4].forEach(function (e, i) {
        var tr = document.createElement("tr");
        var g = grads[i];
        tr.appendChild(cell("td", [[e[0], "b"]]));
        tr.appendChild(cell("td", [e[1]]));
        tr.appendChild(cell("td", [e[2]], "sg-num"));
        tr.appendChild(cell("td", [e[5] || s[3] + " × " + e[2] + " = " + e[3]]));
        tr.appendChild(cell("td", g[0] === null ? ["— → ", [g[1], "b"]] :
          [g[0] + " + " + g[2] + " → ", [g[1], "b"], ["  +=", "warn"]]));
        tr.appendChild(cell("td", [[e[4], "dim"]]));
        for (var c = 1; c < labels.length; c++) {  // the labels a narrow panel shows
          tr.children[c].setAttribute("data-label", labels[c]);
        }
        table.appendChild(tr);
      });
      out.push(table);
    }
    scene.notes[st.step - 1].forEach(function (l) { out.push(line(l)); });
    if (st.step >= N) scene.done.forEach(function (l) { out.push(line(l)); });
    return out;
  }

  // follow the step: keep the firing node and its inputs in view
  function follow() {
    if (graphEl.scrollHeight <= graphEl.clientHeight + 2 &&
        graphEl.scrollWidth <= graphEl.clientWidth + 2) return;
    var ids = [];
    if (!cleared() && st.step > 0) {
      var s = steps[st.step - 1];
      ids = [s[0]].concat(s[5]);
    } else if (!cleared() && N > 0) {
      ids = [steps[0][0]];
    }
    ids = ids.filter(function (n) { return String(n) in data.boxes; });
    if (!ids.length) return;
    var cw = canvasEl.offsetWidth / W, ch = canvasEl.offsetHeight / H;
    // where the canvas sits inside the scrolled pane (offsetLeft would be from the page)
    var outer = graphEl.getBoundingClientRect(), inner = canvasEl.getBoundingClientRect();
    var left = inner.left - outer.left + graphEl.scrollLeft - graphEl.clientLeft;
    var top = inner.top - outer.top + graphEl.scrollTop - graphEl.clientTop;
    var vx0 = graphEl.scrollLeft, vy0 = graphEl.scrollTop;
    var vw = graphEl.clientWidth, vh = graphEl.clientHeight;
    function span(list, lo, size, scale, offset) {  // [start, end] in pixels of the boxes
      var a = Infinity, b = -Infinity;
      list.forEach(function (n) {
        var box = data.boxes[String(n)];
        a = Math.min(a, box[lo]); b = Math.max(b, box[lo] + box[size]);
      });
      return [offset + a * scale, offset + b * scale];
    }
    // the firing node and its inputs; where they do not fit together, the firing node
    var xs = span(ids, 0, 2, cw, left), ys = span(ids, 1, 3, ch, top);
    if (xs[1] - xs[0] > vw) xs = span(ids.slice(0, 1), 0, 2, cw, left);
    if (ys[1] - ys[0] > vh) ys = span(ids.slice(0, 1), 1, 3, ch, top);
    if (xs[0] < vx0 || xs[1] > vx0 + vw) {
      graphEl.scrollLeft = Math.max(0, (xs[0] + xs[1]) / 2 - vw / 2);
    }
    if (ys[0] < vy0 || ys[1] > vy0 + vh) {
      graphEl.scrollTop = Math.max(0, (ys[0] + ys[1]) / 2 - vh / 2);
    }
  }

  function show() {
    paintRows();
    statusEl.textContent = status();
    noteEl.textContent = st.note;
    titleEl.textContent = title();
    while (panelEl.firstChild) panelEl.removeChild(panelEl.firstChild);
    panel().forEach(function (el) { panelEl.appendChild(el); });
    ["home", "prev", "next", "end", "again"].forEach(function (a) {
      if (buttons[a]) buttons[a].disabled = !can(a) && !(a === "again" && finished());
    });
    root.setAttribute("data-sg-state", st.scene + ":" + st.step + ":" + st.pass);
    follow();
  }

  function run(name) {
    if (act(name)) show();
  }
  Object.keys(buttons).forEach(function (name) {
    buttons[name].addEventListener("click", function (event) {
      event.preventDefault();
      run(name);
      // a mouse click gives the keys back to the stepper; Space or Enter on a button reached
      // with Tab leaves it there, so a second Space presses it again
      if (event.detail !== 0) root.focus({ preventScroll: true });
    });
  });
  function key(event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    // Space on a button reached with Tab presses that button, as on any page
    if (event.key === " " && event.target.tagName === "BUTTON") return;
    var name = KEYS[event.key];
    if (!name) return;
    event.preventDefault();
    event.stopPropagation();
    run(name);
  }
  root.addEventListener("keydown", key);
  root.removeEventListener("click", hold, true);
  (page ? document : root).removeEventListener("keydown", hold, true);
  if (root.id === "sg-page") {
    // the page --html writes holds this stepper alone: its keys work from anywhere on the
    // page, from the moment it opens (a double-click, then →), with no click first
    document.addEventListener("keydown", function (event) {
      if (!root.contains(event.target)) key(event);
    });
    root.focus({ preventScroll: true });
  }
  show();
  early.forEach(function (e) {
    if (e[0] === "act") run(e[1]);
    else key({ key: e[1], target: root, preventDefault: function () {},
               stopPropagation: function () {} });
  });
}
})();
"""
