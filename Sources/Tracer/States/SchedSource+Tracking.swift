import CProcTrace
#if os(Linux)
@preconcurrency import Glibc
import Lifecycle
import Synchronization

/// Which tasks the source follows: the root into the kernel's pid list, children announced by
/// the tracer, untracking, the tracer's notes of why a task blocks, and (in a pid namespace)
/// the pairing of the kernel's tids with ours.
extension SchedSource {

    /// Follows `tid` of process `pid`. Call it for the workload's root before letting it run
    /// (its children are then followed by the kernel and by the state machine on their own).
    ///
    /// With the kernel's pid filter, the first task tracked (the root) is written to the
    /// instance's empty pid list (cheap), which then enables the events. A task that a
    /// followed task made (`forked` said so just before) is in the list already: `event-fork`
    /// added it at its fork, so tracking it writes nothing and reads nothing on the tracer's
    /// fork path. Any other task (a second, unrelated root) is appended, which waits for an
    /// RCU grace period (docs/states.md).
    ///
    /// Like every call of the ptrace loop, it takes only the loop's own lock (`loopSide`): the
    /// machine learns of it from the inbox (`applyLoopNotes`).
    public func track(tid: Int, pid: Int, at: Int64) {
        let write: String? = loopSide.withLock { l in
            l.inbox.append(.track(tid: tid, pid: pid, at: at))
            // In a pid namespace the root waits for the kernel's fork of it; every other task
            // is paired through `forked` and followed by the machine from its creator.
            if l.namespaceMode { return nil }
            let known = l.forkedByFollowed.remove(tid) != nil || l.followed.contains(tid)
            l.followed.insert(tid)
            guard options.kernelPidFilter, !known else { return nil }
            return l.instancePath
        }
        guard let path = write else { return }
        if !eventsOn.load(ordering: .sequentiallyConsistent) { return step("follow root") { followFirst(path, tid: tid) } }
        SmallFile.write("\(path)/set_event_pid", "\(tid)\n", append: true)
    }

    public func untrack(tid: Int) {
        loopSide.withLock { l in
            l.followed.remove(tid)
            l.inbox.append(.untrack(tid: tid))
        }
    }

    public func forked(child: Int, byThread creator: Int) {
        loopSide.withLock { l in
            // The kernel follows a followed task's child from its fork (event-fork).
            if !l.namespaceMode && l.followed.contains(creator) { l.forkedByFollowed.insert(child) }
            l.inbox.append(.forked(child: child, creator: creator))
        }
    }

    public func noteWhy(tid: Int, why: String, from: Int64, to: Int64?) {
        loopSide.withLock { $0.inbox.append(.why(tid: tid, why: why, from: from, to: to)) }
    }

    public func endWhy(tid: Int, at: Int64) {
        loopSide.withLock { $0.inbox.append(.endWhy(tid: tid, at: at)) }
    }

    /// Applies the loop's notes to the machine, in the loop's order. Called under `shared` by
    /// the reader before it feeds a batch (`release`), and by every reader of the machine's
    /// output (`take`, `watermark`, `stop`).
    ///
    /// Why applying them only then is exact: the loop posts a note while the tracee it is
    /// about is stopped, before resuming it; every ring event that tracee makes about it (its
    /// switch-out into `wait4`, the fork of a child) comes after the resume, and so is read
    /// from the ring after the note was posted. `release` feeds only events already read
    /// (`drainOnce` comes first) and applies the inbox first: each event is fed after every
    /// note posted before it was read. Notes are about time intervals (trace times), so one
    /// applied before older events are fed changes nothing for those
    /// (SchedSourceTests/aNotePostedBeforeTheTaskBlocksExplainsTheBlock).
    func applyLoopNotes(_ s: inout Shared) {
        // Two arrays change hands, so neither side allocates once both have grown.
        var notes = s.spareNotes
        s.spareNotes = []
        loopSide.withLock { swap(&notes, &$0.inbox) }
        for n in notes { apply(n, &s) }
        notes.removeAll(keepingCapacity: true)
        s.spareNotes = notes
    }

    private func apply(_ note: LoopNote, _ s: inout Shared) {
        switch note {
        case let .track(tid, pid, at):
            guard s.ns != nil else { return s.machine.track(tid: tid, pid: pid, at: at) }
            if let reason = s.stoppedReason {
                s.lateUnknowns.append(TraceEvent(t: at, .stateUnknown(pid: pid, tid: tid, reason: reason)))
                s.lateUnknownCount += 1
                return
            }
            if s.ns!.map.global(tid) == nil { s.ns!.awaitingPair[tid] = pid }
            applyPairs(&s, s.ns!.map.rootStarted(tid))
        case let .untrack(tid):
            if let m = s.ns?.map { if let g = m.global(tid) { s.machine.untrack(tid: Int(g)) } } else { s.machine.untrack(tid: tid) }
        case let .forked(child, creator):
            guard s.ns != nil else { return }
            applyPairs(&s, s.ns!.map.ptraceMade(child: child, byThread: creator))
        case let .why(tid, why, from, to):
            guard s.ns != nil else { return s.machine.noteWhy(tid: tid, why: why, from: from, to: to) }
            if let g = s.ns!.note(tid: tid, (why, from, to)) { s.machine.noteWhy(tid: Int(g), why: why, from: from, to: to) }
        case let .endWhy(tid, at):
            guard s.ns != nil else { return s.machine.endWhy(tid: tid, at: at) }
            if let g = s.ns!.end(tid: tid, at: at) { s.machine.endWhy(tid: Int(g), at: at) }
        }
    }

    /// Hands the new pairs' waiting notes to the machine.
    func applyPairs(_ s: inout Shared, _ pairs: [(global: Int32, ns: Int)]) {
        if !pairs.isEmpty { for p in pairs { s.ns?.awaitingPair[p.ns] = nil } }
        for (g, n) in s.ns?.notes(for: pairs) ?? [] { s.machine.noteWhy(tid: Int(g), why: n.why, from: n.from, to: n.to) }
    }

    /// The feed stopped for good at `t` (trace-relative ns): in a pid namespace, the tasks the
    /// tracer follows that were not paired yet (made just before the stop, their kernel fork
    /// read after it) will never be: unknown from then on (from their birth line, where the
    /// merger puts what comes before it), each counted as lost like the machine's.
    func unknownUnpaired(_ s: inout Shared, at t: Int64, reason: String) {
        guard let waiting = s.ns?.awaitingPair, !waiting.isEmpty else { return }
        s.ns!.awaitingPair = [:]
        for (tid, pid) in waiting.sorted(by: { $0.key < $1.key }) {
            s.lateUnknowns.append(TraceEvent(t: t, .stateUnknown(pid: pid, tid: tid, reason: reason)))
            s.lateUnknownCount += 1
        }
    }

    /// State events renumbered to our tids (in a pid namespace).
    func renumber(_ s: inout Shared, _ events: [TraceEvent], final: Bool = false) -> [TraceEvent] {
        s.ns == nil ? events : s.ns!.renumber(events, now: max(0, s.watermarkMono - origin), final: final)
    }

    /// `sched_process_exit` already gives every task its exact end.
    public func ended(pid: Int, tid: Int?, at: Int64) -> (events: [TraceEvent], tids: [Int]) { ([], []) }

    /// Consulted (on the reader thread, under the source's lock: do not call back into the
    /// source) for every →blocked from a sleep that has no noted why.
    func setWhyProvider(_ provider: (@Sendable (_ tid: Int, _ t: Int64) -> String?)?) {
        shared.withLock { $0.machine.whyProvider = provider }
    }
}

#endif
