/// The viewer script's drawing: the time axis, the tree rows, the canvas lanes with their
/// bands and marks, and the connectors of the hovered or selected process.
extension ViewerPage {
    static var drawingScript: String {
        #"""
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
"""#
    }
}
