import CProcTrace
@preconcurrency import Glibc
import Lifecycle
import Synchronization

/// Interleaves the ptrace loop's events with a state source's in time order. Scheduler
/// events reach the source a few milliseconds late, so ptrace events wait here until the
/// source's watermark passes them; a thread of its own writes, keeping the ptrace loop free.
/// A task's state events are held until its birth line (`spawn`, `fork`, `thread start`) is
/// written, because the kernel sees a child run before the tracer sees its fork.
///
/// A task is a tid *and a generation*: with pid reuse one tid names several tasks in turn. A
/// source starts every task's path at `new`, exactly once (the `from:"new"` event), so that
/// event marks where a tid's next generation begins in the state stream, as its birth line
/// does in the ptrace stream. A `from:"new"` event is written only for a birth line that has
/// not had one yet; otherwise it, and what follows it for that tid, waits for the next birth
/// line of the tid.
final class TraceMerger: Sendable {
    private struct State {
        var queue: [TraceEvent] = []
        /// Tids with a birth line written (their latest generation's).
        var born: Set<Int> = []
        /// Born tids whose generation's `from:"new"` event has not been written yet.
        var awaitingNew: Set<Int> = []
        /// State events of tids (or of a tid's next generation) whose birth line is to come.
        var held: [Int: [TraceEvent]] = [:]
        /// Tasks whose end the tracer wrote and the source then closed (`StateFeed.ended`):
        /// the source's later samples of them are stale and are not written.
        var ended: Set<Int> = []
        var stopping = false
        var dropped = 0
    }
    private let writer: TraceWriter
    private let source: (any StateFeed)?
    private let clock: TraceClock
    private let state = Mutex(State())
    private let thread = Mutex<WorkerThread?>(nil)
    /// How far the ptrace loop has got: `idle` while it sleeps in waitpid (whatever it sees
    /// next is stamped later than now), `busy` between waking and reading the clock, else the
    /// time it stamps what it is handling. No event it has yet to submit is older than that,
    /// so a state event is released only once the ptrace side is past it too; a tracer thread
    /// that falls behind the state source (a loaded CPU) delays the merge, never reorders it.
    private let ptraceMark = Atomic<Int64>(TraceMerger.busy)
    private static let idle: Int64 = -1
    private static let busy: Int64 = .min
    private let lastBound = Atomic<Int64>(0)
    /// wait4 calls read from the ring that the ptrace loop has still to apply: the lines it
    /// writes for them carry the kernel's (earlier) time, so nothing later is written before.
    private let ringWaits: RingWaitInbox?

    init(writer: TraceWriter, source: (any StateFeed)?, clock: TraceClock, ringWaits: RingWaitInbox? = nil) {
        self.writer = writer
        self.source = source
        self.clock = clock
        self.ringWaits = source == nil ? nil : ringWaits
        guard source != nil else { return }
        let t = WorkerThread.start("merge") { [self] in loop() }
        thread.withLock { $0 = t }
    }

    /// State events that could not be placed (their task was never announced), for `lost`.
    var dropped: Int { state.withLock { $0.dropped } }

    /// The ptrace loop is about to sleep in waitpid, everything it stamped submitted.
    func ptraceIdle() { if source != nil { ptraceMark.store(Self.idle, ordering: .sequentiallyConsistent) } }

    /// The ptrace loop woke: returns the time to stamp what it handles now.
    func ptraceWoke() -> Int64 {
        guard source != nil else { return clock.now() }
        ptraceMark.store(Self.busy, ordering: .sequentiallyConsistent)
        let t = clock.now()
        ptraceMark.store(t, ordering: .sequentiallyConsistent)
        return t
    }

    /// Everything the ptrace loop will still submit is later than this.
    private func ptraceBound() -> Int64 {
        let now = clock.now()
        let bound: Int64
        switch ptraceMark.load(ordering: .sequentiallyConsistent) {
        case Self.idle: bound = now - 1
        case Self.busy: bound = lastBound.load(ordering: .relaxed)
        case let m: bound = m - 1
        }
        lastBound.store(bound, ordering: .relaxed)
        return bound
    }

    func submit(_ events: [TraceEvent]) {
        guard source != nil else {
            writer.write(events)
            return
        }
        state.withLock { $0.queue.append(contentsOf: events) }
    }

