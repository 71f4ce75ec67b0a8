@preconcurrency import Glibc
import Lifecycle

/// Where the recorder gets five-state transitions from: the kernel scheduler (`SchedSource`)
/// or `/proc` sampling (`SampledStateSource`). All methods are thread-safe.
public protocol StateFeed: AnyObject, Sendable {
    /// The header's `states` value: `sched` or `sampled`.
    var source: StateSource { get }
    func start() throws
    /// Follows `tid` of process `pid` (children of followed tasks are followed automatically
    /// by `SchedSource`; `SampledStateSource` needs every tid). `at`: trace-relative ns.
    func track(tid: Int, pid: Int, at: Int64)
    func untrack(tid: Int)
    /// Thread `creator` made task `child` (ptrace's fork/vfork/clone event, in its order).
    func forked(child: Int, byThread creator: Int)
    /// The tracer has written the end of `tid` (`thread exit`), or of every thread of `pid`
    /// (`exit`, tid nil), at `at`. Returns the transitions to `terminated` at `at` to write
    /// right after that line, and the tasks closed: the source produces nothing more for them,
    /// and what it produced for them after `at` is stale. A source that sees exits itself
    /// (the scheduler's) returns nothing.
    func ended(pid: Int, tid: Int?, at: Int64) -> (events: [TraceEvent], tids: [Int])
    /// Says why `tid` blocks in [from, to] (trace-relative ns; `to` nil = until `endWhy`).
    func noteWhy(tid: Int, why: String, from: Int64, to: Int64?)
    func endWhy(tid: Int, at: Int64)
    /// State events with t ≤ min(upTo, watermark), in time order; each event is returned once.
    func take(upTo: Int64) -> [TraceEvent]
    /// Trace-relative ns up to which `take` is complete: no later call returns an event with
    /// a smaller t.
    var watermark: Int64 { get }
    /// Stops, drains what is left and returns it (time order); the source is then cleaned up.
    func stop() -> [TraceEvent]
    /// Events the source knows it lost (kernel ring-buffer overruns), for `end.lost`.
    var lost: Int { get }
    /// Releases kernel resources; idempotent, safe to call from an atexit handler.
    func cleanup()
    /// The merger's wait between two merges: returns when the source may have released more
    /// (its watermark moved), when `wakeMerger` is called, or after about `timeoutMicros`.
    func awaitRelease(timeoutMicros: UInt32)
    /// Ends an `awaitRelease` at once (the merger is finishing).
    func wakeMerger()
    /// Asks the source to read what the kernel has now, not at its next interval (a caller is
    /// about to wait for the watermark).
    func drainSoon()
}

extension StateFeed {
    /// Only a source that must pair the kernel's task numbers with ptrace's needs it.
    public func forked(child: Int, byThread creator: Int) {}
    /// A source that cannot say when it released more is polled.
    public func awaitRelease(timeoutMicros: UInt32) { usleep(timeoutMicros) }
    public func wakeMerger() {}
    public func drainSoon() {}
}
