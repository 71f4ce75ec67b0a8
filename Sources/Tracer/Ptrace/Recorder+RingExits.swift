import Lifecycle

/// An end line submitted at the time the loop collected the death, whose kernel time the
/// ring has not given yet.
struct RingQueuedEnd {
    var pid: Int
    /// The time it was stamped with (the collection's).
    var stamped: Int64
    /// The last line emitted about the task before it: the end is never stamped earlier.
    var floor: Int64
    /// A process's `exit` (else a thread's `thread … exit`).
    var process: Bool
}

/// Why a `sched_process_exit` record was not applied (counted, PROCTRACE_RUSAGE).
enum RingExitSkip: String, CaseIterable {
    /// Its time is after the collection of the task's death (which the kernel's exit precedes).
    case afterCollection = "after the collection"
    /// Its time is before the birth of the task the loop knows under that tid.
    case beforeBirth = "before the birth"
    /// No task under that tid, live or gone (untraced, or gone and forgotten).
    case unknownTask = "no such task"
    /// After an early end (`ringCutoff`).
    case afterCutoff = "after an early end"
    /// The end line it was for was not queued (written, or never stamped at a collection).
    case notQueued = "its line not queued"
}

/// Ends at the kernel's time (with ring waits, docs/recorder.md "Ends at the kernel's time").
/// The reader hands the loop every `sched_process_exit` in the same time-ordered stream as the
/// wait4 records. A task's end line (`exit` for the group's death, the record with
/// `group_dead`; `thread … exit` for a thread's own) is stamped at that kernel time rather than
/// when the loop collected the death (its wake-up latency later, ~75 µs on a loaded machine),
/// never earlier than the last line already emitted about the process or thread.
///
/// Two orders happen. The record is applied before the loop collects the death: its time is
/// kept and used when the line is emitted. Or after: the line is already in the merger's queue
/// and is restamped there. It is still there: the merger writes nothing past the oldest record
/// not yet applied (`RingWaitInbox.bound`, read after the source's watermark, which the reader
/// moves only after handing the records over), and the kernel's exit precedes the collection
/// (t_kernel < t_collect), so a line stamped t_collect has not been written. The merger's drain
/// re-sorts a queue that is out of order (stably). A line found gone (never expected) keeps its
/// stamp: written lines are never reordered.
extension Recorder {
    /// Keeps the time of the last line about each process and thread (the floor of its end).
    func noteLine(_ e: TraceEvent) {
        let pid: Int, tid: Int?
        switch e.kind {
        case let .spawn(p, _, _, _, _): pid = p; tid = nil
        case let .fork(p, _, _, _, t, _): pid = p; tid = t
        case let .thread(p, t, _, _): pid = p; tid = t
        case let .exec(p, _, _, _, _, _, _, _, _, _, t, _, _, _, _, _): pid = p; tid = t
        case let .waitBegin(p, _, _, _, t): pid = p; tid = t
        case let .waitEnd(p, _, _, _, _, _, t, _): pid = p; tid = t
        case let .signal(p, _, _, _, t): pid = p; tid = t
        case let .group(p, _, _, _, _): pid = p; tid = nil
        default: return
        }
        if e.t > lastLineOfPid[pid] ?? .min { lastLineOfPid[pid] = e.t }
        if let tid, e.t > lastLineOfTid[tid] ?? .min { lastLineOfTid[tid] = e.t }
    }

    /// A `sched_process_exit` of a traced task, at the kernel's time `t`.
    func applyRingExit(tid: Int, groupDead: Bool, t: Int64) {
        if let task = table.tasks[tid], task.bornAt <= t {
            // Not collected yet: kept for the line (a leader's own end is its group's), and the
            // merger held at that time until the line is emitted (it may be acknowledged, and
            // the merger free to write past it, long before the loop collects the death).
            if tid != task.pid { keepEnd(&ringThreadEnds, tid, key: tid, t: t) }
            if groupDead { keepEnd(&ringGroupDeaths, task.pid, key: -task.pid, t: t) }
            return
        }
        // Collected: the line waits in the merger's queue (see above) with the collection's time.
        guard let g = ringGhosts[tid], g.bornAt <= t, t <= g.endedAt else {
            skippedRingExit(tid: tid, t: t)
            return
        }
        if tid != g.pid { restampEnd(key: tid, tid: tid, t: t) }
        if groupDead {
            if table.procs[g.pid]?.exited == false {
                keepEnd(&ringGroupDeaths, g.pid, key: -g.pid, t: t)   // the leader's end is to come
            } else {
                restampEnd(key: g.pid, tid: nil, t: t)
            }
        }
    }

    /// A record of a task's exit that names no task alive at its time: why, counted.
    func skippedRingExit(tid: Int, t: Int64) {
        let reason: RingExitSkip
        if let g = ringGhosts[tid], t > g.endedAt {
            reason = .afterCollection
            ringExitsLateBy.append(t - g.endedAt)
        } else if let bornAt = table.tasks[tid]?.bornAt ?? ringGhosts[tid]?.bornAt, t < bornAt {
            reason = .beforeBirth
        } else {
            reason = .unknownTask
        }
        ringExitsSkipped[reason, default: 0] += 1
    }