    /// Moves the queued lines of a task's end stamped `from` (`isDeathLine`) to the earlier
    /// time `to` (the kernel's, `Recorder.applyRingExit`). Returns how many moved: none when
    /// they are not in the queue (then they keep their stamp: a written line is never moved).
    /// The drain sorts the queue again (stably) when this leaves it out of order.
    func restampEnd(pid: Int, tid: Int?, from: Int64, to: Int64) -> Int {
        state.withLock { s in
            var n = 0
            for i in s.queue.indices where Self.isDeathLine(s.queue[i], pid: pid, tid: tid, at: from) {
                s.queue[i].t = to
                n += 1
            }
            return n
        }
    }

    /// Stops the source, writes everything left in time order, and stops the thread.
    /// `afterStop` runs once the source has stopped (its last ring waits handed over) and
    /// before the last lines are written: the loop applies those waits there.
    func finish(afterStop: () -> Void = {}) {
        guard let source else { return afterStop() }
        state.withLock { $0.stopping = true }
        source.wakeMerger()
        thread.withLock { $0 }?.join()
        let rest = source.stop()
        afterStop()
        var buffers = Buffers()
        drain(upTo: Int64.max, states: rest, &buffers)
        state.withLock { s in
            s.dropped += s.held.values.reduce(0) { $0 + $1.count }
            s.held.removeAll()
        }
    }

    /// The merge's arrays, emptied after each drain but kept for their storage: a drain holds
    /// ~40 ms of events (over 100 KB on a spawn loop), and fresh arrays of that size were mmapped,
    /// faulted in page by page and unmapped again at every drain (a third of the merger's CPU).
    private struct Buffers {
        var ready: [TraceEvent] = []
        var out: [TraceEvent] = []
    }

    private func loop() {
        guard let source else { return }
        var buffers = Buffers()
        while !state.withLock({ $0.stopping }) {
            // Until the source released more (the scheduler's reader says so after each drain).
            source.awaitRelease(timeoutMicros: 2000)
            // The watermark first: the reader hands ring waits over before it moves the
            // watermark past them, so the inbox read next holds every one below it.
            let watermark = source.watermark
            let wm = min(watermark, ptraceBound(), ringWaits?.bound ?? Int64.max)
            drain(upTo: wm, states: source.take(upTo: wm), &buffers)
        }
    }

    private func drain(upTo wm: Int64, states: [TraceEvent], _ buffers: inout Buffers) {
        var ready = buffers.ready
        buffers.ready = []
        defer { ready.removeAll(keepingCapacity: true); buffers.ready = ready }
        state.withLock { s in
            guard !s.queue.isEmpty else { return }
            // Usually the whole queue is due: taken as it is, without copying it event by event
            // (the queue gets the emptied array of the last drain, and so its storage).
            if s.queue.allSatisfy({ $0.t <= wm }) {
                swap(&ready, &s.queue)
                return
            }
            var keep: [TraceEvent] = []
            for e in s.queue { if e.t <= wm { ready.append(e) } else { keep.append(e) } }
            s.queue = keep
        }
        if ready.isEmpty && states.isEmpty { return }
        // Both inputs are in time order (the ptrace side up to the watcher's occasional
        // reap); a stable merge puts a ptrace event before a state event at the same time,
        // except an end line: stamped at the kernel's `sched_process_exit` (ring waits), it shares
        // its time with the task's last states (it ran to exit), which come first.
        if !Self.inTimeOrder(ready) { ready = ready.stableSorted(by: \.t) }
        var out = buffers.out
        buffers.out = []
        defer { out.removeAll(keepingCapacity: true); buffers.out = out }
        out.reserveCapacity(ready.count + states.count)
        var i = 0, j = 0
        while i < ready.count || j < states.count {
            if j >= states.count
                || (i < ready.count && (ready[i].t < states[j].t || (ready[i].t == states[j].t && Self.end(of: ready[i]) == nil))) {
                let e = ready[i]; i += 1
                out.append(e)
                if let id = Self.birth(of: e) {
                    announce(id, at: e.t, into: &out)
                } else if case .attach(let pid, _, _, _, _, _, _, let threads, _, _) = e.kind {
                    for id in threads ?? [pid] { announce(id, at: e.t, into: &out) }
                }
                if let end = Self.end(of: e), let source {
                    // Whatever the source says next with `from:"new"` for this tid is a new task.
                    state.withLock { _ = $0.awaitingNew.remove(end.tid ?? end.pid) }
                    let closing = source.ended(pid: end.pid, tid: end.tid, at: e.t)
                    if !closing.tids.isEmpty { state.withLock { $0.ended.formUnion(closing.tids) } }
                    out.append(contentsOf: closing.events)
                }
            } else {
                let e = states[j]; j += 1
                let key: Int
                var from: ProcState?
                switch e.kind {
                case let .state(pid, tid, f, _, _): key = tid ?? pid; from = f
                case let .stateUnknown(pid, tid, _): key = tid ?? pid
                default: continue
                }
                let known = state.withLock { s -> Bool in
                    // Behind a held generation start: held too, in order.
                    if s.held[key]?.isEmpty == false { s.held[key]!.append(e); return false }
                    // A sample of a task the source has closed, taken before it closed it.
                    if s.ended.contains(key) { return false }
                    if from == .new {
                        if s.awaitingNew.remove(key) != nil { return true }
                        s.held[key] = [e]   // the start of a generation whose birth line is to come
                        return false
                    }
                    if s.born.contains(key) { return true }
                    s.held[key, default: []].append(e)
                    return false
                }
                if known { out.append(e) }
            }
        }
        writer.write(out)
    }

