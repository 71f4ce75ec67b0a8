@preconcurrency import Glibc

/// Trace time: nanoseconds of CLOCK_MONOTONIC since the trace began.
struct TraceClock: Sendable {
    let origin: Int64
    init() { origin = monotonicNow() }
    func now() -> Int64 { monotonicNow() - origin }
    func relative(_ monotonic: Int64) -> Int64 { monotonic - origin }
}

/// CLOCK_MONOTONIC now, in nanoseconds: the clock of every trace time.
public func monotonicNow() -> Int64 { clockNanos(CLOCK_MONOTONIC) }

/// A clock's time in nanoseconds (CLOCK_MONOTONIC, CLOCK_THREAD_CPUTIME_ID, …). The
/// corresponding C function is `clock_gettime(2)`.
func clockNanos(_ clock: clockid_t) -> Int64 {
    var ts = timespec()
    clock_gettime(clock, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}
