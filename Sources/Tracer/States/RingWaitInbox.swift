import CProcTrace
import Synchronization

/// wait4 calls read from the scheduler's ring (`syscalls/sys_enter_wait4`, `sys_exit_wait4`),
/// on their way from the state source's reader to the ptrace loop, which alone owns the
/// lifecycle table and applies them (`Recorder.applyRingWaits`). The merger writes nothing
/// later than the oldest record the loop has not yet applied (`bound`), so the lines the loop
/// writes for it, stamped with the kernel's time, still come in time order.
final class RingWaitInbox: Sendable {
    /// One tracepoint hit of a traced task (tids are proctrace's: the ring is read this way only
    /// when proctrace runs in the initial pid namespace, where the kernel's tids are its own).
    struct Record: Equatable, Sendable {
        enum Kind: Equatable, Sendable {
            /// wait4 was entered: `upid` and `options` as the caller passed them.
            case enter(upid: Int32, options: UInt32)
            /// wait4 returned `ret` (-ERESTART* when a signal interrupted it).
            case exit(ret: Int64)
            /// A signal handler is about to run in the task (`signal_deliver`): without
            /// `SA_RESTART`, a call the signal interrupted returns EINTR to the program.
            case handlerRuns(saRestart: Bool)
            /// `sched_process_exit` of the task (`groupDead`: the last of its process's threads),
            /// for its end line at the kernel's time (`Recorder.applyRingExit`).
            case taskExit(groupDead: Bool)
            /// Not from the ring: after it closed, the zombie `tid` (a process) was released,
            /// seen through its pidfd (`Recorder.watchUnseenReap`), at `t`.
            case reaped
        }
        /// Trace-relative ns (the kernel's time, on the trace's clock).
        var t: Int64
        var tid: Int
        var kind: Kind
    }

    private struct State {
        var records: [Record] = []
        /// Trace-relative ns up to which the reader has handed over every record.
        var releasedUpTo: Int64 = -1
        /// Tasks gone from the loop's table, by tid, at the time it stamped their end: a wait
        /// of theirs may still end there (cut short by the death), once every record up to
        /// then has been applied.
        var holds: [(tid: Int, t: Int64)] = []
        var earliestHold: Int64 { holds.lazy.map(\.t).min() ?? Int64.max }
        /// A hold whose time every handed-over record has passed.
        var holdDue: Bool { !holds.isEmpty && earliestHold <= releasedUpTo }
        /// Ends whose kernel time the loop applied before it collected the death: their lines,
        /// to come at that time, hold the merger there (`holdEnd`).
        var endHolds: [Int: Int64] = [:]
        /// The ring stopped for good (`close`): nothing more comes from it.
        var closed = false
    }
    private let state = Mutex(State())
    /// Records not yet acknowledged by the loop (a lock-free look for the loop and the reader).
    private let count = Atomic<Int>(0)
    /// Whether the loop sleeps in waitpid (the reader then kicks it when records arrive).
    private let loopIdle = Atomic<Bool>(false)
    /// A hold's time has been passed by the records handed over (kept with the state).
    private let holdsDue = Atomic<Bool>(false)
    /// The ring closed and the loop has not taken note yet (`takeClosed`).
    private let closedUnseen = Atomic<Bool>(false)

    init() {}

    // MARK: the reader's side

    /// Hands over `records` (time order, after any handed over before) and says that every
    /// record up to `upTo` has now been handed over. Call it before the state watermark moves
    /// past them.
    func add(_ records: [Record], upTo: Int64) {
        let due = state.withLock { s -> Bool in
            // After the close nothing of the ring is taken: its records are not vouched for.
            if s.closed { return s.holdDue }
            s.records += records
            if upTo > s.releasedUpTo { s.releasedUpTo = upTo }
            return s.holdDue
        }
        holdsDue.store(due, ordering: .sequentiallyConsistent)
        if !records.isEmpty && !isClosed { count.add(records.count, ordering: .sequentiallyConsistent) }
    }

    /// The ring stopped for good (the state feed stopped: its instance no longer records, or a
    /// read failed). What was handed over stays to be applied; nothing more comes, so nothing
    /// is waited for any more (`releasedUpTo` is the end of time) and every hold falls due.
    /// Call it after the last `add`.
    func close() {
        let due = state.withLock { s in
            s.closed = true
            s.releasedUpTo = .max
            return s.holdDue
        }
        holdsDue.store(due, ordering: .sequentiallyConsistent)
        closedUnseen.store(true, ordering: .sequentiallyConsistent)
    }

    var isClosed: Bool { state.withLock { $0.closed } }

    // MARK: the reap watcher's side