    /// A birth line of `id` was written: its held events up to the start of a later
    /// generation (a second `from:"new"`) follow it, stamped no earlier than it.
    private func announce(_ id: Int, at t: Int64, into out: inout [TraceEvent]) {
        let held = state.withLock { s -> [TraceEvent] in
            s.born.insert(id)
            s.ended.remove(id)
            let all = s.held.removeValue(forKey: id) ?? []
            let next = all.indices.dropFirst().first { Self.startsGeneration(all[$0]) } ?? all.count
            if next < all.count { s.held[id] = Array(all[next...]) }
            var mine = Array(all[..<next])
            if mine.contains(where: Self.startsGeneration) { s.awaitingNew.remove(id) } else { s.awaitingNew.insert(id) }
            // Held states are written at the birth line, not before it. If the source lost
            // track of the task before that line (an `unknown` among them), the states it saw
            // earlier would be claimed for an instant when nothing was measured: from the
            // birth line on, the task is unknown. The states passed over count as lost.
            if let lastUnknown = mine.lastIndex(where: Self.isUnknown) {
                s.dropped += mine[..<lastUnknown].count { !Self.isUnknown($0) }
                mine = [mine[lastUnknown]] + mine[(lastUnknown + 1)...]
            }
            return mine
        }
        for var e in held {
            e.t = max(e.t, t)
            out.append(e)
        }
    }

    private static func isUnknown(_ e: TraceEvent) -> Bool {
        if case .stateUnknown = e.kind { return true }
        return false
    }

    private static func startsGeneration(_ e: TraceEvent) -> Bool {
        if case .state(_, _, .new, _, _) = e.kind { return true }
        return false
    }

    /// Whether `e`, stamped `t`, is a line of the end of `pid` (`tid` nil: its `exit`, the
    /// reparenting of its children and its release by the kernel when its parent ignores
    /// SIGCHLD, all at the exit) or of thread `tid`'s (`thread … exit`).
    static func isDeathLine(_ e: TraceEvent, pid: Int, tid: Int?, at t: Int64) -> Bool {
        guard e.t == t else { return false }
        switch e.kind {
        case .exit(let p, _, _): return tid == nil && p == pid
        case .reparent(_, let from, _): return tid == nil && from == pid
        case .reap(let p, _, let how, _): return tid == nil && p == pid && how == .auto
        case .thread(let p, let th, let phase, _): return tid == th && p == pid && phase == .exit
        default: return false
        }
    }

    private static func end(of e: TraceEvent) -> (pid: Int, tid: Int?)? {
        switch e.kind {
        case .exit(let pid, _, _): return (pid, nil)
        case .thread(let pid, let tid, let phase, _) where phase == .exit: return (pid, tid)
        default: return nil
        }
    }

    /// The one task a line brings into the trace (an `attach` line, which may bring several,
    /// is taken apart where it is met).
    private static func birth(of e: TraceEvent) -> Int? {
        switch e.kind {
        case .spawn(let pid, _, _, _, _): return pid
        case .fork(_, let child, _, _, _, _): return child
        case .thread(_, let tid, let phase, _) where phase == .start: return tid
        default: return nil
        }
    }

    private static func inTimeOrder(_ events: [TraceEvent]) -> Bool {
        var last = Int64.min
        for i in events.indices {
            let t = events[i].t
            if t < last { return false }
            last = t
        }
        return true
    }
}
