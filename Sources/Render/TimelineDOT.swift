import Lifecycle

/// Options for the timeline picture.
public struct TimelineOptions: Sendable {
    /// `.five` (new, ready, running, blocked, terminated) or `.three` (ready, running, blocked).
    public var model: StateModel = .five
    /// Window to show, in nanoseconds since the trace started (nil: the whole trace).
    public var from: Int64? = nil
    public var to: Int64? = nil
    public var filter: ProcessFilter = ProcessFilter()
    /// Width of the time axis in points.
    public var plotWidth: Double = 900
    /// Cut idle stretches out of the axis (a "broken" axis) when there are any.
    public var breakAxis: Bool = true
    /// The critical path (`render --critical-path`): a line along each segment's lane, with
    /// a step between lanes where the path passes from one process to the next.
    public var criticalPath: [PathSegment] = []
    public init(model: StateModel = .five, from: Int64? = nil, to: Int64? = nil, filter: ProcessFilter = ProcessFilter()) {
        self.model = model; self.from = from; self.to = to; self.filter = filter
    }
}

/// A stretch of time in one process, to highlight.
public struct PathSegment: Sendable, Equatable {
    public var id: ProcessID
    public var start: Int64
    public var end: Int64
    public init(id: ProcessID, start: Int64, end: Int64) { self.id = id; self.start = start; self.end = end }
}

/// The timeline as DOT for the `nop2` engine: every shape's position is computed here and
/// pinned (`pos="x,y!"`), so Graphviz only draws, and thousands of lanes stay fast.
public enum TimelineDOT {
    static let laneHeight = 18.0
    static let barHeight = 10.0
    static let labelWidth = 190.0
    static let axisHeight = 46.0
    /// Connectors (fork, reap, adoption) spanning more lanes than this are drawn as stubs,
    /// in pictures of more than `connectorPictureLanes` lanes (below that, every line is few
    /// enough to follow, and shows the tree).
    static let connectorLanes = 8
    static let connectorPictureLanes = 40