    /// After the close: the zombie `pid` was released (its pidfd hung up). Stamped now, under
    /// the lock the merger reads `bound` under, so that the merger, which reads the loop's
    /// mark before `bound`, has written nothing at or after that stamp (see `bound`).
    func addReap(pid: Int, clock: TraceClock) {
        state.withLock { s in s.records.append(Record(t: clock.now(), tid: pid, kind: .reaped)) }
        count.add(1, ordering: .sequentiallyConsistent)
        kickIfIdle()
    }

    /// Wakes the loop from waitpid when it sleeps with records to apply. Repeated after every
    /// drain while records wait: a kick that lands just before the loop's waitpid starts is
    /// missed (`pt_loop_kick`).
    func kickIfIdle() {
        if loopIdle.load(ordering: .sequentiallyConsistent) && needsLoop { pt_loop_kick() }
    }

    // MARK: the loop's side

    var hasRecords: Bool { count.load(ordering: .sequentiallyConsistent) > 0 }

    /// Records to apply, a hold whose time every handed-over record has passed, or the close.
    var needsLoop: Bool {
        hasRecords || holdsDue.load(ordering: .sequentiallyConsistent) || closedUnseen.load(ordering: .sequentiallyConsistent)
    }

    /// Whether the ring has closed since the last call that said so (once).
    func takeClosed() -> Bool { closedUnseen.exchange(false, ordering: .sequentiallyConsistent) }

    /// Holds the merger at `t` (a task's end) until `release`.
    func hold(tid: Int, at t: Int64) {
        let due = state.withLock { s in
            s.holds.append((tid, t))
            return s.holdDue
        }
        holdsDue.store(due, ordering: .sequentiallyConsistent)
    }

    /// The holds at or before `upTo`, oldest first: the loop passes the time up to which it
    /// has applied every record (`snapshot`), not `releasedUpTo`, which the reader may have
    /// moved since, past records the loop has not applied yet.
    func dueHolds(upTo: Int64) -> [(tid: Int, t: Int64)] {
        state.withLock { s in s.holds.filter { $0.t <= upTo }.sorted { $0.t < $1.t } }
    }

    /// Releases the holds `dueHolds` returned.
    func release(_ done: [(tid: Int, t: Int64)]) {
        guard !done.isEmpty else { return }
        let due = state.withLock { s in
            s.holds.removeAll { h in done.contains { $0.tid == h.tid && $0.t == h.t } }
            return s.holdDue
        }
        holdsDue.store(due, ordering: .sequentiallyConsistent)
    }

    /// Holds the merger at `t` until `releaseEnd(key)`: an end line the loop will stamp `t`.
    func holdEnd(_ key: Int, at t: Int64) { state.withLock { $0.endHolds[key] = t } }

    func releaseEnd(_ key: Int) { state.withLock { _ = $0.endHolds.removeValue(forKey: key) } }

    /// Trace-relative ns up to which every record has been handed over.
    var releasedUpTo: Int64 { state.withLock { $0.releasedUpTo } }

    /// The records not acknowledged yet, oldest first; they stay until `acknowledge`.
    func peek() -> [Record] { state.withLock { $0.records } }

    /// The records not acknowledged yet, the time up to which they hold every record not
    /// applied yet, and whether the ring had closed (nothing more to come): read together, since
    /// the reader may add records, move that time and close at any moment.
    func snapshot() -> (records: [Record], upTo: Int64, closed: Bool) {
        state.withLock { ($0.records, $0.releasedUpTo, $0.closed) }
    }

    /// `releasedUpTo` when no record waits to be applied (every record up to then has been), or nil.
    var appliedUpTo: Int64? { state.withLock { $0.records.isEmpty ? $0.releasedUpTo : nil } }

    /// The loop has applied (and submitted the lines of) the first `n` records.
    func acknowledge(_ n: Int) {
        guard n > 0 else { return }
        state.withLock { $0.records.removeFirst(n) }
        count.subtract(n, ordering: .sequentiallyConsistent)
    }

    func setLoopIdle(_ idle: Bool) { loopIdle.store(idle, ordering: .sequentiallyConsistent) }

    // MARK: the merger's side

    /// Nothing later than this may be written yet: the oldest record not applied or hold not
    /// released, less 1 (`Int64.max` when none waits). Read it after the source's watermark.
    var bound: Int64 {
        state.withLock { s in
            var first = min(s.records.first?.t ?? Int64.max, s.earliestHold)
            if !s.endHolds.isEmpty { first = min(first, s.endHolds.values.min()!) }
            return first == Int64.max ? first : first - 1
        }
    }
}
