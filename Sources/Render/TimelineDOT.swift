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
    public init(model: StateModel = .five, from: Int64? = nil, to: Int64? = nil, filter: ProcessFilter = ProcessFilter()) {
        self.model = model; self.from = from; self.to = to; self.filter = filter
    }
}

/// The timeline as DOT for the `nop2` engine: every shape's position is computed here and
/// pinned (`pos="x,y!"`), so Graphviz only draws, and thousands of lanes stay fast.
public enum TimelineDOT {
    static let laneHeight = 18.0
    static let barHeight = 10.0
    static let labelWidth = 190.0
    static let axisHeight = 34.0

    /// What a stretch of a lane means, as drawn.
    enum Band: Hashable {
        case state(ProcState)
        case runnable      // sampled states: ready and running look alike
        case alive         // no state source: alive, not in a wait call
        case inWait        // no state source: inside a wait-family call
        case traced        // stopped by the tracer
        case zombie

        var colour: String {
            switch self {
            case .state(.new): return Palette.new
            case .state(.ready): return Palette.ready
            case .state(.running): return Palette.running
            case .state(.blocked): return Palette.blocked
            case .state(.terminated), .zombie: return Palette.zombie
            case .runnable: return Palette.runnable
            case .alive: return Palette.alive_
            case .inWait: return Palette.blocked
            case .traced: return Palette.traced
            }
        }

        var name: String {
            switch self {
            case .state(let s): return s == .terminated ? "zombie" : s.rawValue
            case .runnable: return "runnable"
            case .alive: return "alive"
            case .inWait: return "in wait call"
            case .traced: return "stopped by tracer"
            case .zombie: return "zombie"
            }
        }

        var legendText: String {
            switch self {
            case .state(.new): return "new (created, not yet scheduled)"
            case .state(.ready): return "ready (runnable, waiting for a CPU)"
            case .state(.running): return "running (on a CPU)"
            case .state(.blocked): return "blocked (sleeping on something)"
            case .state(.terminated), .zombie: return "zombie (exited, not yet reaped)"
            case .runnable: return "runnable (sampled: ready or running)"
            case .alive: return "alive (no scheduler states recorded)"
            case .inWait: return "inside wait()/waitid()"
            case .traced: return "stopped by the tracer (ptrace)"
            }
        }
    }

    static func band(_ iv: StateInterval, source: StateSource, model: StateModel) -> Band? {
        if iv.state == .terminated { return .zombie }
        if iv.state == .blocked, let why = iv.why, why == "traced" || why.hasPrefix("traced") { return .traced }
        switch source {
        case .none:
            return iv.state == .blocked ? .inWait : .alive
        case .sampled:
            let s = model == .three ? (StateModel.three(iv.state) ?? iv.state) : iv.state
            return (s == .ready || s == .running) ? .runnable : .state(s)
        case .sched:
            let s = model == .three ? (StateModel.three(iv.state) ?? iv.state) : iv.state
            return .state(s)
        }
    }

