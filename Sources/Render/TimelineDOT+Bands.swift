import Lifecycle

/// What the timeline draws on a lane: bands of state, waits and stops, and the window.
extension TimelineDOT {
    /// What a stretch of a lane means, as drawn.
    enum Band: Hashable {
        case state(ProcState)
        case runnable      // sampled states: ready and running look alike
        case alive         // no state source: alive, not in a wait call
        case inWait        // no state source: inside a wait-family call
        case traced        // stopped by the tracer
        case stopped       // stopped by a job-control signal (SIGSTOP…) until SIGCONT
        case zombie
        case unknown       // the state source stopped: nothing is known (an `unknown` event)
        case mixed         // changes too close together to draw one by one (`mergeNarrow`)

        var colour: String {
            switch self {
            case .state(.new): return Palette.new
            case .state(.ready): return Palette.ready
            case .state(.running): return Palette.running
            case .state(.blocked): return Palette.blocked
            case .state(.terminated), .zombie: return Palette.zombie
            case .runnable: return Palette.runnable
            case .alive: return Palette.alive_
            case .inWait: return Palette.waiting
            case .traced: return Palette.traced
            case .stopped: return Palette.stopped
            case .unknown, .state(.unknown): return Palette.unknown
            case .mixed: return Palette.running
            }
        }

        /// Graphviz fill attributes for a band `width` points wide: unknown is hatched, so it
        /// reads as "no data" next to every solid state colour.
        func fill(width: Double) -> String {
            guard self == .unknown else { return "fillcolor=\"\(colour)\"" }
            let n = max(3, min(400, Int(width / 3)))
            let stripes = (0..<n).map { $0 % 2 == 0 ? Palette.unknown : Palette.unknownGap }.joined(separator: ":")
            return "style=striped, fillcolor=\"\(stripes)\", class=\"unknown\""
        }

        var name: String {
            switch self {
            case .state(let s): return s == .terminated ? "zombie" : s.rawValue
            case .runnable: return "runnable"
            case .alive: return "alive"
            case .inWait: return "blocked in wait call"
            case .traced: return "stopped by tracer"
            case .stopped: return "stopped by signal"
            case .zombie: return "zombie"
            case .unknown: return "state unknown"
            case .mixed: return "mixed"
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
            case .inWait: return "blocked in wait4()/waitid(): waiting for a child"
            case .traced: return "stopped by the tracer (ptrace)"
            case .stopped: return "stopped by SIGSTOP/SIGTSTP until SIGCONT (job control)"
            case .unknown, .state(.unknown): return "unknown (the state source stopped: lost events, nothing recorded)"
            case .mixed: return "mixed: states changing faster than one point of the axis; the bar is split by height in proportion to each state's time"
            }
        }
    }

    /// One stretch of a lane as drawn: a piece of one band, or (`band == .mixed`) several
    /// pieces too narrow to draw one by one, with the time spent in each band.
    struct Drawn {
        var band: Band
        var start: Int64
        var end: Int64
        var why: String?
        /// For `.mixed`: nanoseconds per band, in the order the stack is drawn top to bottom.
        var shares: [(band: Band, ns: Int64)] = []
        /// For `.mixed`: the pieces' bands in time order (when at most 40, else empty).
        var sequence: [Band] = []
        var pieces = 1
        /// For `.mixed`: the one colour it is drawn in, when it joins neighbours that each
        /// looked so (`mergeAlike`); nil: split by height as its shares say.
        var solid: Band? = nil
    }

    /// The order of a mixed bar's parts, top to bottom.
    static let stackOrder: [Band] = [.state(.new), .state(.ready), .state(.running), .runnable, .alive, .state(.blocked), .inWait, .stopped, .traced]

    /// Time per band of a merged stretch, kept in `stackOrder` (a dictionary keyed by `Band`
    /// cost a tenth of building a 10,000-lane timeline's DOT in hashing).
    struct StackTimes {
        private var ns = [Int64](repeating: 0, count: TimelineDOT.stackOrder.count)
        private var seen = [Bool](repeating: false, count: TimelineDOT.stackOrder.count)
        /// Bands outside `stackOrder` (none are merged today), after those in it.
        private var others: [(band: Band, ns: Int64)] = []
        private(set) var count = 0