    /// Renders the timeline. `progress` is called now and then with a fraction done.
    public static func dot(_ history: ProcessHistory, options: TimelineOptions = TimelineOptions(),
                           progress: (Double) -> Void = { _ in }) -> String {
        let selected = options.filter.isEmpty ? nil : options.filter.select(history)
        let candidates = selected == nil ? history.processes : history.processes.filter { selected!.contains($0.id) }
        let (t0, t1) = window(candidates, from: options.from, to: options.to)
        let span = t1 - t0
        let x0 = labelWidth + 10

        let lanes = candidates.filter { p in p.lastSeen >= t0 && p.birth <= t1 }
        let axis = TimelineAxis(t0: t0, t1: t1, x0: x0, width: options.plotWidth,
                                cuts: options.breakAxis ? TimelineAxis.idleCuts(lanes, t0: t0, t1: t1) : [])
        func x(_ t: Int64) -> Double { axis.x(t) }
        var laneIndex: [ProcessID: Int] = [:]
        for (i, p) in lanes.enumerated() { laneIndex[p.id] = i }
        // pid → lanes, to find the lane of a pid at an instant (pids are reused).
        var lanesByPid: [Int: [Int]] = [:]
        for (i, p) in lanes.enumerated() { lanesByPid[p.pid, default: []].append(i) }
        func lane(of pid: Int, at t: Int64) -> Int? {
            lanesByPid[pid]?.last { lanes[$0].birth <= t && (lanes[$0].reapTime ?? Int64.max) >= t }
        }

        // Small pictures get taller lanes (room for a label above and below each bar) and one
        // thin row per thread under a multi-threaded process; big ones stay compact.
        let roomy = lanes.count <= 300
        let laneH = roomy ? 28.0 : laneHeight
        let threadH = 13.0
        func threadRows(_ p: ProcessRecord) -> [ThreadRecord] {
            roomy && p.threads.count > 1 ? Array(p.threads.prefix(16)) : []
        }
        // Vertical layout: lane i's centre, counted from the top of the plot.
        var laneTop: [Double] = []
        laneTop.reserveCapacity(lanes.count)
        var acc = 0.0
        for p in lanes { laneTop.append(acc); acc += laneH + Double(threadRows(p).count) * threadH }
        let plotHeight = acc

        let legendRows = 5.0
        let top = axisHeight + plotHeight
        let height = top + 20 + legendRows * 16 + 20
        let plotTopY = height - axisHeight
        func y(_ lane: Int) -> Double { plotTopY - laneTop[lane] - laneH / 2 }

        var out = ""
        out.reserveCapacity(lanes.count * 600 + 8000)
        var n = 0
        func id() -> String { n += 1; return "n\(n)" }
        func f(_ v: Double) -> String { TimeFormat.fixed(v, 2) }
        func box(_ cx: Double, _ cy: Double, _ w: Double, _ h: Double, _ attrs: String) {
            out += "\(id()) [pos=\"\(f(cx)),\(f(cy))!\", width=\(f(w / 72)), height=\(f(h / 72)), \(attrs)];\n"
        }
        // Text, anchored at its left edge; the node gets the text's estimated size so that
        // the picture's bounding box holds it.
        func text(_ left: Double, _ cy: Double, _ string: String, size: Double = 8, _ attrs: String = "") {
            let w = textWidth(string, size)
            out += "\(id()) [shape=plaintext, style=\"\", pos=\"\(f(left + w / 2)),\(f(cy))!\", width=\(f(w / 72)), " +
                "height=\(f(size * 1.3 / 72)), fontsize=\(f(size)), label=\(DOTText.label(string))\(attrs.isEmpty ? "" : ", " + attrs)];\n"
        }
        func point(_ px: Double, _ py: Double) -> String {
            let p = id()
            out += "\(p) [shape=point, width=0.01, height=0.01, style=invis, pos=\"\(f(px)),\(f(py))!\"];\n"
            return p
        }
        func line(_ ax: Double, _ ay: Double, _ bx: Double, _ by: Double, _ attrs: String) {
            let a = point(ax, ay), b = point(bx, by)
            out += "\(a) -> \(b) [\(attrs)];\n"
        }
        func textWidth(_ s: String, _ size: Double) -> Double { TimelineDOT.textWidth(s, size) }

        out += "digraph timeline {\n"
        out += "graph [notranslate=true, splines=false, outputorder=nodesfirst, bgcolor=white, pad=0.2, fontname=\"DejaVu Sans\"];\n"
        out += "node [shape=box, style=filled, fixedsize=true, label=\"\", penwidth=0, fontname=\"DejaVu Sans\", fontsize=8];\n"
        out += "edge [arrowsize=0.35, penwidth=0.7, dir=forward];\n"

        // Title and axis. The axis shows trace time (since proctrace started, the clock of
        // `replay --at` and `--from/--to`); the title says where the window starts.
        var title = "proctrace timeline: \(lanes.count) of \(history.processes.count) processes"
        title += options.model == .three ? ", three-state model" : ", five-state model"
        switch history.states {
        case .sched: title += " (scheduler states)"
        case .sampled: title += " (sampled states: ready and running not told apart)"
        case .none: title += " (no scheduler states: only alive / in wait / zombie)"
        }
        if history.incomplete { title += ", incomplete trace" }
        text(x0, height - 8, title, size: 10)
        var sub = "time axis: trace time (since proctrace started, as replay --at), window " +
            "\(TimeFormat.instant(t0, span: span)) – \(TimeFormat.instant(t1, span: span))"
        if options.from == nil {
            sub += candidates.first.map { $0.birth == t0 ? " from \($0.pid)'s \($0.via == .spawn ? "spawn" : "birth")" : "" } ?? ""
        }
        if options.to == nil, let e = history.end?.t, e > t1 { sub += "; trace end at \(TimeFormat.instant(e, span: span)) not shown" }
        if !axis.cuts.isEmpty {
            let cut = axis.cuts.reduce(Int64(0)) { $0 + $1.b - $1.a }
            sub += "; axis broken: \(axis.cuts.count == 1 ? "a stretch" : "\(axis.cuts.count) stretches") with no event " +
                "(\(TimelineAxis.cutText(cut))) cut out at the zig-zag (--no-break: linear)"
        }
        text(x0, height - 20, sub, size: 7.5, "fontcolor=\"#546e7a\"")
        let axisY = height - axisHeight + 4
        let gridBottom = height - top
        var gridXs: [Double] = []
        if axis.cuts.isEmpty {
            line(x0, axisY, x0 + options.plotWidth, axisY, "dir=none, color=\"#607d8b\"")
            let tick = niceTick(span)
            var tt = (t0 / tick) * tick
            if tt < t0 { tt += tick }
            while tt <= t1 {
                let tx = x(tt)
                line(tx, axisY, tx, axisY + 4, "dir=none, color=\"#607d8b\"")
                gridXs.append(tx)
                let tl = TimeFormat.instant(tt, span: span)
                text(tx - textWidth(tl, 8) / 2, axisY + 10, tl, size: 8, "fontcolor=\"#455a64\"")
                tt += tick
            }
        } else {
            // Broken axis: the axis line per kept stretch, a zig-zag over each cut with the
            // time cut, and ticks in trace time on both sides; the first instant after a cut
            // gets its own tick, so the time on the far side of a break is always readable.
            struct TickLabel { var x: Double; var text: String; var size: Double; var attrs: String; var leftAnchored = false }
            var labels: [TickLabel] = []   // in priority order
            for c in axis.cuts {
                let a = x(c.a), b = x(c.b), mid = (a + b) / 2
                let zig = [(a, axisY), (a + (b - a) * 0.2, axisY + 4), (a + (b - a) * 0.4, axisY - 4),
                           (a + (b - a) * 0.6, axisY + 4), (a + (b - a) * 0.8, axisY - 4), (b, axisY)]
                for (p, q) in zip(zig, zig.dropFirst()) {
                    line(p.0, p.1, q.0, q.1, "dir=none, class=\"axisbreak\", color=\"#37474f\", penwidth=1")
                }
                let ct = "… " + TimelineAxis.cutText(c.b - c.a) + " …"
                let tip = "axis broken: \(TimelineAxis.cutText(c.b - c.a)) with no event of any shown process cut out " +
                    "(\(TimeFormat.instant(c.a, span: span)) → \(TimeFormat.instant(c.b, span: span))); bands crossing the break go on through it"
                labels.append(TickLabel(x: mid, text: ct, size: 7,
                                        attrs: "class=\"axisbreak\", fontcolor=\"#37474f\", tooltip=\(DOTText.tooltip([tip]))"))
            }
            for (c, cutLabel) in zip(axis.cuts, labels) {
                let tx = x(c.b)
                line(tx, axisY, tx, axisY + 4, "dir=none, color=\"#607d8b\"")
                // Just right of the tick, or of the cut's label when that is wider than the gap.
                let cutRight = cutLabel.x + textWidth(cutLabel.text, cutLabel.size) / 2
                labels.append(TickLabel(x: max(tx, cutRight + 3), text: TimeFormat.instant(c.b, span: span), size: 8,
                                        attrs: "fontcolor=\"#455a64\"", leftAnchored: true))
            }
            let tick = niceTick(axis.kept)
            for seg in axis.segments {
                line(x(seg.s), axisY, x(seg.e), axisY, "dir=none, color=\"#607d8b\"")
                var tt = (seg.s / tick) * tick
                if tt < seg.s { tt += tick }
                while tt <= seg.e {
                    let tx = x(tt)
                    line(tx, axisY, tx, axisY + 4, "dir=none, color=\"#607d8b\"")
                    gridXs.append(tx)
                    labels.append(TickLabel(x: tx, text: TimelineAxis.tickLabel(tt, tick: tick, span: span), size: 8, attrs: "fontcolor=\"#455a64\""))
                    tt += tick
                }
            }
            // Labels never overlap: a later (lower-priority) one that would is left out.
            var taken: [(Double, Double)] = []
            for l in labels {
                let w = textWidth(l.text, l.size)
                let lo = l.leftAnchored ? l.x + 1 : l.x - w / 2, hi = lo + w
                if taken.contains(where: { lo < $0.1 + 3 && hi > $0.0 - 3 }) { continue }
                taken.append((lo, hi))
                text(lo, axisY + 10, l.text, size: l.size, l.attrs)
            }
        }

        // Stripes and grid lines first: everything else is drawn over them.
        for i in lanes.indices where i % 2 == 1 {
            let h = laneH + Double(threadRows(lanes[i]).count) * threadH
            box(x0 + options.plotWidth / 2, plotTopY - laneTop[i] - h / 2, options.plotWidth, h, "fillcolor=\"#f5f5f5\"")
        }
        for gx in gridXs {
            box(gx, (axisY + gridBottom) / 2, 0.5, axisY - gridBottom, "fillcolor=\"#dfe3e6\"")
        }
        // Each cut: a light hatch across every lane, under the bands (which go on through it).
        for (k, c) in axis.cuts.enumerated() {
            let a = x(c.a), b = x(c.b)
            let stripes = Array(repeating: "#cfd8dc:#ffffff", count: 6).joined(separator: ":")
            box((a + b) / 2, (axisY + gridBottom) / 2, b - a, axisY - gridBottom,
                "id=\"break_\(k + 1)\", class=\"axisbreak\", style=striped, fillcolor=\"\(stripes)\", tooltip=" +
                DOTText.tooltip(["axis broken: \(TimelineAxis.cutText(c.b - c.a)) with no event cut out " +
                                 "(\(TimeFormat.instant(c.a, span: span)) → \(TimeFormat.instant(c.b, span: span)))"]))
        }

        /// Draws the state bands of one row.
        var usedBands = Set<Band>()
        func drawBands(_ ivs: [StateInterval], waits: [(b: Int64, e: Int64, label: String)], stops: [(b: Int64, e: Int64, label: String)],
                       cy: Double, barH: Double, who: String, labelBands: Bool) {
            // A piece of no length (an auto-reaped child's zombie "time") is not drawn: its
            // minimum-width sliver would show a state the task never spent time in.
            let pieces = relabelStops(bands(ivs, waits: waits, source: history.states, model: options.model), stops: stops)
                .filter { $0.end > $0.start && $0.end > t0 && $0.start < t1 }
            let drawn = mergeNarrow(pieces, x: x)
            // Compact pictures: neighbouring merged stretches drawn in one colour are one box.
            for piece in roomy ? drawn : mergeAlike(drawn, look: { solidLook($0, cy: cy, barH: barH) }) {
                drawBand(piece, cy: cy, barH: barH, who: who)
                // Name the wait call inside a long enough wait band, and what another blocked
                // stretch sleeps in (`read` on a pipe, `futex` on a semaphore, a sleep): the
                // lesson of the Pipe, Queue and Semaphore scenarios, which their red bars alone
                // did not show (the tooltips and the viewer said it already).
                if labelBands, let (label, colour) = bandText(piece) {
                    let a = x(piece.start), w = max(x(piece.end) - a, 0.6)
                    let tw = textWidth(label, 6.5)
                    if tw + 6 < w { text(a + (w - tw) / 2, cy, label, size: 6.5, "fontcolor=\"\(colour)\"") }
                }
            }
        }
        /// One drawn stretch: a band in its colour, or a mixed stretch split by height in
        /// proportion to each state's time (the tooltip on its first part).
        func drawBand(_ piece: Drawn, cy: Double, barH: Double, who: String) {
            let b = piece.band
            usedBands.insert(b)
            let a = x(piece.start), e = x(piece.end)
            let w = max(e - a, 0.6)
            let h = b == .zombie ? barH * 0.6 : barH
            let times = "\(TimeFormat.instant(piece.start, span: span)) → \(TimeFormat.instant(piece.end, span: span)), "
                + "\(TimeFormat.labelDuration(piece.end - piece.start))"
            guard b == .mixed else {
                var tip = "\(who) \(b.name)"
                if let why = piece.why, b != .alive { tip += " (\(why))" }
                if piece.pieces > 1 { tip += " (\(piece.pieces) stretches)" }
                // A sliver widened to the minimum stays centred on its own time, so that it sits
                // over its neighbours by at most half the minimum on either side.
                box((a + e) / 2, cy, w, h, "\(b.fill(width: w)), tooltip=\(DOTText.tooltip([tip + ": " + times]))")
                return
            }
            let total = Double(max(piece.end - piece.start, 1))
            var tip = "\(who) mixed (\(piece.pieces) stretches"
            if roomy && !piece.sequence.isEmpty { tip += ": " + piece.sequence.map(\.name).joined(separator: " → ") }
            tip += "): " + times + "; " + piece.shares.map { "\($0.band.name) \(Int((Double($0.ns) / total * 100).rounded()))%" }.joined(separator: ", ")
            for share in piece.shares { usedBands.insert(share.band) }
            let parts = piece.solid.map { [(band: $0, cy: cy, h: h)] } ?? mixedParts(piece, cy: cy, h: h)
            // A joined stretch is as wide as the several it replaces: its width (whole hundredths
            // of an inch in the DOT) rounded up rather than to the nearest, so that rounding
            // leaves no gap between it and its neighbours that their own boxes did not leave.
            let bw = piece.solid == nil ? w : (w / 0.72).rounded(.up) * 0.72
            for (k, part) in parts.enumerated() {
                box(a + w / 2, part.cy, bw, part.h, k == 0 ? "class=\"mixed\", \(part.band.fill(width: bw)), tooltip=\(DOTText.tooltip([tip]))"
                    : part.band.fill(width: bw))
            }
        }
        /// How a mixed bar `h` high centred on `cy` is drawn: the top part's colour fills the
        /// whole bar (it carries the tooltip); the others are drawn over it, each as tall as
        /// its share of the time (from a point up).
        func mixedParts(_ piece: Drawn, cy: Double, h: Double) -> [(band: Band, cy: Double, h: Double)] {
            let total = Double(max(piece.end - piece.start, 1))
            var parts: [(band: Band, cy: Double, h: Double)] = []
            var top = cy + h / 2
            for (k, share) in piece.shares.enumerated() {
                let ph = h * Double(share.ns) / total
                if k == 0 { parts.append((share.band, cy, h)) } else if ph >= 1 { parts.append((share.band, top - ph / 2, ph)) }
                top -= ph
            }
            // A part that Graphviz draws exactly over the whole bar (its size rounded to whole
            // points: "running 99%") hides the bar and every part before it: the bar is drawn
            // in its colour and those are left out. The same picture, with one node where
            // there were two or three (on a 10,000-lane picture, 40,000 fewer nodes).
            let whole = (centre: f(cy), size: pointsDrawn(h))
            if let c = parts.indices.dropFirst().last(where: { f(parts[$0].cy) == whole.centre && pointsDrawn(parts[$0].h) == whole.size }) {
                parts.replaceSubrange(0...c, with: [(parts[c].band, cy, h)])
            }
            return parts
        }
        /// The one colour a stretch merged from several (`mergeNarrow`) is drawn in, if it is
        /// drawn as one box: nil for a stretch of one piece, a zombie or unknown one, and a
        /// mixed bar of several visible parts.
        func solidLook(_ piece: Drawn, cy: Double, barH: Double) -> Band? {
            guard piece.pieces > 1, piece.band != .zombie, piece.band != .unknown else { return nil }
            guard piece.band == .mixed else { return piece.band }
            let parts = piece.solid.map { [(band: $0, cy: cy, h: barH)] } ?? mixedParts(piece, cy: cy, h: barH)
            return parts.count == 1 ? parts[0].band : nil
        }
        /// The height Graphviz gives a fixed-size node of `size` points: the DOT's inches (two
        /// decimals) back in points, rounded to a whole point.
        func pointsDrawn(_ size: Double) -> Int { Int(((Double(f(size / 72)) ?? 0) * 72).rounded()) }

        // Lanes.
        let depthOf = depths(lanes, history)
        let hints = ArgvHints.hints(history, shown: Set(lanes.map(\.id)), limit: 28)
        for (i, p) in lanes.enumerated() {
            if i % 500 == 0 { progress(Double(i) / Double(max(lanes.count, 1))) }
            let ly = y(i)
            // Label: pid and command, indented by depth.
            let indent = Double(min(depthOf[i], 12)) * 8
            var name = "\(p.id) " + DOTText.truncated(p.execChain.last ?? "?", to: 20)
            if p.threads.count > 1 { name += " (\(p.threads.count) thr)" }
            // A look-alike sibling's telling arguments ("gcc -o lapi.o lapi.c"), cut to the gutter.
            if var hint = hints[p.id] {
                let room = Self.labelWidth - 6 - indent
                while !hint.isEmpty && textWidth(name + "  " + hint, 8) > room {
                    hint = String(hint.dropLast(hint.hasSuffix("…") ? 2 : 1)) + "…"
                    if hint == "…" { hint = ""; break }
                }
                if !hint.isEmpty { name += "  " + hint }
            }
            text(4 + indent, ly, name, size: 8,
                 "tooltip=\(DOTText.tooltip(ProcessTreeDOT.tooltip(p, span: history.endTime)))")

            // State bands (whole-process merge of the threads' states), wait calls marked.
            let until = p.exitTime ?? p.lastSeen
            let stops = stopSpans(p, until: until)
            drawBands(p.processStates(), waits: waitSpans(p, until: until), stops: stops, cy: ly, barH: barHeight, who: "\(p.id)", labelBands: roomy)
            // Not born in the trace: its bar starts where the recording attached to it.
            if p.attached && p.birth >= t0 && p.birth <= t1 {
                text(x(p.birth) + 2, ly + barHeight / 2 + 5, "already running at attach", size: 6, "class=\"attached\", fontcolor=\"#546e7a\"")
            }

            // One thin row per thread: its own states, or its lifetime without a state source.
            for (k, th) in threadRows(p).enumerated() {
                let ty = plotTopY - laneTop[i] - laneH - (Double(k) + 0.5) * threadH
                text(4 + indent + 10, ty, "thread \(th.tid)\(th.tid == p.pid ? " (main)" : "")", size: 6.5, "fontcolor=\"#546e7a\"")
                let own = p.stateIntervals.filter { ($0.tid ?? p.pid) == th.tid }
                let thEnd = th.end ?? until
                let ivs = p.statesRecorded && !own.isEmpty ? own.filter { $0.state != .terminated }
                    : [StateInterval(tid: th.tid, state: .running, start: th.start, end: thEnd)]
                let src = p.statesRecorded && !own.isEmpty ? history.states : StateSource.none
                let pieces = relabelStops(bands(ivs, waits: waitSpans(p, tid: th.tid, until: thEnd), source: src, model: options.model), stops: stops)
                    .filter { $0.end > $0.start && $0.end > t0 && $0.start < t1 }
                for piece in mergeNarrow(pieces, x: x) { drawBand(piece, cy: ty, barH: 5, who: "\(p.id) thread \(th.tid)") }
            }

            // Annotations: text above (slot 0) or below (slot 1) the bar, never over another.
            // Compact lanes have room above only.
            struct Note { var x: Double; var text: String; var size: Double; var attrs: String; var slot: Int; var must: Bool }
            var notes: [Note] = []
            for e in p.execs where e.t >= t0 && e.t <= t1 {
                let ex = x(e.t)
                box(ex, ly, 1.2, barHeight + 6, "fillcolor=black, tooltip=\(DOTText.tooltip(["exec " + e.path, ProcessRecord.shellQuoted(e.argv)]))")
                notes.append(Note(x: ex + 2, text: DOTText.truncated(ProcessRecord.base(e.path), to: 16), size: 6.5, attrs: "", slot: 0, must: false))
            }
            // Exit: a tick and a label at the exit instant (the zombie band starts there).
            if let xt = p.exitTime, xt >= t0, xt <= t1 {
                let ex = x(xt)
                var s = p.endSummary.replacingPrefix("exited ", with: "exit ")
                if p.autoReaped { s += ", auto-reaped" }
                let colour = p.wasKilled ? Palette.killedBorder : p.exitedNonZero ? "#e65100" : "#37474f"
                box(ex, ly, 1.6, barHeight + 4, "id=\"exit_\(p.pid)_\(p.id.generation)\", class=\"exit\", fillcolor=\"\(colour)\", "
                    + "tooltip=\(DOTText.tooltip(["\(p.id) \(p.endSummary) at \(TimeFormat.instant(xt, span: span))"]))")
                // Compact lanes leave "exit 0" to the tick's colour and tooltip: on thousands of
                // lanes the same two words would be most of the picture.
                if roomy || s != "exit 0" {
                    notes.append(Note(x: ex + 2, text: s, size: 7, attrs: "fontcolor=\"\(colour)\"", slot: 0, must: true))
                }
            }
            if let rt = p.reapTime, rt >= t0, rt <= t1, let by = p.reapedBy, p.reapHow != .auto,
               lane(of: by, at: rt).map({ $0 == i }) ?? true {
                let s = by == history.tracerPid ? "reaped by proctrace" : by == 1 ? "reaped by init (1)" : "reaped by \(by)"
                notes.append(Note(x: x(rt) + 3, text: s, size: 6, attrs: "fontcolor=\"#6d4c41\"", slot: 1, must: true))
            }
            for rp in p.reparents where rp.t >= t0 && rp.t <= t1 {
                if lane(of: rp.to, at: rp.t).map({ $0 == i }) ?? true {
                    let s = rp.to == 1 ? "orphan: adopted by init (1)" : "orphan: adopted by \(rp.to)"
                    notes.append(Note(x: x(rp.t) + 4, text: s, size: 6, attrs: "fontcolor=\"\(Palette.orphanBorder)\"", slot: 1, must: true))
                }
            }
            notes.sort { $0.x < $1.x }
            let slots = roomy ? 2 : 1
            var slotEnd = [Double](repeating: -.infinity, count: 2)
            let slotY = [ly + barHeight / 2 + 4.6, ly - barHeight / 2 - 4.6]
            for note in notes {
                let w = textWidth(note.text, note.size)
                let order = note.slot < slots ? [note.slot, 1 - note.slot] : [0, 1]
                var chosen: (slot: Int, left: Double)? = nil
                for s in order where s < slots && note.x >= slotEnd[s] + 2 { chosen = (s, note.x); break }
                if chosen == nil && note.must {
                    let s = (0..<slots).min { slotEnd[$0] < slotEnd[$1] }!
                    chosen = (s, slotEnd[s] + 4)
                }
                guard let c = chosen else { continue }
                text(c.left, slotY[c.slot], note.text, size: note.size, note.attrs)
                slotEnd[c.slot] = c.left + w
            }
            // Signals: a small red mark above the lane. Signals that fall on the same point of
            // the axis share one mark (drawn once, not stacked), whose tooltip lists them.
            let signals = p.signals.filter { $0.t >= t0 && $0.t <= t1 }
            var k = 0
            while k < signals.count {
                let at = f(x(signals[k].t))
                var j = k + 1
                while j < signals.count && f(x(signals[j].t)) == at { j += 1 }
                let said = signals[k..<j].prefix(12).map { s in
                    "\(s.sig)" + (s.from.map { " from \($0)" } ?? "") + " at \(TimeFormat.instant(s.t, span: span))"
                }
                let tip = j - k == 1 ? said : ["\(j - k) signals at this point:"] + said + (j - k > 12 ? ["… and \(j - k - 12) more"] : [])
                box(x(signals[k].t), ly + barHeight / 2 + 1.5, 3, 3, "shape=invtriangle, fillcolor=\"\(Palette.killedBorder)\", " +
                    "tooltip=\(DOTText.tooltip(tip))")
                k = j
            }
        }

        // Arrows between lanes: forks, reaps, reparents. In a picture of many lanes, one that
        // would cross more than `connectorLanes` lanes becomes a short mark on the child's lane,
        // pointing the way, the other end in its tooltip: hundreds of long lines would hide
        // every lane.
        progress(0.9)
        var stubs = 0
        /// A connector about lane `i` (the child, the reaped, the adopted) at `t`, whose other
        /// end is lane `other`: the whole line when it is near, else a short mark on lane `i`
        /// on the side of the other lane, one node (a line is three), its tooltip naming both.
        func connector(_ t: Int64, lane i: Int, other: Int, tip: String, colour: String, cls: String, line full: () -> Void) {
            guard abs(other - i) > Self.connectorLanes && lanes.count > Self.connectorPictureLanes else {
                if roomy { full(); return }
                // Compact lanes: a near connector as one thin box from lane to lane.
                let a = y(i), b = y(other)
                box(x(t), (a + b) / 2, 0.7, abs(a - b), "class=\"\(cls)\", fillcolor=\"\(colour)\", tooltip=\(DOTText.tooltip([tip]))")
                return
            }
            stubs += 1
            let towards = other < i ? 1.0 : -1.0   // the other lane is above (1) or below (-1)
            let far = " (\(abs(other - i)) lanes \(other < i ? "up" : "down"))"
            box(x(t), y(i) + towards * (barHeight / 2 + laneH * 0.2), 0.9, laneH * 0.4,
                "class=\"\(cls) stub\", fillcolor=\"\(colour)\", tooltip=\(DOTText.tooltip([tip + far]))")
        }
        for (i, p) in lanes.enumerated() {
            // (An attached process was not forked in the trace: no arrow.)
            if !p.attached, let parent = p.parent, let pl = laneIndex[parent], p.birth >= t0, p.birth <= t1 {
                let tip = "\(parent) forked \(p.id) (\(p.via)) at \(TimeFormat.instant(p.birth, span: span))"
                connector(p.birth, lane: i, other: pl, tip: tip, colour: "#37474f", cls: "fork") {
                    line(x(p.birth), y(pl), x(p.birth), y(i) + (pl < i ? 1 : -1) * barHeight / 2,
                         "class=\"fork\", color=\"#37474f\", tooltip=\(DOTText.tooltip([tip]))")
                }
            }
            if let rt = p.reapTime, rt >= t0, rt <= t1, let by = p.reapedBy, p.reapHow != .auto,
               let rl = lane(of: by, at: rt), rl != i {
                let tip = "\(by) reaped \(p.id) (\(p.reapHow?.rawValue ?? "?")) at \(TimeFormat.instant(rt, span: span))"
                connector(rt, lane: i, other: rl, tip: tip, colour: "#8d6e63", cls: "reap") {
                    line(x(rt), y(i), x(rt), y(rl) + (rl < i ? -1 : 1) * barHeight / 2,
                         "class=\"reap\", style=dotted, color=\"#6d4c41\", arrowhead=tee, tooltip=\(DOTText.tooltip([tip]))")
                }
            }
            for rp in p.reparents where rp.t >= t0 && rp.t <= t1 {
                box(x(rp.t), y(i), 5, 5, "shape=diamond, fillcolor=\"\(Palette.orphanBorder)\", " +
                    "tooltip=\(DOTText.tooltip(["\(p.id) reparented from \(rp.from) to \(rp.to) at \(TimeFormat.instant(rp.t, span: span))"]))")
                if let al = lane(of: rp.to, at: rp.t), al != i {
                    connector(rp.t, lane: i, other: al, tip: "\(rp.to) adopted \(p.id) at \(TimeFormat.instant(rp.t, span: span))",
                              colour: Palette.orphanBorder, cls: "reparent") {
                        line(x(rp.t), y(al), x(rp.t), y(i), "class=\"reparent\", style=dashed, color=\"\(Palette.orphanBorder)\"")
                    }
                }
            }
        }

        // The critical path: a thick line just under each segment's bar, and a step at each
        // hand-over from one process's lane to the next.
        var previous: (lane: Int, x: Double)?
        for (k, seg) in options.criticalPath.enumerated() {
            guard let li = laneIndex[seg.id] else { previous = nil; continue }
            let a = x(max(seg.start, t0)), b = x(min(seg.end, t1))
            guard seg.end >= t0 && seg.start <= t1 else { previous = nil; continue }
            let cy = y(li) - barHeight / 2 - 2.5
            if let p = previous, p.lane != li {
                line(a, y(p.lane) - barHeight / 2 - 2.5, a, cy, "class=\"critical\", color=\"\(Palette.criticalPath)\", penwidth=1.6, arrowhead=none")
            }
            box((a + b) / 2, cy, max(b - a, 0.8), 2.6,
                "id=\"critical_\(k + 1)\", class=\"critical\", color=\"\(Palette.criticalPath)\", fillcolor=\"\(Palette.criticalPath)\", tooltip=" +
                DOTText.tooltip(["critical path: \(seg.id) \(TimeFormat.instant(seg.start, span: span)) → " +
                                 "\(TimeFormat.instant(seg.end, span: span)), \(TimeFormat.labelDuration(seg.end - seg.start))"]))
            previous = (li, b)
        }

        // Legend: the bands this picture uses, then the marks.
        let order: [Band] = [.state(.new), .state(.ready), .state(.running), .runnable, .alive, .state(.blocked), .inWait, .stopped,
                             .traced, .zombie, .unknown, .mixed]
        var items: [(Band?, String)] = order.filter { usedBands.contains($0) }.map { ($0, $0.legendText) }
        if options.model == .three && history.states != .none { items.append((nil, "three-state model: new counts as ready; zombie is outside the model")) }
        var lx = x0
        var ly = gridBottom - 20
        text(4, ly, "Legend", size: 8, "id=\"legend\"")
        for (band, label) in items {
            let w = textWidth(label, 7) + 22
            if lx + w > x0 + options.plotWidth { lx = x0; ly -= 16 }
            if band == .mixed {
                // The swatch of a mixed stretch: a bar split by height, as drawn on the lanes.
                let parts = [Band.state(.ready), .state(.running), .state(.blocked)].map(\.colour)
                for (k, c) in parts.enumerated() {
                    box(lx + 5, ly + 8.0 / 3 - Double(k) * 8.0 / 3, 10, 8.0 / 3, "id=\"legend_mixed_\(k)\", fillcolor=\"\(c)\"")
                }
            } else if let band {
                box(lx + 5, ly, 10, 8, band.fill(width: 10) + (band == .unknown ? ", id=\"legend_unknown\"" : ""))
            }
            text(lx + 15, ly, label, size: 7)
            lx += w + 6
        }
        lx = x0; ly -= 16
        if !options.criticalPath.isEmpty {
            box(lx + 5, ly, 10, 2.6, "fillcolor=\"\(Palette.criticalPath)\", color=\"\(Palette.criticalPath)\"")
            text(lx + 15, ly, "critical path (proctrace analyze): the line under the bars, stepping from lane to lane", size: 7)
            ly -= 16
        }
        let marks = "marks:  | exec (black)   | exit (coloured, label at the exit instant)   ▼ signal   ◆ reparent   " +
            "vertical arrow: fork (parent → child)   dotted ⊥: reap (child → reaper)   dashed: adoption"
        text(lx, ly, marks, size: 7)
        if stubs > 0 {
            ly -= 12
            text(lx, ly, "short marks (\(stubs)): a fork (dark), reap (brown) or adoption (blue) between lanes more than \(Self.connectorLanes) apart, "
                 + "drawn on the child's lane only, on the side of the other lane (its tooltip names it)", size: 7)
        }
        out += "}\n"
        progress(1)
        return out
    }
}
