import CProcTrace
@preconcurrency import Glibc

/// Trace time: nanoseconds of CLOCK_MONOTONIC since the trace began.
struct TraceClock: Sendable {
    let origin: Int64
    init() { origin = pt_monotonic_ns() }
    func now() -> Int64 { pt_monotonic_ns() - origin }
    func relative(_ monotonic: Int64) -> Int64 { monotonic - origin }
}

/// CLOCK_MONOTONIC now, in nanoseconds.
public func monotonicNow() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}
