/// The HTML viewer's page: style, markup and script, around the embedded data. Everything is
/// inline; nothing is fetched. The colours are the SVG pictures' (`Palette`).
enum ViewerPage {
    /// The page before and after the data (`<script type="application/json" id="data">`).
    static func template(title: String) -> (String, String) {
        let before = #"""
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>\#(title) · proctrace viewer</title>
<style>
*{box-sizing:border-box}
html,body{margin:0;height:100%;font:13px/1.35 "DejaVu Sans",system-ui,sans-serif;color:#212121;background:#fafafa}
body{display:flex;flex-direction:column}
#bar{display:flex;flex-wrap:wrap;gap:6px;align-items:center;padding:5px 8px;background:#263238;color:#eceff1}
#bar b{font-size:14px;margin-right:8px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;max-width:30em}
#bar button,#bar select,#bar input{font:inherit;padding:2px 7px;border:1px solid #90a4ae;border-radius:3px;background:#eceff1;color:#212121}
#bar button:hover{background:#fff}
#bar input[type=search]{width:15em}
#bar label{white-space:nowrap}
#clock{font-family:"DejaVu Sans Mono",monospace;margin-left:auto;white-space:nowrap}
#warn{background:#ffebee;color:#b71c1c;padding:4px 8px;border-bottom:1px solid #ef9a9a;display:none;white-space:pre-wrap}
main{flex:1;display:flex;min-height:0}
#view{flex:1;position:relative;min-width:0;outline:none}
#cv{position:absolute;left:0;top:0;cursor:crosshair}
#tip{position:absolute;pointer-events:none;background:#fffde7;border:1px solid #bdbdbd;padding:3px 6px;font-size:12px;display:none;white-space:pre;
  z-index:3;box-shadow:0 1px 3px #0003}
aside{width:560px;max-width:45%;display:flex;flex-direction:column;border-left:1px solid #cfd8dc;background:#fff}
#detailsBox{max-height:45%;overflow:auto;padding:4px 10px;border-bottom:1px solid #cfd8dc}
#atBox{flex:1;overflow:auto;padding:0 10px 4px;min-height:120px}
#legendBox{padding:4px 10px;border-top:1px solid #cfd8dc;max-height:30%;overflow:auto}
aside h2{font-size:13px;margin:6px 0 4px;color:#37474f}
#at{border-collapse:collapse;font:12px/1.3 "DejaVu Sans Mono",monospace;width:100%}
#at td,#at th{padding:1px 5px;text-align:right;white-space:pre;vertical-align:top}
#at th{border-bottom:1px solid #b0bec5;position:sticky;top:0;background:#fff}
#at-title{margin:0;padding:6px 0 4px}
#at td.tree,#at th.tree,#at td.cmd,#at th.cmd,#at td.stat,#at th.stat{text-align:left}
#at td.cmd{max-width:22em;overflow:hidden;text-overflow:ellipsis}
#at tr[data-pid]:hover{background:#eceff1;cursor:pointer}
#at tr.sel{background:#fff3e0}
#details dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 10px;margin:0}
#details dt{color:#607d8b}
#details dd{margin:0;font-family:"DejaVu Sans Mono",monospace;font-size:12px;white-space:pre-wrap;word-break:break-all}
#details table{border-collapse:collapse;font:12px "DejaVu Sans Mono",monospace}
#details td{padding:0 6px 0 0}
.sw{display:inline-block;width:11px;height:11px;border:1px solid #0004;vertical-align:-1px;margin-right:4px}
#legend span{display:inline-block;margin:0 10px 3px 0;white-space:nowrap}
#help{color:#607d8b;font-size:12px}
</style>
</head>
<body>
<div id="bar">
<b id="ttl">\#(title)</b>
<button id="fit" title="Fit the whole trace (f)">Fit</button>
<button id="zin" title="Zoom in (w, wheel)">+</button>
<button id="zout" title="Zoom out (s, wheel)">−</button>
<button id="play" title="Play from the cursor (space)">▶ Play</button>
<select id="speed" title="Replay speed"><option value="0.01">0.01×</option><option value="0.1">0.1×</option><option value="1" selected>1×</option>
  <option value="10">10×</option><option value="100">100×</option></select>
<select id="model" title="State model"><option value="five">five-state</option><option value="three">three-state</option></select>
<input id="q" type="search" placeholder="search: pid or command text  (/)">
<select id="flt" title="Show only processes that…"><option value="">all processes</option><option value="zombie">were zombies</option>
  <option value="wait">waited for a child</option><option value="blocked">were blocked</option><option value="traced">
  were stopped by the tracer</option><option value="stopped">were job-control stopped</option><option value="unknown">have unknown state</option>
  <option value="killed">were killed</option><option value="nonzero">exited non-zero</option><option value="orphan">were orphaned</option>
  <option value="alive">were alive at the end</option><option value="critical">are on the critical path</option></select>
<label title="Highlight the critical path (c)"><input id="crit" type="checkbox"> critical path</label>
<span id="clock"></span>
</div>
<div id="warn"></div>
<main>
<div id="view" tabindex="0"><canvas id="cv"></canvas><div id="tip"></div></div>
<aside>
<div id="detailsBox"><h2>Details</h2>
<div id="details"><p id="help">Click a lane or a row to see a process.</p></div></div>
<div id="atBox"><h2 id="at-title">At</h2>
<div id="at-note"></div>
<table id="at"><thead><tr><th class="tree">PROCESS</th><th>PPID</th><th>PID</th><th>PGID</th><th>SID</th><th class="stat">STAT</th><th>TIME</th>
  <th class="cmd">COMMAND</th></tr></thead><tbody></tbody></table></div>
<div id="legendBox"><div id="legend"></div>
<p id="help">Click or drag on the time axis: cursor. Drag on the lanes: zoom to a range; shift-drag: pan.
Wheel on the lanes: zoom; wheel on the tree: scroll. Keys: w/s zoom, a/d or ←/→ pan, f fit, ↑/↓ select,
space play, / search, c critical path, Esc clear. The URL keeps #t=…&amp;pid=…&amp;from=…&amp;to=….</p></div>
</aside>
</main>
<script type="application/json" id="data">
"""#
        let after = #"""
</script>
<script>
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
// ---- drawing ----
let hatch = null;
function unknownPattern() {
  if (hatch) return hatch;
  const c = document.createElement("canvas"); c.width = c.height = 6;
  const x = c.getContext("2d"); x.fillStyle = PAL.band[BUNK]; x.fillRect(0, 0, 6, 6);
  x.strokeStyle = PAL.unknown; x.lineWidth = 1.5; x.beginPath(); x.moveTo(0, 6); x.lineTo(6, 0); x.stroke();
  hatch = ctx.createPattern(c, "repeat"); return hatch;
}
function bandColor(b) {
  if (model === "three" && b === 0) b = D.source === "sampled" ? 9 : 1;
  return b === BUNK ? unknownPattern() : PAL.band[b];
}
function niceStep(span, px) {
  const raw = span / Math.max(1, px / 110), p = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}
function tickLabel(t, step) { const d = Math.max(0, Math.min(9, Math.ceil(-Math.log10(step / 1e9)))); return (t / 1e9).toFixed(d) + " s"; }
function draw() {
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, W, H);
  ctx.font = "12px 'DejaVu Sans', sans-serif";
  ctx.textBaseline = "middle";
  const vr = visibleRows(), first = Math.floor(scroll), lastRow = Math.min(rows.length, first + vr + 1);
  // lanes
  for (let r = first; r < lastRow; r++) {
    const i = rows[r], y = AX + (r - scroll) * LH;
    if (r % 2) { ctx.fillStyle = "#f1f3f4"; ctx.fillRect(0, y, W, LH); }
    if (i === sel) { ctx.fillStyle = "#fff3e0"; ctx.fillRect(0, y, W, LH); }
    else if (i === hover) { ctx.fillStyle = "#eceff1"; ctx.fillRect(0, y, W, LH); }
    drawTreeRow(i, y);
    ctx.save(); ctx.beginPath(); ctx.rect(TW, y, W - TW, LH); ctx.clip();
    drawLane(i, y);
    ctx.restore();
  }
  // tree / lanes divider and axis
  ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, W, AX);
  ctx.strokeStyle = "#b0bec5"; ctx.beginPath(); ctx.moveTo(TW - 0.5, 0); ctx.lineTo(TW - 0.5, H); ctx.moveTo(0, AX - 0.5); ctx.lineTo(W, AX - 0.5);
    ctx.stroke();
  const step = niceStep(t1 - t0, W - TW);
  ctx.fillStyle = "#455a64"; ctx.textAlign = "center";
  for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) {
    const x = X(t); if (x < TW) continue;
    ctx.fillRect(Math.round(x), AX - 7, 1, 7);
    ctx.fillText(tickLabel(t, step), x, 10);
  }
  ctx.textAlign = "left";
  ctx.fillStyle = "#37474f"; ctx.fillText(rows.length + (rows.length === N ? "" : " of " + N) + " processes", 6, 10);
  ctx.fillStyle = "#78909c"; ctx.fillText("time (trace s) →", 6, 23);
  // connectors of the hovered and the selected process
  ctx.save(); ctx.beginPath(); ctx.rect(TW, AX, W - TW, H - AX); ctx.clip();
  for (const i of new Set([hover, sel])) if (i >= 0) drawConnectors(i);
  // cursor
  const cx = X(cursor);
  if (cx >= TW) { ctx.fillStyle = "#ff6f00"; ctx.fillRect(Math.round(cx) - 1, AX, 2, H - AX); }
  if (drag && drag.kind === "range") { ctx.fillStyle = "#1565c033"; const a = Math.min(drag.x0, drag.x1), b = Math.max(drag.x0, drag.x1);
    ctx.fillRect(a, AX, b - a, H - AX); }
  ctx.restore();
  if (cx >= TW) { ctx.fillStyle = "#ff6f00"; ctx.beginPath(); ctx.moveTo(cx - 6, AX - 9); ctx.lineTo(cx + 6, AX - 9); ctx.lineTo(cx, AX); ctx.fill(); }
  // scrollbar
  if (rows.length > vr) {
    const h = Math.max(20, (H - AX) * vr / rows.length), y = AX + (H - AX - h) * scroll / Math.max(1, rows.length - vr);
    ctx.fillStyle = "#90a4ae88"; ctx.fillRect(W - 7, y, 5, h);
  }
  document.getElementById("clock").textContent = "cursor " + clock(cursor) + " s · view " + clock(t0) + "–" + clock(t1) + " s";
}
function drawTreeRow(i, y) {
  const x = 6 + depth[i] * 12 - (matchCtx ? 0 : 0);
  const cy = y + LH / 2;
  ctx.save(); ctx.beginPath(); ctx.rect(0, y, TW - 2, LH); ctx.clip();
  if (kids[i].length) { ctx.fillStyle = "#607d8b"; ctx.fillText(collapsed.has(i) ? "▸" : "▾", x, cy); }
  ctx.fillStyle = PAL.fill[D.fill[i]]; ctx.fillRect(x + 12, y + 4, 10, 10);
  ctx.strokeStyle = D.fill[i] === 2 ? PAL.killedBorder : (D.flags[i] & 1 ? PAL.orphan : "#78909c");
  ctx.strokeRect(x + 12.5, y + 4.5, 9, 9);
  const onPath = showCrit && crit.has(i);
  ctx.fillStyle = onPath ? PAL.critical : (match && !match.has(i) ? "#9e9e9e" : "#212121");
  ctx.font = (onPath || (match && match.has(i)) ? "bold " : "") + "12px 'DejaVu Sans', sans-serif";
  let text = S[D.idText[i]] + " " + S[D.label[i]];
  if (D.hint[i] >= 0) text += "  " + S[D.hint[i]];
  if (collapsed.has(i)) text += "  (+" + countBelow(i) + ")";
  ctx.fillText(text, x + 26, cy);
  ctx.font = "12px 'DejaVu Sans', sans-serif";
  ctx.restore();
}
const below = new Map();
function countBelow(i) { if (below.has(i)) return below.get(i); let n = 0; for (const c of kids[i]) n += 1 + countBelow(c); below.set(i, n); return n; }
function drawLane(i, y) {
  const yb = y + (LH - BH) / 2, lo = D.vOff[i], hi = D.vOff[i+1];
  const end = lifeEnd(i);
  if (hi > lo) {
    // first version whose interval reaches t0
    let v = Math.max(lo, lastAtOrBefore(VA, lo, hi, t0));
    let px = -1, acc = null;
    const flush = () => {
      if (px < 0) return;
      let best = -1, bd = -1; for (const [b, d] of acc) if (d > bd) { bd = d; best = b; }
      ctx.fillStyle = bandColor(best);
      const zb = best === BZ; ctx.fillRect(px, zb ? yb + 3 : yb, 1, zb ? BH - 6 : BH);
      px = -1;
    };
    for (; v < hi; v++) {
      const a = VA[v], b = v + 1 < hi ? VA[v+1] : end;
      if (a > t1) break;
      if (b <= a) continue;
      const band = D.lBand[D.vl[v]];
      const x0 = X(Math.max(a, t0 - (t1 - t0))), x1 = X(Math.min(b, t1 + (t1 - t0)));
      if (x1 - x0 >= 1) {
        flush();
        ctx.fillStyle = bandColor(band);
        if (band === BZ) ctx.fillRect(x0, yb + 3, x1 - x0, BH - 6); else ctx.fillRect(x0, yb, x1 - x0, BH);
      } else {
        const p = Math.floor(x0);
        if (p !== px) { flush(); px = p; acc = new Map(); }
        acc.set(band, (acc.get(band) || 0) + (b - a));
      }
    }
    flush();
  } else {
    ctx.fillStyle = PAL.band[10]; ctx.fillRect(X(D.birth[i]), yb, X(D.lastSeen[i]) - X(D.birth[i]), BH);
  }
  // marks
  ctx.lineWidth = 1;
  const mx = (t) => X(t);
  const fx = mx(lifeStart(i));
  ctx.fillStyle = "#37474f"; ctx.fillRect(fx - 0.5, y + 1, 1.5, LH - 2);
  for (let k = EO[i]; k < EO[i+1]; k++) {
    const x = mx(D.et[k]);
    ctx.fillStyle = "#000"; ctx.fillRect(x - 0.5, y + 1, 1.5, LH - 2);
    const name = S[D.epath[k]].split("/").pop();
    const nextX = k + 1 < EO[i+1] ? mx(D.et[k+1]) : mx(D.exitT[i] >= 0 ? D.exitT[i] : end);
    if (nextX - x > ctx.measureText(name).width + 8) { ctx.fillStyle = "#fff"; ctx.fillText(name, x + 3, y + LH / 2); }
  }
  if (D.exitT[i] >= 0) {
    const x = mx(D.exitT[i]);
    ctx.fillStyle = D.fill[i] === 2 ? PAL.killedBorder : (D.fill[i] === 1 ? "#ef6c00" : "#2e7d32");
    ctx.fillRect(x - 1, y, 2.5, LH);
  }
  if (D.reapT[i] >= 0) {
    const x = mx(D.reapT[i]); ctx.fillStyle = "#000"; ctx.fillRect(x - 3, y + 2, 6, 1.5); ctx.fillRect(x - 0.5, y + 2, 1.5, LH - 4);
    // A reaper without a lane (init, proctrace, a filtered-out process) is named beside the tee.
    const r = procAt(D.reapBy[i], D.reapT[i]);
    if ((r < 0 || rowOf[r] < 0) && x < W - 40) { ctx.fillStyle = "#546e7a"; ctx.font = "11px 'DejaVu Sans', sans-serif";
      ctx.fillText("reaped by " + nameOf(D.reapBy[i], D.reapT[i]), x + 5, y + LH / 2); ctx.font = "12px 'DejaVu Sans', sans-serif"; }
  }
  for (let k = RO[i]; k < RO[i+1]; k++) {
    const x = mx(D.rt[k]), cy = y + LH / 2;
    ctx.fillStyle = PAL.orphan; ctx.beginPath(); ctx.moveTo(x, cy - 5); ctx.lineTo(x + 5, cy); ctx.lineTo(x, cy + 5); ctx.lineTo(x - 5, cy); ctx.fill();
  }
  for (let k = SO[i]; k < SO[i+1]; k++) {
    const x = mx(D.sgt[k]);
    ctx.fillStyle = "#c62828"; ctx.beginPath(); ctx.moveTo(x - 4, y); ctx.lineTo(x + 4, y); ctx.lineTo(x, y + 6); ctx.fill();
  }
  if (showCrit) for (let k = 0; k < D.cpP.length; k++) if (D.cpP[k] === i) {
    ctx.fillStyle = PAL.critical; const a = mx(D.cpS[k]), b = mx(D.cpE[k]); ctx.fillRect(a, y + LH - 3, Math.max(1.5, b - a), 3);
  }
}
function laneY(i) { const r = rowOf[i]; return r < 0 ? null : AX + (r - scroll) * LH + LH / 2; }
function procAt(pid, t) { const l = byPid.get(pid); if (!l) return -1; let best = -1; for (const i of l) if (lifeStart(i) <= t && lifeEnd(i) >=
   t) best = i; return best; }
function arrow(x, ya, yb, color, dashed, head) {
  ctx.strokeStyle = color; ctx.lineWidth = 1.5; ctx.setLineDash(dashed ? [4, 3] : []);
  ctx.beginPath(); ctx.moveTo(x, ya); ctx.lineTo(x, yb); ctx.stroke(); ctx.setLineDash([]);
  if (head) { const d = yb > ya ? -1 : 1; ctx.fillStyle = color; ctx.beginPath(); ctx.moveTo(x, yb); ctx.lineTo(x - 4, yb + 7 * d); ctx.lineTo(x + 4,
    yb + 7 * d); ctx.fill(); }
}
function drawConnectors(i) {
  const y = laneY(i);
  if (y === null) return;
  const p = D.parent[i];
  if (p >= 0 && laneY(p) !== null) arrow(X(lifeStart(i)), laneY(p), y, "#37474f", false, true);
  for (const c of kids[i]) if (laneY(c) !== null) arrow(X(lifeStart(c)), y, laneY(c), "#37474f", false, true);
  const reaper = D.reapT[i] >= 0 ? procAt(D.reapBy[i], D.reapT[i]) : -1;
  if (reaper >= 0 && laneY(reaper) !== null) arrow(X(D.reapT[i]), y, laneY(reaper), "#000", true, true);
  for (const c of kids[i]) if (D.reapT[c] >= 0 && D.reapBy[c] === D.pid[i] && laneY(c) !== null) arrow(X(D.reapT[c]), laneY(c), y, "#000", true, true);
  for (let k = RO[i]; k < RO[i+1]; k++) { const a = procAt(D.rto[k], D.rt[k]); if (a >= 0 && laneY(a) !== null) arrow(X(D.rt[k]), laneY(a), y,
    PAL.orphan, true, true); }
}
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
</script>
</body>
</html>
"""#
        return (before, after)
    }
}