        mutating func add(_ band: Band, _ d: Int64) {
            if let k = TimelineDOT.stackIndex(band) {
                if !seen[k] { seen[k] = true; count += 1 }
                ns[k] += d
            } else if let k = others.firstIndex(where: { $0.band == band }) {
                others[k].ns += d
            } else {
                others.append((band, d)); count += 1
            }
        }

        /// The bands with time, top to bottom.
        var shares: [(band: Band, ns: Int64)] {
            TimelineDOT.stackOrder.indices.compactMap { k in seen[k] ? (band: TimelineDOT.stackOrder[k], ns: ns[k]) : nil } + others
        }
    }

    /// `band`'s place in `stackOrder`.
    static func stackIndex(_ band: Band) -> Int? {
        switch band {
        case .state(.new): return 0
        case .state(.ready): return 1
        case .state(.running): return 2
        case .runnable: return 3
        case .alive: return 4
        case .state(.blocked): return 5
        case .inWait: return 6
        case .stopped: return 7
        case .traced: return 8
        default: return nil
        }
    }

    /// Merges runs of pieces narrower than `minWidth` points into `.mixed` stretches of one to two
    /// `minWidth`, so a lane never holds more shapes than the axis has points (a ping-pong
    /// pair changes state every few microseconds). Zombie and unknown pieces are never merged:
    /// each is drawn as itself. `x` maps trace time to the axis.
    static func mergeNarrow(_ pieces: [(band: Band, start: Int64, end: Int64, why: String?)], minWidth: Double = 1.0,
                            x: (Int64) -> Double) -> [Drawn] {
        var out: [Drawn] = []
        out.reserveCapacity(min(pieces.count, 2048))
        var group: [(band: Band, start: Int64, end: Int64, why: String?)] = []
        func flush() {
            guard let first = group.first, let last = group.last else { return }
            defer { group.removeAll(keepingCapacity: true) }
            if group.count == 1 { out.append(Drawn(band: first.band, start: first.start, end: first.end, why: first.why)); return }
            var time = StackTimes()
            for p in group { time.add(p.band, p.end - p.start) }
            if time.count == 1 {
                let why = group.allSatisfy({ $0.why == first.why }) ? first.why : nil
                out.append(Drawn(band: first.band, start: first.start, end: last.end, why: why, pieces: group.count)); return
            }
            let shares = time.shares
            out.append(Drawn(band: .mixed, start: first.start, end: last.end, why: nil, shares: shares,
                             sequence: group.count <= 40 ? group.map(\.band) : [], pieces: group.count))
        }
        for p in pieces {
            let a = x(p.start), w = x(p.end) - a
            let mergeable = w < minWidth && p.band != .zombie && p.band != .unknown
            if let g = group.first {
                // A gap, a wide enough group, or a piece that must stand alone ends the group.
                if !mergeable || p.start > group[group.count - 1].end || x(p.end) - x(g.start) > minWidth * 2 { flush() }
            }
            if mergeable { group.append(p) } else { out.append(Drawn(band: p.band, start: p.start, end: p.end, why: p.why)) }
        }
        flush()
        return out
    }

