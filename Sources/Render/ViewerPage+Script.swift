/// The viewer page's script: reads the embedded data, keeps the model at an instant, the view
/// state, the side panel, the URL, search, interaction and play. Its drawing of the tree
/// and the canvas lanes is `drawingScript` (ViewerPage+Drawing.swift). Colours are `Palette`'s.
extension ViewerPage {
    static var script: String { scriptHead + "\n" + drawingScript + "\n" + scriptTail }

    static var scriptHead: String {
        #"""
"use strict";
(function(){
const D = JSON.parse(document.getElementById("data").textContent);
const S = D.S;
const PAL = {
  band: ["\#(Palette.new)","\#(Palette.ready)","\#(Palette.running)","\#(Palette.blocked)","\#(Palette.waiting)","\#(Palette.traced)",
    "\#(Palette.stopped)","\#(Palette.zombie)","\#(Palette.unknownGap)","\#(Palette.runnable)","\#(Palette.alive_)"],
  fill: ["\#(Palette.exitedOK)","\#(Palette.nonZero)","\#(Palette.killed)","\#(Palette.alive)"],
  killedBorder: "\#(Palette.killedBorder)", critical: "\#(Palette.criticalPath)", orphan: "\#(Palette.orphanBorder)",
  unknown: "\#(Palette.unknown)", auto: "\#(Palette.autoBorder)"
};
const BAND_NAMES = ["new","ready","running","blocked","blocked in wait4()/waitid(): waiting for a child","stopped by the tracer",
  "stopped (job control)","zombie: exited, not yet reaped","state unknown (the state source stopped)","runnable (sampled: ready or running)",
  "alive (no scheduler states)"];
const BZ = 7, BUNK = 8;
const N = D.pid.length;
// ---- derived arrays ----
const VA = new Float64Array(D.vt.length), VC = new Float64Array(D.vt.length);
const fix = new Map();
for (let k = 0; k < D.cpuFix.length; k += 2) fix.set(D.cpuFix[k], D.cpuFix[k+1]);
for (let i = 0; i < N; i++) {
  let t = D.sBirth[i], c = 0, run = 0, pt = t;
  for (let v = D.vOff[i]; v < D.vOff[i+1]; v++) {
    t += D.vt[v]; VA[v] = t;
    c = v === D.vOff[i] ? 0 : c + run * (t - pt);
    if (fix.has(v)) c = fix.get(v);
    VC[v] = c; run = D.lRun[D.vl[v]]; pt = t;
  }
}
function offsets(col) { const o = new Int32Array(N + 1); for (const p of col) o[p + 1]++; for (let i = 0; i < N; i++) o[i+1] += o[i]; return o; }
const EO = offsets(D.ep), SO = offsets(D.sgp), RO = offsets(D.rp), WO = offsets(D.wp), FO = offsets(D.fxp);
const kids = Array.from({length: N}, () => []);
const depth = new Int32Array(N);
for (let i = 0; i < N; i++) { const p = D.parent[i]; if (p >= 0) { kids[p].push(i); depth[i] = depth[p] + 1; } }
const byPid = new Map();
for (let i = 0; i < N; i++) { if (!byPid.has(D.pid[i])) byPid.set(D.pid[i], []); byPid.get(D.pid[i]).push(i); }
const crit = new Set(D.cpP);
const T_END = D.end;
let T_FIRST = Infinity;
for (let i = 0; i < N; i++) if (D.birth[i] < T_FIRST) T_FIRST = D.birth[i];
if (!isFinite(T_FIRST)) T_FIRST = 0;
function lifeEnd(i) { return D.sEnd[i] >= 0 ? D.sEnd[i] : (D.reapT[i] >= 0 ? D.reapT[i] : T_END); }
function lifeStart(i) { return D.sBirth[i] >= 0 ? D.sBirth[i] : D.birth[i]; }
// ---- formatting (as the text views) ----
function pad(n, w) { let s = String(n); while (s.length < w) s = "0" + s; return s; }
function clock(ns) { ns = Math.max(0, Math.floor(ns)); return Math.floor(ns / 1e9) + "." + pad(Math.floor((ns % 1e9) / 1e3), 6); }
function cpuTime(ns) { const cs = Math.floor(ns / 1e7), s = Math.floor(cs / 100), m = Math.floor(s / 60), r = s % 60, h = cs % 100;
  return m + ":" + (r < 10 ? "0" : "") + r + "." + (h < 10 ? "0" : "") + h; }
function fixed(v, d) { const p = Math.pow(10, d); const n = Math.round(v * p); const w = Math.floor(n / p); let f = String(n % p);
  while (f.length < d) f = "0" + f; return d === 0 ? String(w) : w + "." + f; }
function dur(ns) {
  const a = Math.abs(ns), sign = ns < 0 ? "-" : "";
  function sig(v, u) { return sign + (v >= 100 ? String(Math.round(v)) : v >= 10 ? fixed(v, 1) : fixed(v, 2)) + u; }
  if (a < 1e3) return sign + a + "ns";
  if (a < 1e6) return sig(a / 1e3, "µs");
  if (a < 1e9) return sig(a / 1e6, "ms");
  if (a < 60e9) return sig(a / 1e9, "s");
  const ts = Math.floor(a / 1e9), m = Math.floor(ts / 60), s = ts % 60;
  if (m < 60) return sign + m + "m" + (s < 10 ? "0" : "") + s + "s";
  return sign + Math.floor(m / 60) + "h" + (m % 60 < 10 ? "0" : "") + (m % 60) + "m";
}
function parseInstant(text) {
  const units = [["ns",1],["us",1e3],["µs",1e3],["ms",1e6],["s",1e9]];
  let num = text, mult = 1e9;
  for (const [u, m] of units) if (text.endsWith(u)) { num = text.slice(0, -u.length); mult = m; break; }
  if (!/^[0-9.eE+-]+$/.test(num)) return null;
  const v = Number(num);
  if (!isFinite(v) || v < 0) return null;
  return Math.round(v * mult);
}
function nsText(ns) { let s = (ns / 1e9).toFixed(9); s = s.replace(/0+$/, "").replace(/\.$/, ""); return s; }
// ---- the model at an instant: the last version at or before t ----
function lastAtOrBefore(arr, lo, hi, t) { // arr[lo..hi) sorted; index of last <= t or lo-1
  let a = lo, b = hi - 1, r = lo - 1;
  while (a <= b) { const m = (a + b) >> 1; if (arr[m] <= t) { r = m; a = m + 1; } else b = m - 1; }
  return r;
}
function aliveAt(i, t) { return D.sBirth[i] >= 0 && D.sBirth[i] <= t && (D.sEnd[i] < 0 || D.sEnd[i] > t); }
function versionAt(i, t) { return lastAtOrBefore(VA, D.vOff[i], D.vOff[i+1], t); }
function identAt(i, t) { return lastAtOrBefore(D.it, D.iOff[i], D.iOff[i+1], t); }
let model = D.model;
function worldAt(t) {
  const alive = [];
  for (let i = 0; i < N; i++) if (aliveAt(i, t)) alive.push(i);
  const rows = new Map(); // pid -> row
  for (const i of alive) {
    const v = versionAt(i, t), k = identAt(i, t);
    if (v < D.vOff[i] || k < D.iOff[i]) continue;
    const look = D.vl[v];
    rows.set(D.pid[i], { i, pid: D.pid[i], ppid: Number(S[D.ip[k]]), birth: D.sBirth[i],
      tree: S[D.ih[k]] + S[model === "three" ? D.lS3[look] : D.lS5[look]],
      cells: [S[D.ip[k]], S[D.idText[i]], S[D.ig[k]], S[D.is[k]], S[D.lStat[look]],
              D.source === "none" ? "-" : cpuTime(VC[v] + D.lRun[look] * (t - VA[v])), S[D.ic[k]]] });
  }
  const ch = new Map(), roots = [];
  const cmp = (a, b) => a.birth - b.birth || a.pid - b.pid;
  for (const r of rows.values()) {
    if (rows.has(r.ppid) && r.ppid !== r.pid) { if (!ch.has(r.ppid)) ch.set(r.ppid, []); ch.get(r.ppid).push(r); }
    else roots.push(r);
  }
  for (const l of ch.values()) l.sort(cmp);
  roots.sort(cmp);
  const order = [], stack = roots.slice().reverse().map(r => [0, r]);
  while (stack.length) { const [d, r] = stack.pop(); order.push([d, r]); const c = ch.get(r.pid) || []; for (let j = c.length - 1; j >= 0;
    j--) stack.push([d + 1, c[j]]); }
  const last = [];
  order.forEach(([d, r], k) => {
    let isLast = true;
    for (let j = k + 1; j < order.length && order[j][0] >= d; j++) if (order[j][0] === d) { isLast = false; break; }
    while (last.length <= d) last.push(false);
    last[d] = isLast;
    let prefix = "";
    if (d > 0) { for (let x = 1; x < d; x++) prefix += last[x] ? "  " : "│ "; prefix += isLast ? "└─" : "├─"; }
    r.prefix = prefix;
  });
  return order.map(o => o[1]);
}
// ---- view state ----
const cv = document.getElementById("cv"), ctx = cv.getContext("2d"), view = document.getElementById("view"), tip = document.getElementById("tip");
const AX = 30, LH = 18, BH = 12;
let TW = 320;
let W = 800, H = 600, dpr = 1;
let t0 = 0, t1 = 1, cursor = 0, sel = -1, hover = -1, hoverT = 0, scroll = 0;
let rows = [], rowOf = new Int32Array(N).fill(-1);
const collapsed = new Set();
let match = null, matchCtx = null; // Set of matched / shown-for-context
let showCrit = false, playing = false;
function fitWindow() { const a = Math.min(T_FIRST, T_END), b = Math.max(T_END, a + 1000); const pad = (b - a) * 0.01; t0 = Math.max(0, a - pad); t1 = b + pad; }
function X(t) { return TW + (t - t0) / (t1 - t0) * (W - TW - 10); }
function T(x) { return t0 + (x - TW) / (W - TW - 10) * (t1 - t0); }
function rebuildRows() {
  rows = [];
  const push = (i) => {
    if (matchCtx && !matchCtx.has(i)) return;
    rows.push(i);
    if (collapsed.has(i)) return;
    for (const c of kids[i]) push(c);
  };
  // Tree order: roots in order, DFS (the history is already in that order).
  const stack = [];
  for (let i = N - 1; i >= 0; i--) if (D.parent[i] < 0) stack.push(i);
  while (stack.length) {
    const i = stack.pop();
    if (matchCtx && !matchCtx.has(i)) continue;
    rows.push(i);
    if (!collapsed.has(i)) for (let j = kids[i].length - 1; j >= 0; j--) stack.push(kids[i][j]);
  }
  rowOf.fill(-1);
  rows.forEach((i, r) => rowOf[i] = r);
  clampScroll();
}
function visibleRows() { return Math.max(1, Math.floor((H - AX) / LH)); }
function clampScroll() { scroll = Math.max(0, Math.min(scroll, rows.length - visibleRows())); }
function resize() {
  dpr = window.devicePixelRatio || 1;
  W = Math.max(300, view.clientWidth); H = Math.max(200, view.clientHeight);
  TW = Math.min(380, Math.max(180, Math.floor(W * 0.3)));
  cv.width = W * dpr; cv.height = H * dpr; cv.style.width = W + "px"; cv.style.height = H + "px";
  clampScroll();
}
"""#
    }

    static var scriptTail: String {
        #"""
// ---- side panel: the world at the cursor, details ----
let lastWorldT = null, lastWorldModel = null;
function updateWorld() {
  if (lastWorldT === cursor && lastWorldModel === model) { markSelectedRow(); return; }
  lastWorldT = cursor; lastWorldModel = model;
  document.getElementById("at-title").textContent = "At " + clock(cursor) + "s (" + model + "-state model, states: " + D.source + ")";
  const note = document.getElementById("at-note");
  note.textContent = cursor > T_END ? "after the trace's last event (at " + clock(T_END) + "s): nothing happened then" : "";
  const body = document.querySelector("#at tbody");
  const frag = document.createDocumentFragment();
  const world = worldAt(cursor);
  for (const r of world) {
    const tr = document.createElement("tr");
    tr.dataset.pid = r.pid; tr.dataset.i = r.i;
    const td0 = document.createElement("td"); td0.className = "tree"; td0.textContent = r.prefix + r.tree; tr.appendChild(td0);
    r.cells.forEach((c, k) => { const td = document.createElement("td"); if (k === 4) td.className = "stat"; if (k === 6) { td.className = "cmd";
      td.title = c; } td.textContent = c; tr.appendChild(td); });
    frag.appendChild(tr);
  }
  if (!world.length) { const tr = document.createElement("tr"); const td = document.createElement("td"); td.colSpan = 8;
    td.textContent = "(no processes)"; tr.appendChild(td); frag.appendChild(tr); }
  body.replaceChildren(frag);
  markSelectedRow();
}
function markSelectedRow() { for (const tr of document.querySelectorAll("#at tr[data-i]")) tr.classList.toggle("sel", Number(tr.dataset.i) === sel); }
function nameOf(pid, t) {
  if (pid === D.tracer) return "proctrace (" + pid + ")";
  const i = procAt(pid, t);
  if (i >= 0) return S[D.label[i]].split(" → ").pop() + " (" + pid + ")";
  if (pid === 1) return "init (1)";
  return String(pid);
}
function stateTimes(i) {
  const out = new Map(), end = lifeEnd(i);
  for (let v = D.vOff[i]; v < D.vOff[i+1]; v++) {
    const a = VA[v], b = v + 1 < D.vOff[i+1] ? VA[v+1] : end;
    let band = D.lBand[D.vl[v]];
    if (model === "three" && band === 0) band = D.source === "sampled" ? 9 : 1;
    out.set(band, (out.get(band) || 0) + Math.max(0, b - a));
  }
  return out;
}
function updateDetails() {
  const el = document.getElementById("details");
  if (sel < 0) { el.innerHTML = '<p id="help">Click a lane or a row to see a process.</p>'; return; }
  const i = sel, dl = document.createElement("dl");
  const add = (k, v) => { const dt = document.createElement("dt"); dt.textContent = k; const dd = document.createElement("dd");
    if (typeof v === "string") dd.textContent = v; else dd.appendChild(v); dl.appendChild(dt); dl.appendChild(dd); return dd; };
  el.replaceChildren();
  const h = document.createElement("h3"); h.style.margin = "2px 0 6px"; h.textContent = S[D.label[i]] + " (" + S[D.idText[i]] + ")"; el.appendChild(h);
  el.dataset.pid = D.pid[i];
  add("pid", S[D.idText[i]]);
  add("parent", D.ppid0[i] + " (" + S[D.via[i]] + " at " + clock(D.birth[i]) + "s)");
  add("argv at birth", S[D.argv0[i]]);
  add("exec chain", S[D.label[i]]);
  for (let k = EO[i]; k < EO[i+1]; k++) add("exec " + clock(D.et[k]) + "s", S[D.epath[k]] + "\nargv: " + S[D.eargv[k]]);
  for (let k = FO[i]; k < FO[i+1]; k++) add("failed exec " + clock(D.fxt[k]) + "s", S[D.fxs[k]]);
  add("exit", D.exitT[i] >= 0 ? S[D.exitS[i]] + " at " + clock(D.exitT[i]) + "s (lived " + dur(D.exitT[i] - D.birth[i]) + ")" : "still running at trace end");
  if (D.reapT[i] >= 0) {
    add("reaped", "by " + nameOf(D.reapBy[i], D.reapT[i]) + ", how: " + S[D.reapHow[i]] + " (" + ({wait: "its parent's wait call",
      auto: "by the kernel: SIGCHLD ignored",
      adopted: "by an untraced adoptive parent"}[S[D.reapHow[i]]] || "") + ") at " + clock(D.reapT[i]) + "s" +
      (D.flags[i] & 2 ? " (not observed: proctrace stopped watching)" : ""));
    if (D.exitT[i] >= 0) add("zombie time", dur(D.reapT[i] - D.exitT[i]));
  } else add("reaped", D.exitT[i] >= 0 ? "never (a zombie at trace end)" : "not yet");
  for (let k = RO[i]; k < RO[i+1]; k++) add("reparented", "at " + clock(D.rt[k]) + "s: parent " + D.rf[k] + " died, adopted by " + nameOf(D.rto[k], D.rt[k]));
  for (let k = SO[i]; k < SO[i+1]; k++) add("signal", S[D.sgs[k]] + " at " + clock(D.sgt[k]) + "s" + (D.sgf[k] >= 0 ? " from " + D.sgf[k] : ""));
  if (D.nthreads[i] > 1) add("threads", String(D.nthreads[i]));
  if (crit.has(i)) add("critical path", "on it");
  const st = stateTimes(i), tb = document.createElement("table");
  for (const [b, d] of [...st.entries()].sort((a, b) => b[1] - a[1])) {
    const tr = tb.insertRow(); const c0 = tr.insertCell(); const sw = document.createElement("span"); sw.className = "sw";
      sw.style.background = b === BUNK ? PAL.unknown : PAL.band[b]; c0.appendChild(sw); c0.appendChild(document.createTextNode(BAND_NAMES[b]));
      tr.insertCell().textContent = dur(d);
  }
  if (st.size) add("time in states", tb);
  if (WO[i+1] > WO[i]) {
    const wt = document.createElement("table");
    for (let k = WO[i]; k < WO[i+1]; k++) {
      const tr = wt.insertRow();
      tr.insertCell().textContent = clock(D.wb[k]) + "s";
      tr.insertCell().textContent = S[D.wc[k]];
      tr.insertCell().textContent = D.we[k] >= 0 ? "→ " + S[D.wr[k]] + " after " + dur(D.we[k] - D.wb[k]) : "(unfinished)";
    }
    add("waits", wt);
  }
  el.appendChild(dl);
}
function legend() {
  const used = new Set(D.lBand);
  const el = document.getElementById("legend");
  const item = (color, text, border) => { const s = document.createElement("span"); const sw = document.createElement("span"); sw.className = "sw";
    sw.style.background = color; if (border) sw.style.borderColor = border; s.appendChild(sw); s.appendChild(document.createTextNode(text));
    el.appendChild(s); };
  BAND_NAMES.forEach((n, b) => { if (used.has(b)) item(b === BUNK ? PAL.unknown : PAL.band[b], n); });
  item(PAL.fill[0], "exited 0"); item(PAL.fill[1], "exited non-zero"); item(PAL.fill[2], "killed", PAL.killedBorder); item(PAL.fill[3], "still running");
  item(PAL.orphan, "◆ reparented (orphan)"); item("#c62828", "▼ signal"); item("#000", "| exec, ⊤ reap"); item("#ff6f00", "cursor");
  if (D.cpP.length) item(PAL.critical, "critical path");
  if (D.source === "sampled") item("#fff", "states sampled from /proc: ready and running are one");
  if (D.source === "none") item("#fff", "no scheduler states in this trace");
}
// ---- URL ----
let hashLock = false;
function writeHash() {
  const parts = ["t=" + nsText(cursor)];
  if (sel >= 0) parts.push("pid=" + D.pid[sel]);
  parts.push("from=" + nsText(t0), "to=" + nsText(t1));
  if (model !== D.model) parts.push("model=" + model);
  hashLock = true; history.replaceState(null, "", "#" + parts.join("&")); hashLock = false;
}
function readHash() {
  const h = new URLSearchParams(location.hash.replace(/^#/, ""));
  const tv = h.get("t"), fv = h.get("from"), tov = h.get("to"), pv = h.get("pid"), mv = h.get("model");
  if (mv === "three" || mv === "five") { model = mv; document.getElementById("model").value = mv; }
  if (tv !== null) { const t = parseInstant(tv); if (t !== null) cursor = t; }
  const f = fv !== null ? parseInstant(fv) : null, to = tov !== null ? parseInstant(tov) : null;
  if (f !== null || to !== null) { const a = f !== null ? f : t0, b = to !== null ? to : t1; if (b > a) { t0 = a; t1 = b; } }
  else if (tv !== null && (cursor < t0 || cursor > t1)) { const w = t1 - t0; t0 = Math.max(0, cursor - w / 2); t1 = t0 + w; }
  if (pv !== null) { const pid = Number(pv); const i = procAt(pid, cursor) >= 0 ? procAt(pid, cursor) : (byPid.get(pid) || [-1])[0]; select(i, true); }
}
// ---- search and filter ----
function procText(i) {
  let s = S[D.idText[i]] + " " + S[D.label[i]] + " " + S[D.argv0[i]];
  if (D.hint[i] >= 0) s += " " + S[D.hint[i]];
  for (let k = EO[i]; k < EO[i+1]; k++) s += " " + S[D.epath[k]] + " " + S[D.eargv[k]];
  return s.toLowerCase();
}
function applyFilter() {
  const q = document.getElementById("q").value.trim(), f = document.getElementById("flt").value;
  if (!q && !f) { match = null; matchCtx = null; rebuildRows(); draw(); return; }
  match = new Set();
  const isPid = /^[0-9]+$/.test(q), ql = q.toLowerCase();
  for (let i = 0; i < N; i++) {
    if (q && !(isPid ? D.pid[i] === Number(q) : procText(i).includes(ql))) continue;
    if (f && !hasTrait(i, f)) continue;
    match.add(i);
  }
  matchCtx = new Set(match);
  for (const i of match) { let p = D.parent[i]; while (p >= 0 && !matchCtx.has(p)) { matchCtx.add(p); p = D.parent[p]; } }
  rebuildRows(); scroll = 0;
  if (match.size) { const firstMatch = rows.findIndex(i => match.has(i)); if (firstMatch > 0) scroll = firstMatch; clampScroll(); }
  draw();
}
function hasTrait(i, f) {
  const bandIs = (b) => { for (let v = D.vOff[i]; v < D.vOff[i+1]; v++) if (D.lBand[D.vl[v]] === b) {
    const e = v + 1 < D.vOff[i+1] ? VA[v+1] : lifeEnd(i); if (e > VA[v]) return true; } return false; };
  switch (f) {
    case "zombie": return D.exitT[i] >= 0 && (D.reapT[i] < 0 || D.reapT[i] > D.exitT[i]);
    case "wait": return WO[i+1] > WO[i];
    case "blocked": return bandIs(3);
    case "traced": return bandIs(5);
    case "stopped": return bandIs(6);
    case "unknown": return bandIs(BUNK);
    case "killed": return D.fill[i] === 2;
    case "nonzero": return D.fill[i] === 1;
    case "orphan": return (D.flags[i] & 1) !== 0;
    case "alive": return D.exitT[i] < 0;
    case "critical": return crit.has(i);
  }
  return true;
}
// ---- interaction ----
function select(i, reveal) {
  sel = i;
  if (i >= 0 && reveal) {
    let p = D.parent[i], changed = false;
    while (p >= 0) { if (collapsed.delete(p)) changed = true; p = D.parent[p]; }
    if (matchCtx && !matchCtx.has(i)) { match = null; matchCtx = null; document.getElementById("q").value = "";
      document.getElementById("flt").value = ""; changed = true; }
    if (changed) rebuildRows();
    const r = rowOf[i], vr = visibleRows();
    if (r >= 0 && (r < scroll || r >= scroll + vr - 1)) { scroll = r - Math.floor(vr / 3); clampScroll(); }
  }
  updateDetails(); markSelectedRow();
}
function refresh() { draw(); updateWorld(); writeHash(); }
let pending = false;
function later() { if (!pending) { pending = true; requestAnimationFrame(() => { pending = false; draw(); }); } }
function zoom(f, at) { const c = at === undefined ? (t0 + t1) / 2 : at; let a = c - (c - t0) * f, b = c + (t1 - c) * f; if (b - a < 1000) return;
  t0 = a; t1 = b; refresh(); }
function pan(f) { const d = (t1 - t0) * f; t0 += d; t1 += d; refresh(); }
let drag = null;
function rowAtY(y) { const r = Math.floor((y - AX) / LH + scroll); return y >= AX && r >= 0 && r < rows.length ? rows[r] : -1; }
cv.addEventListener("mousedown", (e) => {
  view.focus();
  const x = e.offsetX, y = e.offsetY;
  if (x >= TW && y < AX) { drag = { kind: "cursor" }; cursor = Math.max(0, Math.round(T(x))); refresh(); return; }
  if (x >= W - 10 && y >= AX && rows.length > visibleRows()) { drag = { kind: "scroll", y0: y, s0: scroll }; return; }
  if (x < TW) {
    const i = rowAtY(y);
    if (i >= 0 && kids[i].length && x >= 6 + depth[i] * 12 - 2 && x <= 6 + depth[i] * 12 + 11) { if (!collapsed.delete(i)) collapsed.add(i);
      rebuildRows(); refresh(); return; }
    if (i >= 0) { select(i); refresh(); }
    return;
  }
  drag = e.shiftKey || e.button === 1 ? { kind: "pan", x0: x, a: t0, b: t1 } : { kind: "range", x0: x, x1: x, y0: y };
  e.preventDefault();
});
window.addEventListener("mousemove", (e) => {
  const rect = cv.getBoundingClientRect(), x = e.clientX - rect.left, y = e.clientY - rect.top;
  if (drag) {
    if (drag.kind === "cursor") { cursor = Math.max(0, Math.round(T(Math.max(TW, x)))); draw(); updateWorld(); }
    else if (drag.kind === "range") { drag.x1 = x; later(); }
    else if (drag.kind === "scroll") { scroll = drag.s0 + (y - drag.y0) / (H - AX) * rows.length; clampScroll(); later(); }
    else { const d = (x - drag.x0) / (W - TW - 10) * (drag.b - drag.a); t0 = drag.a - d; t1 = drag.b - d; later(); }
    return;
  }
  if (x < 0 || y < 0 || x > W || y > H) { if (hover >= 0) { hover = -1; tip.style.display = "none"; later(); } return; }
  const i = rowAtY(y);
  if (i !== hover) { hover = i; later(); }
  hoverT = T(x);
  if (i >= 0 && x >= TW) {
    const v = versionAt(i, hoverT);
    let text = S[D.idText[i]] + " " + S[D.label[i]];
    if (aliveAt(i, hoverT) && v >= D.vOff[i]) {
      const b = D.lBand[D.vl[v]], e2 = v + 1 < D.vOff[i+1] ? VA[v+1] : lifeEnd(i);
      const look = D.vl[v];
      text += "\n" + clock(hoverT) + "s: " + (S[model === "three" ? D.lS3[look] : D.lS5[look]]).trim() + "\n" +
        BAND_NAMES[b] + " from " + clock(VA[v]) + "s for " + dur(e2 - VA[v]);
    }
    tip.textContent = text; tip.style.display = "block";
    tip.style.left = Math.min(x + 14, W - 260) + "px"; tip.style.top = (y + 16) + "px";
  } else tip.style.display = "none";
});
window.addEventListener("mouseup", (e) => {
  if (!drag) return;
  const d = drag; drag = null;
  if (d.kind === "range") {
    if (Math.abs(d.x1 - d.x0) > 4) { const a = T(Math.min(d.x0, d.x1)), b = T(Math.max(d.x0, d.x1)); if (b - a >= 1000) { t0 = a; t1 = b; } }
    else { const i = rowAtY(d.y0 !== undefined ? d.y0 : e.clientY - cv.getBoundingClientRect().top); if (i >= 0) select(i); }
  }
  refresh();
});
cv.addEventListener("wheel", (e) => {
  e.preventDefault();
  if (e.offsetX < TW || e.altKey) { scroll += e.deltaY / LH * (e.deltaMode ? LH : 1); clampScroll(); later(); return; }
  if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) { pan((e.shiftKey ? e.deltaY : e.deltaX) / 600); return; }
  zoom(Math.pow(1.0015, e.deltaY * (e.deltaMode ? 30 : 1)), T(e.offsetX));
}, { passive: false });
view.addEventListener("keydown", (e) => {
  if (e.target !== view) return;
  const k = e.key;
  if (k === "w" || k === "+" || k === "=") zoom(0.7, cursor >= t0 && cursor <= t1 ? cursor : undefined);
  else if (k === "s" || k === "-") zoom(1 / 0.7, cursor >= t0 && cursor <= t1 ? cursor : undefined);
  else if (k === "a" || k === "ArrowLeft") pan(-0.2);
  else if (k === "d" || k === "ArrowRight") pan(0.2);
  else if (k === "f" || k === "0") { fitWindow(); refresh(); }
  else if (k === "ArrowDown" || k === "ArrowUp" || k === "j" || k === "k") {
    const r = sel >= 0 ? rowOf[sel] : -1, n = Math.max(0, Math.min(rows.length - 1, r + (k === "ArrowDown" || k === "j" ? 1 : -1)));
    if (rows.length) { select(rows[n], true); refresh(); }
  }
  else if (k === "PageDown") { scroll += visibleRows() - 1; clampScroll(); draw(); }
  else if (k === "PageUp") { scroll -= visibleRows() - 1; clampScroll(); draw(); }
  else if (k === " ") togglePlay();
  else if (k === "/") { document.getElementById("q").focus(); }
  else if (k === "c") { showCrit = !showCrit; document.getElementById("crit").checked = showCrit; draw(); }
  else if (k === "Escape") { select(-1); refresh(); }
  else if (k === "Enter" && sel >= 0 && kids[sel].length) { if (!collapsed.delete(sel)) collapsed.add(sel); rebuildRows(); draw(); }
  else return;
  e.preventDefault();
});
document.querySelector("#at tbody").addEventListener("click", (e) => { const tr = e.target.closest("tr[data-i]"); if (tr) {
  select(Number(tr.dataset.i), true); refresh(); } });
document.getElementById("fit").onclick = () => { fitWindow(); refresh(); };
document.getElementById("zin").onclick = () => zoom(0.7);
document.getElementById("zout").onclick = () => zoom(1 / 0.7);
document.getElementById("model").onchange = (e) => { model = e.target.value; refresh(); updateDetails(); };
document.getElementById("q").oninput = applyFilter;
document.getElementById("q").onkeydown = (e) => { if (e.key === "Escape") { e.target.value = ""; applyFilter(); view.focus();
  } if (e.key === "Enter") view.focus(); };
document.getElementById("flt").onchange = applyFilter;
document.getElementById("crit").onchange = (e) => { showCrit = e.target.checked; draw(); };
if (!D.cpP.length) { document.getElementById("crit").disabled = true;
  document.getElementById("crit").parentElement.title = "This trace has no critical path (analyze finds none)"; }
// ---- play ----
let lastFrame = 0;
function togglePlay() {
  playing = !playing;
  document.getElementById("play").textContent = playing ? "❚❚ Pause" : "▶ Play";
  if (playing) { if (cursor >= T_END) cursor = Math.max(0, Math.floor(T_FIRST)); lastFrame = performance.now(); requestAnimationFrame(step); }
  else refresh();
}
function step(now) {
  if (!playing) return;
  const speed = Number(document.getElementById("speed").value);
  cursor = Math.min(T_END, Math.round(cursor + (now - lastFrame) * 1e6 * speed)); lastFrame = now;
  if (cursor > t1) { const w = t1 - t0; t0 = cursor - w * 0.1; t1 = t0 + w; }
  draw(); updateWorld();
  if (cursor >= T_END) { togglePlay(); return; }
  requestAnimationFrame(step);
}
document.getElementById("play").onclick = togglePlay;
window.addEventListener("hashchange", () => { if (!hashLock) { readHash(); draw(); updateWorld(); } });
window.addEventListener("resize", () => { resize(); draw(); });
// ---- start ----
if (D.warnings.length) { const w = document.getElementById("warn"); w.textContent = D.warnings.join("\n"); w.style.display = "block"; }
document.getElementById("model").value = model;
resize();
fitWindow();
if (D.from >= 0 || D.to >= 0) { const a = D.from >= 0 ? D.from : t0, b = D.to >= 0 ? D.to : t1; if (b > a) { t0 = a; t1 = b; } }
cursor = Math.max(0, Math.floor(T_FIRST));
if (D.showCrit && D.cpP.length) { showCrit = true; document.getElementById("crit").checked = true; }
rebuildRows();
readHash();
legend();
resize();
draw();
updateWorld();
updateDetails();
document.body.dataset.ready = "1";
})();
"""#
    }
}