    /// Renders the timeline. `progress` is called now and then with a fraction done.
    public static func dot(_ history: ProcessHistory, options: TimelineOptions = TimelineOptions(),
                           progress: (Double) -> Void = { _ in }) -> String {
        let t0 = max(0, options.from ?? 0)
        var t1 = options.to ?? history.endTime
        if t1 <= t0 { t1 = t0 + 1 }
        let span = t1 - t0
        let scale = options.plotWidth / Double(span)
        let x0 = labelWidth + 10
        func x(_ t: Int64) -> Double { x0 + Double(min(max(t, t0), t1) - t0) * scale }

        let selected = options.filter.isEmpty ? nil : options.filter.select(history)
        let lanes = history.processes.filter { p in
            if let s = selected, !s.contains(p.id) { return false }
            let end = p.reapTime ?? history.endTime
            return end >= t0 && p.birth <= t1
        }
        var laneIndex: [ProcessID: Int] = [:]
        for (i, p) in lanes.enumerated() { laneIndex[p.id] = i }
        // pid → lanes, to find the lane of a pid at an instant (pids are reused).
        var lanesByPid: [Int: [Int]] = [:]
        for (i, p) in lanes.enumerated() { lanesByPid[p.pid, default: []].append(i) }
        func lane(of pid: Int, at t: Int64) -> Int? {
            lanesByPid[pid]?.last { lanes[$0].birth <= t && (lanes[$0].reapTime ?? Int64.max) >= t }
        }

        let legendRows = 2.0
        let top = axisHeight + Double(lanes.count) * laneHeight
        let height = top + 20 + legendRows * 16 + 20
        func y(_ lane: Int) -> Double { height - axisHeight - (Double(lane) + 0.5) * laneHeight }

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
            out += "\(id()) [shape=plaintext, style=\"\", pos=\"\(f(left + w / 2)),\(f(cy))!\", width=\(f(w / 72)), height=\(f(size * 1.3 / 72)), fontsize=\(f(size)), label=\(DOTText.label(string))\(attrs.isEmpty ? "" : ", " + attrs)];\n"
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
        func textWidth(_ s: String, _ size: Double) -> Double { Double(s.count) * size * 0.56 }

        out += "digraph timeline {\n"
        out += "graph [notranslate=true, splines=false, outputorder=nodesfirst, bgcolor=white, pad=0.2, fontname=\"DejaVu Sans\"];\n"
        out += "node [shape=box, style=filled, fixedsize=true, label=\"\", penwidth=0, fontname=\"DejaVu Sans\", fontsize=8];\n"
        out += "edge [arrowsize=0.35, penwidth=0.7, dir=forward];\n"

        // Title and axis.
        var title = "proctrace timeline: \(lanes.count) of \(history.processes.count) processes, \(TimeFormat.instant(t0, span: span)) – \(TimeFormat.instant(t1, span: span))"
        title += options.model == .three ? ", three-state model" : ", five-state model"
        switch history.states {
        case .sched: title += " (scheduler states)"
        case .sampled: title += " (sampled states: ready and running not told apart)"
        case .none: title += " (no scheduler states: only alive / in wait / zombie)"
        }
        if history.incomplete { title += ", incomplete trace" }
        text(x0, height - 8, title, size: 10)
        let axisY = height - axisHeight + 4
        line(x0, axisY, x0 + options.plotWidth, axisY, "dir=none, color=\"#607d8b\"")
        let tick = niceTick(span)
        var tt = (t0 / tick) * tick
        if tt < t0 { tt += tick }
        let gridBottom = height - top
        var gridXs: [Double] = []
        while tt <= t1 {
            let tx = x(tt)
            line(tx, axisY, tx, axisY + 4, "dir=none, color=\"#607d8b\"")
            gridXs.append(tx)
            let tl = TimeFormat.instant(tt, span: span)
            text(tx - textWidth(tl, 8) / 2, axisY + 10, tl, size: 8, "fontcolor=\"#455a64\"")
            tt += tick
        }

        // Stripes and grid lines first: everything else is drawn over them.
        for i in lanes.indices where i % 2 == 1 {
            box(x0 + options.plotWidth / 2, y(i), options.plotWidth, laneHeight, "fillcolor=\"#f5f5f5\"")
        }
        for gx in gridXs {
            box(gx, (axisY + gridBottom) / 2, 0.5, axisY - gridBottom, "fillcolor=\"#dfe3e6\"")
        }

        // Lanes.
        var usedBands = Set<Band>()
        let depthOf = depths(lanes, history)
        for (i, p) in lanes.enumerated() {
            if i % 500 == 0 { progress(Double(i) / Double(max(lanes.count, 1))) }
            let ly = y(i)
            // Label: pid and command, indented by depth.
            let indent = Double(min(depthOf[i], 12)) * 8
            var name = "\(p.id) " + DOTText.truncated(p.execChain.last ?? "?", to: 20)
            if p.threads.count > 1 { name += " (\(p.threads.count) thr)" }
            text(4 + indent, ly, name, size: 8,
                 "tooltip=\(DOTText.tooltip(ProcessTreeDOT.tooltip(p, span: history.endTime)))")

            // State bands (whole-process merge of the threads' states).
            for iv in p.processStates() where iv.end > t0 && iv.start < t1 {
                guard let b = band(iv, source: history.states, model: options.model) else { continue }
                usedBands.insert(b)
                let a = x(iv.start), e = x(iv.end)
                let w = max(e - a, 0.6)
                let h = b == .zombie ? barHeight * 0.6 : barHeight
                var tip = "\(p.id) \(b.name)"
                if let why = iv.why, b != .alive { tip += " (\(why))" }
                tip += ": \(TimeFormat.instant(iv.start, span: span)) → \(TimeFormat.instant(iv.end, span: span)), \(TimeFormat.duration(iv.duration))"
                box(a + w / 2, ly, w, h, "fillcolor=\"\(b.colour)\", tooltip=\(DOTText.tooltip([tip]))")
            }
            // A zombie that was never reaped stays a zombie to the end.
            // Exec ticks.
            for e in p.execs where e.t >= t0 && e.t <= t1 {
                let ex = x(e.t)
                box(ex, ly, 1.2, barHeight + 6, "fillcolor=black, tooltip=\(DOTText.tooltip(["exec " + e.path, ProcessRecord.shellQuoted(e.argv)]))")
                let nm = DOTText.truncated(ProcessRecord.base(e.path), to: 16)
                text(ex + 2, ly + barHeight / 2 + 3.2, nm, size: 6.5)
            }
            // Exit label after the lane's end.
            if let xt = p.exitTime, xt >= t0, xt <= t1 {
                let endX = x(p.reapTime ?? history.endTime)
                var s = p.endSummary.replacingPrefix("exited ", with: "exit ")
                if p.autoReaped { s += ", auto-reaped" }
                let colour = p.wasKilled ? Palette.killedBorder : p.exitedNonZero ? "#e65100" : "#37474f"
                text(endX + 3, ly, s, size: 7, "fontcolor=\"\(colour)\"")
            }
            // Signals: a small red mark above the lane.
            for s in p.signals where s.t >= t0 && s.t <= t1 {
                box(x(s.t), ly + barHeight / 2 + 1.5, 3, 3, "shape=invtriangle, fillcolor=\"\(Palette.killedBorder)\", tooltip=\(DOTText.tooltip(["\(s.sig)" + (s.from.map { " from \($0)" } ?? "") + " at \(TimeFormat.instant(s.t, span: span))"]))")
            }
        }

        // Arrows between lanes: forks, reaps, reparents.
        progress(0.9)
        for (i, p) in lanes.enumerated() {
            if let parent = p.parent, let pl = laneIndex[parent], p.birth >= t0, p.birth <= t1 {
                line(x(p.birth), y(pl), x(p.birth), y(i) + barHeight / 2, "class=\"fork\", color=\"#37474f\", tooltip=\(DOTText.tooltip(["\(parent) forked \(p.id) (\(p.via)) at \(TimeFormat.instant(p.birth, span: span))"]))")
            }
            if let rt = p.reapTime, rt >= t0, rt <= t1, let by = p.reapedBy, p.reapHow != "auto" {
                if let rl = lane(of: by, at: rt), rl != i {
                    line(x(rt), y(i), x(rt), y(rl) + (rl < i ? -1 : 1) * barHeight / 2,
                         "class=\"reap\", style=dotted, color=\"#6d4c41\", arrowhead=tee, tooltip=\(DOTText.tooltip(["\(by) reaped \(p.id) (\(p.reapHow ?? "?")) at \(TimeFormat.instant(rt, span: span))"]))")
                } else {
                    let s = by == history.tracerPid ? "reaped by proctrace" : "reaped by \(by)"
                    text(x(rt) + 3, y(i) - barHeight / 2 - 2.5, s, size: 6, "fontcolor=\"#6d4c41\"")
                }
            }
            for rp in p.reparents where rp.t >= t0 && rp.t <= t1 {
                box(x(rp.t), y(i), 5, 5, "shape=diamond, fillcolor=\"\(Palette.orphanBorder)\", tooltip=\(DOTText.tooltip(["\(p.id) reparented from \(rp.from) to \(rp.to) at \(TimeFormat.instant(rp.t, span: span))"]))")
                if let al = lane(of: rp.to, at: rp.t), al != i {
                    line(x(rp.t), y(al), x(rp.t), y(i), "class=\"reparent\", style=dashed, color=\"\(Palette.orphanBorder)\"")
                } else {
                    let s = "adopted by \(rp.to)"
                    text(x(rp.t) + 4, y(i) - barHeight / 2 - 3, s, size: 6, "fontcolor=\"\(Palette.orphanBorder)\"")
                }
            }
        }

        // Legend: the bands this picture uses, then the marks.
        let order: [Band] = [.state(.new), .state(.ready), .state(.running), .runnable, .alive, .state(.blocked), .inWait, .traced, .zombie]
        var items: [(String, String)] = order.filter { usedBands.contains($0) }.map { ($0.colour, $0.legendText) }
        if options.model == .three && history.states != .none { items.append(("", "three-state model: new counts as ready; zombie is outside the model")) }
        var lx = x0
        var ly = gridBottom - 20
        text(4, ly, "Legend", size: 8, "id=\"legend\"")
        for (colour, label) in items {
            let w = textWidth(label, 7) + 20
            if lx + w > x0 + options.plotWidth { lx = x0; ly -= 16 }
            if !colour.isEmpty { box(lx + 5, ly, 10, 8, "fillcolor=\"\(colour)\"") }
            text(lx + 13, ly, label, size: 7)
            lx += w + 6
        }
        lx = x0; ly -= 16
        let marks = "marks:  | exec   ▼ signal   ◆ reparent   vertical arrow: fork (parent → child)   dotted ⊥: reap (child → reaper)   dashed: adoption"
        text(lx, ly, marks, size: 7)
        out += "}\n"
        progress(1)
        return out
    }

    /// A round tick interval giving 5 to 12 ticks over `span`.
    static func niceTick(_ span: Int64) -> Int64 {
        var step: Int64 = 1
        while span / step > 12 {
            for m: Int64 in [2, 5, 10] where span / (step * m / (m == 10 ? 1 : 1)) <= 12 || m == 10 {
                if span / (step * m) <= 12 { return step * m }
            }
            step *= 10
        }
        return step
    }

    static func depths(_ lanes: [ProcessRecord], _ h: ProcessHistory) -> [Int] {
        var depthByID: [ProcessID: Int] = [:]
        for p in h.processes { depthByID[p.id] = p.parent.flatMap { depthByID[$0] }.map { $0 + 1 } ?? 0 }
        return lanes.map { depthByID[$0.id] ?? 0 }
    }
}

extension String {
    func replacingPrefix(_ prefix: String, with other: String) -> String {
        hasPrefix(prefix) ? other + dropFirst(prefix.count) : self
    }
}
