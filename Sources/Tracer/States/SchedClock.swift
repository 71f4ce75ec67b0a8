/// Converts a tracefs instance's trace-clock timestamps to CLOCK_MONOTONIC ns.
///
/// Setting an instance's `trace_clock` to `mono` is slow (the kernel resets the ring buffers
/// and waits for an RCU grace period: docs/states.md), so `SchedSource` keeps the default clock
/// (`local`, i.e. sched_clock) and calibrates it: it writes numbered markers ("ptcal SEQ") to
/// the instance's `trace_marker`, reading CLOCK_MONOTONIC just before and after each `write(2)`.
/// The kernel stamps the marker's `print` event inside that window, so each marker read back
/// gives a point (trace time, monotonic midpoint ± half the window). Times between two points
/// are interpolated; times after the last point are extrapolated with the slope over the
/// last ≥ `minBaseline` ns (slope 1 before there is such a baseline). Not thread-safe.
struct SchedClock {
    struct Point: Equatable {
        var local: Int64
        var mono: Int64
        /// Half the write window: the point's mono is exact within ± this.
        var error: Int64
    }

    /// The trace clock is CLOCK_MONOTONIC already: no conversion.
    var identity: Bool
    /// Calibration points, sorted by `local`.
    private(set) var points: [Point] = []
    /// Markers written and not yet read back: seq → (mono midpoint, error).
    private var expected: [Int: (mono: Int64, error: Int64)] = [:]
    /// Shortest span between two points whose slope is used to extrapolate.
    var minBaseline: Int64 = 20_000_000
    /// Points that were not in the same order in both clocks (an unsynchronized trace clock).
    private(set) var disorderedPoints = 0
    /// All points ever made (pruning keeps only recent ones in `points`).
    private(set) var pointCount = 0
    /// Over all points ever made: the widest half-window, and the range of mono − local.
    private(set) var widestError: Int64 = 0
    private(set) var offsetRange: ClosedRange<Int64>?

    init(identity: Bool) { self.identity = identity }

    /// A marker `seq` was written between monotonic times `before` and `after`.
    mutating func wrote(seq: Int, before: Int64, after: Int64) {
        expected[seq] = (before + (after - before) / 2, (after - before + 1) / 2)
        if expected.count > 256, let oldest = expected.keys.min() { expected[oldest] = nil }
    }

    /// Marker `seq` was read back with trace time `local`; returns whether it made a point.
    @discardableResult
    mutating func read(seq: Int, local: Int64) -> Bool {
        guard let (mono, error) = expected.removeValue(forKey: seq) else { return false }
        add(Point(local: local, mono: mono, error: error))
        return true
    }

    mutating func add(_ p: Point) {
        var i = points.count
        while i > 0 && points[i - 1].local > p.local { i -= 1 }
        if (i > 0 && points[i - 1].mono > p.mono) || (i < points.count && points[i].mono < p.mono) {
            disorderedPoints += 1
        }
        points.insert(p, at: i)
        pointCount += 1
        widestError = max(widestError, p.error)
        let offset = p.mono - p.local
        offsetRange = offsetRange.map { min($0.lowerBound, offset)...max($0.upperBound, offset) } ?? offset...offset
    }

    /// CLOCK_MONOTONIC ns of trace time `local`.
    func toMono(_ local: Int64) -> Int64 {
        if identity || points.isEmpty { return local }
        let (a, b) = segment(forLocal: local)
        return a.mono + scale(local - a.local, b.mono - a.mono, b.local - a.local)
    }

    /// Trace time of CLOCK_MONOTONIC ns `mono` (the inverse of `toMono`).
    func toLocal(_ mono: Int64) -> Int64 {
        if identity || points.isEmpty || mono == .max || mono == .min { return mono }
        let (a, b) = segment(forMono: mono)
        return a.local + scale(mono - a.mono, b.local - a.local, b.mono - a.mono)
    }

    /// Forgets points no longer needed for times ≥ `local` (keeps one before it).
    mutating func prune(before local: Int64) {
        var k = 0
        while k + 2 < points.count && points[k + 1].local < local { k += 1 }
        if k > 0 { points.removeFirst(k) }
    }

    /// "N points, half-windows ≤ E ns, mono − local within R ns, D out of order" (PROCTRACE_RUSAGE).
    var summary: String {
        if identity { return "trace clock mono" }
        let spread = offsetRange.map { $0.upperBound - $0.lowerBound } ?? 0
        return "\(pointCount) calibration points, half-windows <= \(widestError) ns, offsets within \(spread) ns, \(disorderedPoints) out of order"
    }

    /// The offset mono − local at each point, for diagnostics.
    var offsets: [Int64] { points.map { $0.mono - $0.local } }

    // MARK: private

    /// x · num / den without overflow for the spans met here (den > 0; 1:1 when den is 0).
    private func scale(_ x: Int64, _ num: Int64, _ den: Int64) -> Int64 {
        if den <= 0 || num == den { return x }
        return Int64((Double(x) * (Double(num) / Double(den))).rounded())
    }

    /// Two points whose line converts `local`: the surrounding ones, or the extrapolation base.
    private func segment(forLocal local: Int64) -> (Point, Point) {
        // First point with p.local > local.
        var lo = 0, hi = points.count
        while lo < hi { let m = (lo + hi) / 2; if points[m].local > local { hi = m } else { lo = m + 1 } }
        if lo == points.count { return extrapolationBase() }
        if lo == 0 { return backwardBase() }
        return (points[lo - 1], points[lo])
    }

    private func segment(forMono mono: Int64) -> (Point, Point) {
        var lo = 0, hi = points.count
        while lo < hi { let m = (lo + hi) / 2; if points[m].mono > mono { hi = m } else { lo = m + 1 } }
        if lo == points.count { return extrapolationBase() }
        if lo == 0 { return backwardBase() }
        return (points[lo - 1], points[lo])
    }

    /// The last point and the latest one at least `minBaseline` before it (slope 1 if none).
    private func extrapolationBase() -> (Point, Point) {
        let last = points[points.count - 1]
        var i = points.count - 2
        while i >= 0 {
            if last.local - points[i].local >= minBaseline { return (points[i], last) }
            i -= 1
        }
        return unitSlope(last)
    }

    /// Before the first point: the first point and the first one at least `minBaseline` after it.
    private func backwardBase() -> (Point, Point) {
        let first = points[0]
        for p in points.dropFirst() where p.local - first.local >= minBaseline { return (first, p) }
        return unitSlope(first)
    }

    private func unitSlope(_ p: Point) -> (Point, Point) {
        (p, Point(local: p.local + 1_000_000, mono: p.mono + 1_000_000, error: p.error))
    }
}