    /// The `PROCTRACE_RUSAGE` words on ring exits not applied.
    var ringExitSkipSummary: String {
        let parts = RingExitSkip.allCases.compactMap { r in ringExitsSkipped[r].map { "\($0) \(r.rawValue)" } }
        guard !parts.isEmpty else { return "none not applied" }
        var text = "not applied: " + parts.joined(separator: ", ")
        if !ringExitsLateBy.isEmpty {
            let late = ringExitsLateBy.sorted()
            text += " (late by \(late.first! / 1000)..\(late[late.count / 2] / 1000)..\(late.last! / 1000) us)"
        }
        return text
    }

    private func keepEnd(_ kept: inout [Int: Int64], _ id: Int, key: Int, t: Int64) {
        kept[id] = t
        ringInbox?.holdEnd(key, at: t)
    }

    private func restampEnd(key: Int, tid: Int?, t: Int64) {
        guard let q = ringQueuedEnds.removeValue(forKey: key) else {
            ringExitsSkipped[.notQueued, default: 0] += 1
            return
        }
        let at = max(t, q.floor)
        guard at < q.stamped else {
            ringEndsFloored += 1
            return
        }
        let endTid = q.process ? nil : tid
        // Not submitted yet (a death collected while records were being applied), or queued.
        var moved = 0
        for i in pending.indices where TraceMerger.isDeathLine(pending[i], pid: q.pid, tid: endTid, at: q.stamped) {
            pending[i].t = at
            moved += 1
        }
        if moved == 0 { moved = merger.restampEnd(pid: q.pid, tid: endTid, from: q.stamped, to: at) }
        guard moved > 0 else {
            ringEndsMissed += 1
            ringEndsCollected += 1
            return
        }
        if at > t { ringEndsFloored += 1 } else { ringEndsExact += 1 }
        if q.process, var proc = table.procs[q.pid], proc.exited, proc.exitTime == q.stamped {
            // The reap applied next (from the ring) is clamped to this exit, not the collection.
            proc.exitTime = at
            table.procs[q.pid] = proc
        }
    }

    /// The time for the end line of thread `tid` (a non-leader) collected at `t`; a line at `t`
    /// is remembered to restamp when the ring's record comes later.
    func threadEndTime(_ tid: Int, pid: Int, collected t: Int64) -> Int64 {
        guard ringWaits else { return t }
        let floor = max(table.tasks[tid]?.bornAt ?? .min, lastLineOfTid.removeValue(forKey: tid) ?? .min)
        if let k = ringThreadEnds.removeValue(forKey: tid) {
            // Released once the line is submitted (`flush`).
            ringEndReleases.append(tid)
            let at = min(max(k, floor), t)
            if at > k { ringEndsFloored += 1 } else { ringEndsExact += 1 }
            return at
        }
        ringQueuedEnds[tid] = RingQueuedEnd(pid: pid, stamped: t, floor: floor, process: false)
        return t
    }

    /// The time for the `exit` line of process `pid` collected at `t` (see `threadEndTime`).
    func processEndTime(_ pid: Int, collected t: Int64) -> Int64 {
        guard ringWaits else { return t }
        let floor = max(table.procs[pid]?.bornAt ?? .min, lastLineOfPid.removeValue(forKey: pid) ?? .min)
        if let k = ringGroupDeaths.removeValue(forKey: pid) {
            ringEndReleases.append(-pid)
            let at = min(max(k, floor), t)
            if at > k { ringEndsFloored += 1 } else { ringEndsExact += 1 }
            return at
        }
        ringQueuedEnds[pid] = RingQueuedEnd(pid: pid, stamped: t, floor: floor, process: true)
        return t
    }

    /// A task's ghost is released (every record up to its collection applied): its end's
    /// record, if the ring lost it, will not come.
    func forgetRingEnd(tid: Int, pid: Int) {
        if let q = ringQueuedEnds[tid], q.pid == pid {
            ringQueuedEnds[tid] = nil
            ringEndsCollected += 1
        }
    }

    /// The last records are applied: an end still waiting for its kernel time keeps the
    /// collection's (counted in the `end` line, `ends_collected`).
    func settleRingEnds() {
        ringEndsCollected += ringQueuedEnds.count
        ringQueuedEnds = [:]
    }

    /// A new task takes `tid`: what was kept of an earlier one's end is stale.
    func ringEndsNewTask(_ tid: Int) {
        guard ringWaits else { return }
        if ringThreadEnds.removeValue(forKey: tid) != nil { ringInbox?.releaseEnd(tid) }
        if ringGroupDeaths.removeValue(forKey: tid) != nil { ringInbox?.releaseEnd(-tid) }
        if ringQueuedEnds.removeValue(forKey: tid) != nil { ringEndsCollected += 1 }
        lastLineOfTid[tid] = nil
        lastLineOfPid[tid] = nil
    }
}