    /// Joins neighbouring stretches merged by `mergeNarrow` that are each drawn as one box of
    /// the same colour (`look`: that colour, or nil for a stretch that must stay itself) into
    /// one `.mixed` stretch drawn in that colour, with the time of each state summed: the
    /// same picture with one box where there were several (a compiler's run of "running 99%"
    /// bars). Stretches of one piece, zombie and unknown ones are never joined (`look` nil).
    static func mergeAlike(_ drawn: [Drawn], look: (Drawn) -> Band?) -> [Drawn] {
        var out: [Drawn] = []
        out.reserveCapacity(drawn.count)
        var run: (first: Int, colour: Band)?
        func flush(upTo end: Int) {
            guard let r = run else { return }
            run = nil
            guard end - r.first > 1 else { out.append(drawn[r.first]); return }
            var time = StackTimes()
            var pieces = 0
            for d in drawn[r.first..<end] {
                pieces += d.pieces
                if d.band == .mixed { for s in d.shares { time.add(s.band, s.ns) } } else { time.add(d.band, d.end - d.start) }
            }
            let shares = time.shares
            if shares.count == 1 {
                out.append(Drawn(band: shares[0].band, start: drawn[r.first].start, end: drawn[end - 1].end, why: nil, pieces: pieces))
                return
            }
            out.append(Drawn(band: .mixed, start: drawn[r.first].start, end: drawn[end - 1].end, why: nil, shares: shares,
                             sequence: [], pieces: pieces, solid: r.colour))
        }
        for (k, d) in drawn.enumerated() {
            let colour = look(d)
            if let r = run, colour == r.colour, d.start == drawn[k - 1].end { continue }
            flush(upTo: k)
            if let colour { run = (k, colour) } else { out.append(d) }
        }
        flush(upTo: drawn.count)
        return out
    }

