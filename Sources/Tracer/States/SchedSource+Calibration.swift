import CProcTrace
#if os(Linux)
@preconcurrency import Glibc
import Lifecycle
import Synchronization

/// Clock calibration: `trace_marker` writes timed with CLOCK_MONOTONIC, read back as points
/// of `SchedClock` (docs/states.md, The trace clock).
extension SchedSource {

    /// Writes a first marker from every CPU this thread may use (the trace clock is per-CPU)
    /// and reads them back. Returns why calibration cannot be trusted, or nil if it can.
    func initialCalibration(_ r: inout ReaderState) -> String? {
        guard r.markerFD >= 0 else { return "trace_marker cannot be opened" }
        var original = cpu_set_t()
        let size = MemoryLayout<cpu_set_t>.size
        var allowed: [Int32] = []
        let affinity = SchedSource.affinityCalls
        if let affinity, affinity.get(0, size, &original) == 0 {
            allowed = r.cpus.filter { cpu in
                withUnsafeBytes(of: &original) { Int(cpu) / 8 < $0.count && $0[Int(cpu) / 8] & (1 << (UInt8(cpu) % 8)) != 0 }
            }
        }
        var written = 0
        if let affinity, allowed.count > 1 {
            for cpu in allowed {
                var one = cpu_set_t()
                withUnsafeMutableBytes(of: &one) { $0[Int(cpu) / 8] |= 1 << (UInt8(cpu) % 8) }
                if affinity.set(0, size, &one) == 0, writeMarker(&r) { written += 1 }
            }
            _ = affinity.set(0, size, &original)
        } else if writeMarker(&r) {
            written += 1
        }
        guard written > 0 else { return "cannot write to trace_marker" }
        _ = drainOnce(&r)
        let points = r.clock.points
        if points.isEmpty { return "calibration markers do not show up in the trace" }
        // Markers written microseconds apart from different CPUs must agree on the offset.
        let offsets = points.map { $0.mono - $0.local }
        let errors = points.map(\.error)
        if offsets.max()! - offsets.min()! > 2 * errors.max()! + 20_000 {
            return "the trace clock differs between CPUs by \((offsets.max()! - offsets.min()!) / 1000) us"
        }
        return nil
    }

    /// Writes calibration markers, timing each write with CLOCK_MONOTONIC, and keeps the one
    /// with the narrowest window: the first write after a pause is slower (cold caches) than
    /// the next ones (docs/states.md, The trace clock). Returns whether a marker was made.
    @discardableResult
    func writeMarker(_ r: inout ReaderState) -> Bool {
        guard r.markerFD >= 0 else { return false }
        let markerFD = r.markerFD
        var best: (seq: Int, before: Int64, after: Int64)?
        for _ in 0..<4 {
            let seq = r.nextMarkerSeq
            r.nextMarkerSeq += 1
            let text = "ptcal \(seq)\n"
            let (before, after, ok): (Int64, Int64, Bool) = text.withCString { p in
                let len = strlen(p)
                let t0 = monotonicNow()
                let n = write(markerFD, p, len)
                let t1 = monotonicNow()
                return (t0, t1, n == len)
            }
            if !ok { break }
            if best == nil || after - before < best!.after - best!.before { best = (seq, before, after) }
            if after - before <= 2_000 { break }
        }
        // A window this wide means the thread was preempted: no point from it.
        guard let best, best.after - best.before <= 50_000 else { return false }
        r.clock.wrote(seq: best.seq, before: best.before, after: best.after)
        r.lastMarkerMono = best.after
        return true
    }
}

#endif
