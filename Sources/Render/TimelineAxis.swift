import Lifecycle

/// The timeline's time axis: trace time → x. Linear, or "broken": idle stretches (no event of
/// any shown process) are cut out and each drawn as a fixed narrow gap.
struct TimelineAxis {
    /// A cut: the trace time from `a` to `b` is drawn `gap` points wide.
    struct Cut: Equatable { var a: Int64; var b: Int64 }

    static let gapWidth = 44.0

    let t0: Int64, t1: Int64
    let x0: Double, width: Double
    let cuts: [Cut]
    let scale: Double
    var gap: Double { cuts.isEmpty ? 0 : Self.gapWidth }

    init(t0: Int64, t1: Int64, x0: Double, width: Double, cuts: [Cut] = []) {
        self.t0 = t0; self.t1 = t1; self.x0 = x0; self.width = width; self.cuts = cuts
        let kept = (t1 - t0) - cuts.reduce(0) { $0 + ($1.b - $1.a) }
        scale = (width - Double(cuts.count) * Self.gapWidth) / Double(max(kept, 1))
    }

    /// The x of trace time `t` (clamped to the window).
    func x(_ t: Int64) -> Double {
        let t = min(max(t, t0), t1)
        var px = x0, prev = t0
        for c in cuts {
            if t <= c.a { return px + Double(t - prev) * scale }
            px += Double(c.a - prev) * scale
            if t < c.b { return px + Self.gapWidth * Double(t - c.a) / Double(c.b - c.a) }
            px += Self.gapWidth
            prev = c.b
        }
        return px + Double(t - prev) * scale
    }

    /// The kept stretches of the window, in time order.
    var segments: [(s: Int64, e: Int64)] {
        var out: [(s: Int64, e: Int64)] = []
        var s = t0
        for c in cuts { out.append((s, c.a)); s = c.b }
        out.append((s, t1))
        return out
    }

    /// Total time drawn (the window minus the cuts).
    var kept: Int64 { (t1 - t0) - cuts.reduce(0) { $0 + ($1.b - $1.a) } }

    /// Calls `body` with every instant something happens to one of `procs`: birth, exec, exit,
    /// reap, reparent, signal, wait begin and end, thread start and end, group change, and each
    /// state change.
    static func forEachEventTime(_ procs: [ProcessRecord], _ body: (Int64) -> Void) {
        for p in procs {
            body(p.birth)
            if let x = p.exitTime { body(x) }
            if let r = p.reapTime { body(r) }
            for e in p.execs { body(e.t) }
            for r in p.reparents { body(r.t) }
            for s in p.signals { body(s.t) }
            for w in p.waits { body(w.begin); if let e = w.end { body(e) } }
            for th in p.threads { body(th.start); if let e = th.end { body(e) } }
            for g in p.groups { body(g.t) }
            for iv in p.stateIntervals { body(iv.start); body(iv.end) }
        }
    }

    /// The idle stretches of [t0, t1] worth cutting: no event of `procs` for more than a
    /// quarter of the window and more than 250 ms. A little idle time is kept on each side of
    /// a cut, so that the events around it do not sit on the break mark.
    static func idleCuts(_ procs: [ProcessRecord], t0: Int64, t1: Int64) -> [Cut] {
        let span = t1 - t0
        guard span > 0 else { return [] }
        // Only long silences: a cut inside a short run (a 50 ms wait) would hide what it teaches.
        let threshold = max(span / 4, 250_000_000)
        // Without sorting the instants (two million on a 10,000-lane trace): the window in
        // buckets half the threshold wide (at most nine), each with its first and last instant.
        // A silence longer than the threshold covers a whole bucket, so it lies between the
        // last instant of a bucket and the first of the next bucket that has any; two instants
        // of one bucket, or of neighbouring buckets, are less than the threshold apart.
        let width = threshold / 2
        var first = [Int64](repeating: .max, count: Int(span / width) + 1)
        var last = [Int64](repeating: .min, count: first.count)
        func note(_ t: Int64) {
            let k = Int((t - t0) / width)
            if t < first[k] { first[k] = t }
            if t > last[k] { last[k] = t }
        }
        note(t0); note(t1)
        forEachEventTime(procs) { t in if t > t0 && t < t1 { note(t) } }
        var gaps: [Cut] = []
        var previous: Int64?
        for k in first.indices where first[k] != .max {
            if let a = previous, first[k] - a > threshold { gaps.append(Cut(a: a, b: first[k])) }
            previous = last[k]
        }
        guard !gaps.isEmpty else { return [] }
        let kept = span - gaps.reduce(0) { $0 + ($1.b - $1.a) }
        return gaps.map { g in
            // More room after the cut: what resumes there (a late reap) needs its labels.
            let before = min(max(kept / 40, 1), (g.b - g.a) / 10)
            let after = min(max(kept / 12, 1), (g.b - g.a) / 10)
            return Cut(a: g.a + before, b: g.b - after)
        }
    }

    /// "1.52 s" / "180 ms": the length of a cut, for its label.
    static func cutText(_ d: Int64) -> String {
        if d >= 1_000_000_000 { return TimeFormat.fixed(Double(d) / 1e9, 2) + " s" }
        return TimeFormat.fixed(Double(d) / 1e6, d >= 100_000_000 ? 0 : 1).replacingSuffix(".0", "") + " ms"
    }

    /// A tick label that shows `tt` to the precision of the `tick` step, in the window's unit.
    static func tickLabel(_ tt: Int64, tick: Int64, span: Int64) -> String {
        let (div, unit) = TimeFormat.unit(for: span)
        var digits = 0
        var q = div
        while q > 1 && tick % q != 0 && digits < 6 { q /= 10; digits += 1 }
        return TimeFormat.fixed(Double(tt) / Double(div), digits) + " " + unit
    }
}

extension String {
    func replacingSuffix(_ suffix: String, _ other: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) + other : self
    }
}