    static func band(_ iv: StateInterval, source: StateSource, model: StateModel) -> Band? {
        if iv.state == .terminated { return .zombie }
        if iv.state == .unknown { return .unknown }
        if iv.state == .blocked, let why = iv.why, why == "traced" || why.hasPrefix("traced") { return .traced }
        // The recorder names a job-control stop (`stopped:SIGTSTP`): drawn as the stop it is,
        // never as a sleep, nor hidden under the wait call it interrupted (the viewer does the same).
        if iv.state == .blocked, let why = iv.why, why.hasPrefix("stopped") { return .stopped }
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

    /// The last instant anything happens to `p`: its reap (or, unreaped, the trace's end),
    /// its exit, its last state change, signal or wait.
    static func lastActivity(_ p: ProcessRecord) -> Int64 {
        var t = max(p.lastSeen, p.reapTime ?? 0, p.exitTime ?? p.birth)
        if let s = p.signals.last { t = max(t, s.t) }
        for w in p.waits { if let e = w.end { t = max(t, e) } }
        for e in p.execs { t = max(t, e.t) }
        return t
    }

    /// The time window drawn, in trace time (ns since the trace started, as `replay --at`).
    /// By default it runs from the first birth among `procs` (the root's spawn, which comes
    /// some milliseconds after the trace starts) to the last thing that happens to any of
    /// them, not the trace's `end` line; `from`/`to` override either side.
    static func window(_ procs: [ProcessRecord], from: Int64?, to: Int64?) -> (Int64, Int64) {
        let t0 = max(0, from ?? procs.map(\.birth).min() ?? 0)
        var t1 = to ?? procs.map(lastActivity).max() ?? t0
        if t1 <= t0 { t1 = t0 + 1 }
        return (t0, t1)
    }

    /// The blocked stretches of `ivs` that fall inside a wait-family call become `.inWait`
    /// (the lesson of the wait scenarios: a parent asleep in wait4 until its child exits).
    /// `waits` are (begin, end, label) sorted by begin; both lists are in time order.
    static func bands(_ ivs: [StateInterval], waits: [(b: Int64, e: Int64, label: String)],
                      source: StateSource, model: StateModel) -> [(band: Band, start: Int64, end: Int64, why: String?)] {
        var out: [(band: Band, start: Int64, end: Int64, why: String?)] = []
        out.reserveCapacity(ivs.count)
        var j = 0
        for iv in ivs {
            guard let b = band(iv, source: source, model: model) else { continue }
            let plainBlocked = b == .state(.blocked) || b == .inWait
            if !plainBlocked || waits.isEmpty {
                out.append((b, iv.start, iv.end, iv.why)); continue
            }
            while j < waits.count && waits[j].e <= iv.start { j += 1 }
            var cursor = iv.start
            var k = j
            while k < waits.count && waits[k].b < iv.end {
                let ws = max(waits[k].b, cursor), we = min(waits[k].e, iv.end)
                if we > ws {
                    if ws > cursor { out.append((source == .none ? .alive : .state(.blocked), cursor, ws, iv.why)) }
                    out.append((.inWait, ws, we, waits[k].label))
                    cursor = we
                }
                k += 1
            }
            if cursor < iv.end {
                out.append((source == .none ? .inWait : b == .inWait ? .state(.blocked) : b, cursor, iv.end, iv.why))
            }
        }
        return out
    }

    /// Job-control stops: from a SIGSTOP/SIGTSTP/SIGTTIN/SIGTTOU delivered to `p` to the next
    /// SIGCONT (or its exit). Under ptrace the kernel reports such a stop as a tracer stop, so
    /// the recorder says `traced`; the picture must not blame the tracer for it.
    static func stopSpans(_ p: ProcessRecord, until: Int64) -> [(b: Int64, e: Int64, label: String)] {
        var out: [(b: Int64, e: Int64, label: String)] = []
        var open: (Int64, String)?
        for s in p.signals {
            if ["SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU"].contains(s.sig) { if open == nil { open = (s.t, s.sig) } }
            else if s.sig == "SIGCONT", let o = open { out.append((o.0, s.t, o.1)); open = nil }
        }
        if let o = open { out.append((o.0, until, o.1)) }
        return out
    }

    /// Tracer stops that fall inside a job-control stop become `.stopped`.
    static func relabelStops(_ pieces: [(band: Band, start: Int64, end: Int64, why: String?)],
                             stops: [(b: Int64, e: Int64, label: String)]) -> [(band: Band, start: Int64, end: Int64, why: String?)] {
        guard !stops.isEmpty else { return pieces }
        return pieces.map { piece in
            guard piece.band == .traced, let s = stops.first(where: { piece.start >= $0.b && piece.start < $0.e }) else { return piece }
            return (.stopped, piece.start, piece.end, s.label)
        }
    }

    /// Wait calls as sorted, merged spans with a short label (`wait4(-1)`), for `tid` or all.
    /// A call a signal interrupted and the kernel restarted says so after the call
    /// (`wait4(-1), restarted after a signal at 0.100123s`): the tooltip shows it all, the
    /// band's own text only the call (`waitCallText`).
    static func waitSpans(_ p: ProcessRecord, tid: Int? = nil, until: Int64) -> [(b: Int64, e: Int64, label: String)] {
        var ws = p.waits.filter { tid == nil || ($0.tid ?? p.pid) == tid }
            .map { (b: $0.begin, e: $0.end ?? until, label: "\($0.call)(\($0.target))" + ($0.restartNote.map { ", " + $0 } ?? "")) }
            .filter { $0.e > $0.b }
        ws.sort { $0.b < $1.b }
        var merged: [(b: Int64, e: Int64, label: String)] = []
        for w in ws {
            if let last = merged.last, w.b <= last.e { merged[merged.count - 1].e = max(last.e, w.e) }
            else { merged.append(w) }
        }
        return merged
    }

    /// The call named inside a wait band: its label without the restart note.
    static func waitCallText(_ label: String) -> String {
        label.firstIndex(of: ",").map { String(label[..<$0]) } ?? label
    }

    /// The text drawn inside a wide enough stretch, and its colour: a wait band's call
    /// (`wait4(-1)`), or the `why` of one blocked stretch (`read`, `futex`, `clock_nanosleep`:
    /// the trace's own word, exact for noted calls and best effort for other sleeps, as
    /// docs/states.md says). Nothing for a stretch merged from several.
    static func bandText(_ piece: Drawn) -> (text: String, colour: String)? {
        guard piece.pieces == 1, let why = piece.why, !why.isEmpty else { return nil }
        switch piece.band {
        case .inWait: return (waitCallText(why), Palette.waitingText)
        case .state(.blocked): return (why, Palette.blockedText)
        default: return nil
        }
    }
}
