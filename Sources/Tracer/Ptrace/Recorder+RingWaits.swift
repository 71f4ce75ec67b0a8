import CProcTrace
@preconcurrency import Glibc
import Lifecycle

/// A traced task that is gone, kept while the ring may still report a wait it made.
struct RingGhost {
    var pid: Int
    var bornAt: Int64
    var endedAt: Int64
    /// Its process's place among pid namespaces (forgotten by the translator at its reap).
    var place: NamespacePlace?
    /// How the handler stepped during its last interrupted wait ended (`TaskInfo.handlerEnd`).
    var handlerEnd: (how: HandlerEnd, t: Int64)?
}

/// wait4 calls read from the scheduler's ring (`--wait-source ring`, docs/recorder.md): the
/// seccomp filter lets wait4 run without a stop unless its options hold WUNTRACED, WCONTINUED or
/// WNOWAIT, and the state source's reader hands the `sys_enter_wait4`/`sys_exit_wait4` records
/// of traced tasks to this loop (`RingWaitInbox`), which applies them in time order with the
/// kernel's times: the same `wait` and `reap` lines as from the stops.
///
/// Why the status is known without reading the waiter's memory: a wait4 without WUNTRACED or
/// WCONTINUED that returns pid C > 0 has reaped C, and C, traced, cannot be reaped before the
/// tracer collected its exit; so the loop has recorded C's exit status before it applies the
/// wait. A child it has not seen exit (one the workload itself ptraces, whose stops such a
/// wait reports, or one made with CLONE_UNTRACED) gets no invented status: the end says
/// `status_unknown`.
extension Recorder {
    /// Applies the records handed over so far; acknowledged once their lines are submitted, so
    /// that the merger never writes past one it has not got.
    /// `holdingReapOf`: a process whose death the loop is handling: the records are applied up
    /// to the first wait that reaps it (its parent's, which the kernel let return as soon as the
    /// loop collected the death), which waits until the death is recorded.
    func applyRingWaits(holdingReapOf dying: Int? = nil) {
        // Not from inside itself (a wait's reap can collect a queued exit, `collectExit`): the
        // outer call applies the records in order.
        guard let inbox = ringInbox, !applyingRingWaits, inbox.needsLoop else { return }
        applyingRingWaits = true
        defer { applyingRingWaits = false }
        // The records and the time up to which they are all there, read together: the reader
        // hands over more at any moment, and a bound read later would pass records not applied
        // here (their ghosts forgotten before them: every end of a spawn loop past that point
        // kept its collection stamp, in 2 of ~7 full test runs).
        let (all, upTo, closed) = inbox.snapshot()
        var records = all
        if let dying, let cut = records.firstIndex(where: { reaps($0, dying) }) { records = Array(records[..<cut]) }
        let whole = records.count == all.count
        for r in records { applyRingWait(r) }
        ringSeenUpTo = max(ringSeenUpTo, upTo)
        // A gone task's last record precedes its death, which precedes its stamp: once every
        // record up to a ghost's end is applied, it can report nothing more. A wait it had
        // interrupted (ERESTART*) and not restarted was cut short by its death: EINTR then.
        // (Not while records handed over are held back: they may still name a ghost.)
        let due = whole ? inbox.dueHolds(upTo: upTo) : []
        for (tid, end) in due {
            if let g = ringGhosts[tid], g.endedAt == end {
                forgetRingEnd(tid: tid, pid: g.pid)
                if let wait = ringWaitsOpen[tid], wait.beganAt <= end {
                    ringWaitsOpen[tid] = nil
                    // (An open wait whose return the ring lost, counted in `lost`, gets no end.)
                    if wait.restarting {
                        // Unless its handler was seen leaving by a jump, or still ran: then the
                        // program never got that EINTR, or it is not known.
                        if let h = g.handlerEnd, h.t >= wait.interruptedAt, h.how != .returned {
                            endRingWait(wait, pid: g.pid, how: h.how, t: end)
                        } else {
                            endWait(wait, pid: g.pid, result: .error("EINTR"), status: nil, t: end)
                        }
                    }
                }
                ringGhosts[tid] = nil
            }
        }
        flush()
        inbox.acknowledge(records.count)
        inbox.release(due)
        // The ring closed: once what it handed over is applied, the waits it no longer reports.
        // (Closed after the snapshot: the records of its last hand-over are for the next call.)
        if whole && closed && inbox.takeClosed() { ringWaitsClosed() }
    }

    /// Whether record `r` is a wait returning `pid` (in the waiter's numbering, translated).
    private func reaps(_ r: RingWaitInbox.Record, _ pid: Int) -> Bool {
        guard case .exit(let ret) = r.kind, ret > 0, let who = ringWaiter(r.tid, at: r.t) else { return false }
        return pids.translate(Int(ret), seenFrom: who.place) == pid
    }

    /// A task leaves the table (its exit, or an exec that ended it): kept as a ghost for the
    /// ring's late records, and the merger held at its end until they are all applied.
    func retireForRingWaits(_ tid: Int, pid: Int, t: Int64) {
        guard ringWaits, let task = table.tasks[tid], let inbox = ringInbox else { return }
        ringGhosts[tid] = RingGhost(pid: pid, bornAt: task.bornAt, endedAt: t, place: pids.place(of: pid), handlerEnd: task.handlerEnd)
        inbox.hold(tid: tid, at: t)
    }

    /// The task `tid` named at `t`: live in the table (born by then), or a ghost alive then.
    private func ringWaiter(_ tid: Int, at t: Int64) -> (pid: Int, bornAt: Int64, endedAt: Int64?, place: NamespacePlace?)? {
        if let task = table.tasks[tid], task.bornAt <= t { return (task.pid, task.bornAt, nil, pids.place(of: task.pid)) }
        if let g = ringGhosts[tid], g.bornAt <= t, t <= g.endedAt { return (g.pid, g.bornAt, g.endedAt, g.place) }
        return nil
    }

    private func applyRingWait(_ r: RingWaitInbox.Record) {
        if r.kind == .reaped { return unseenReapSeen(pid: r.tid, t: r.t) }
        // Not a traced task (a child made with CLONE_UNTRACED is in the kernel's pid filter).
        guard let who = ringWaiter(r.tid, at: r.t) else {
            if case .taskExit = r.kind { skippedRingExit(tid: r.tid, t: r.t) }
            return
        }
        // After an early end nothing more is recorded (what still runs is let go or tended).
        if let cutoff = ringCutoff, r.t > cutoff {
            if case .taskExit = r.kind { ringExitsSkipped[.afterCutoff, default: 0] += 1 }
            return
        }
        // The kernel's time, never before the task's birth line (the trace clock's calibration
        // is good to a fraction of a µs).
        let t = max(r.t, who.bornAt)
        switch r.kind {
        case let .taskExit(groupDead):
            applyRingExit(tid: r.tid, groupDead: groupDead, t: t)
        case let .enter(upid, options):
            var wait = PendingWait(call: .wait4, target: Int(upid), options: WaitDecoding.options(UInt64(options), waitid: false),
                                   rawOptions: UInt64(options), resultAddr: 0, tid: r.tid != who.pid ? r.tid : nil,
                                   extra: JSONObject(), beganAt: t)
            // The target is in the waiter's namespace numbering.
            if let target = pids.translateTarget(wait.target, seenFrom: who.place) {
                wait.target = target
            } else {
                wait.extra.noteUntranslated("target", wait.target)
            }
            if let old = ringWaitsOpen[r.tid], let how = ringHandlerEnd(r.tid, old, before: t), how != .returned {
                // The handler that ran did not return before this call (`sigreturnStep`): not a
                // restart, whatever the arguments.
                ringWaitsOpen[r.tid] = nil
                endRingWait(old, pid: who.pid, how: how, t: t)
            } else if let old = ringWaitsOpen.removeValue(forKey: r.tid) {
                if old.restarting && old.call == wait.call && old.target == wait.target && old.rawOptions == wait.rawOptions {
                    // The same call again after ERESTART*, with no handler's return saying EINTR
                    // in between: the kernel's restart, still the one logical wait.
                    ringWaitsOpen[r.tid] = old
                    ringWaitsOpen[r.tid]?.restarted()
                    return
                }
                // The interrupted call did not come back: it returned EINTR to the program. (An
                // open wait whose return the ring lost, counted in `lost`, gets no invented end.)
                if old.restarting { endWait(old, pid: who.pid, result: .error("EINTR"), status: nil, t: t) }
            }
            ringWaitsOpen[r.tid] = wait
            emit(TraceEvent(t: t, .waitBegin(pid: who.pid, call: wait.call, target: wait.target, options: wait.options, tid: wait.tid),
                            extra: wait.extra))
        case .reaped:
            return
        case let .exit(ret):
            guard let wait = ringWaitsOpen[r.tid] else { return }   // its entry was lost (counted)
            if restartCodes.contains(ret) {
                // A signal interrupted it. A handler without SA_RESTART hands the program EINTR
                // when it returns (`.sigreturn`); otherwise the kernel restarts the call (a new
                // entry with the same arguments). Another call or the task's death also says
                // the program got EINTR.
                ringWaitsOpen[r.tid]?.interrupted(at: t, code: ret)
                return
            }
            ringWaitsOpen[r.tid] = nil
            ringWaitReturned(wait, pid: who.pid, place: who.place, ret: ret, t: t)
        case let .handlerRuns(saRestart):
            // The signal that interrupted the wait is delivered to a handler: without SA_RESTART
            // the kernel makes the call return EINTR to the program (it ends now); with it, the
            // kernel restarts the call after the handler (an entry with the same arguments).
            guard let wait = ringWaitsOpen[r.tid], wait.restarting, !wait.handlerSeen else { return }
            ringWaitsOpen[r.tid]?.handlerSeen = true
            guard !saRestart else { return }
            ringWaitsOpen[r.tid] = nil
            // Unless the stepping already saw the handler leave by a jump: then the program
            // never got the EINTR the kernel set up.
            if let how = table.tasks[r.tid]?.handlerEnd, how.how == .jumped, how.t >= wait.interruptedAt {
                return endRingWait(wait, pid: who.pid, how: .jumped, t: t)
            }
            endWait(wait, pid: who.pid, result: .error("EINTR"), status: nil, t: t)
        }
    }

    /// How the handler of the signal that interrupted ring wait `old` ended, as the stepping saw
    /// it by `t` (nil: no handler was stepped for this interruption). A handler seen returning
    /// only after `t` had not returned at `t`: the call at `t` was made inside it, or after a
    /// jump the stepping saw later; either way not a restart, and which is not known.
    private func ringHandlerEnd(_ tid: Int, _ old: PendingWait, before t: Int64) -> HandlerEnd? {
        guard old.restarting, let end = table.tasks[tid]?.handlerEnd, end.t >= old.interruptedAt else {
            // Still being stepped when its next call came: not followed to its end.
            if old.restarting, case .stepping(_, _?, _)? = table.tasks[tid]?.sigreturnWatch { return .unknown }
            return nil
        }
        return end.t <= t ? end.how : .unknown
    }

    /// Ends ring wait `w`, interrupted and never come back to the program (`.jumped`:
    /// `abandoned`) or come back in a way not known (`.unknown`: `restart_unknown`).
    private func endRingWait(_ w: PendingWait, pid: Int, how: HandlerEnd, t: Int64) {
        var w = w
        w.extra.append(how == .jumped ? "abandoned" : "restart_unknown", .bool(true))
        endWait(w, pid: pid, result: .error(w.interruptedName), status: nil, t: t)
    }

    private func ringWaitReturned(_ wait: PendingWait, pid: Int, place: NamespacePlace?, ret: Int64, t: Int64) {
        if ret < 0 {
            endWait(wait, pid: pid, result: .error(Tracee.errnoName(Int32(-ret))), status: nil, t: t)
            return
        }
        if ret == 0 {
            endWait(wait, pid: pid, result: .nothing, status: nil, t: t)
            return
        }
        var w = wait
        guard let child = pids.translate(Int(ret), seenFrom: place) else {
            // Never guessed: the number stays as the waiter saw it, marked, and the reap it may
            // have done is counted as lost.
            w.extra.noteUntranslated("result", Int(ret))
            w.extra.append("status_unknown", .bool(true))
            writer.countLost(1)
            endWait(w, pid: pid, result: .pid(Int(ret)), status: nil, t: t)
            return
        }
        if let c = table.procs[child], c.exited, c.bornAt <= t, let status = c.status {
            // Reaped: its exit (recorded before, see above) gives the status; the reap is never
            // stamped before that exit line (the tracer stamps an exit when it collects it, a few
            // µs after the kernel's release, which is what let the waiter return).
            var at = max(t, c.exitTime)
            // Its pid was handed to a new task, whose fork line came first: the kernel freed it
            // before the waiter returned (`awaitRingReap`).
            if let before = ringReapBefore.removeValue(forKey: child) { at = max(c.exitTime, min(at, before)) }
            endWait(w, pid: pid, result: .pid(child), status: Self.statusValue(status), t: at)
        } else {
            w.extra.append("status_unknown", .bool(true))
            endWait(w, pid: pid, result: .pid(child), status: nil, t: t)
        }
    }

    /// Brings the ring's waits up to `t` (plus `margin`): waits, at most 1 s, until the reader
    /// has handed over every record up to then, applying them, or until `done`. Returns false
    /// when it ran out of time. Not from inside `applyRingWaits` (the outer call applies in order).
    @discardableResult
    func syncRing(upTo t: Int64, margin: Int64 = 0, holdingReapOf dying: Int? = nil, done: () -> Bool = { false }) -> Bool {
        guard let inbox = ringInbox, !applyingRingWaits else { return true }
        ringSyncs += 1
        applyRingWaits(holdingReapOf: dying)
        // Long enough for a reader starved by a loaded machine (0.2 s ran out in 2 of 20 spawn
        // loops beside two busy loops and another recording, load 10-17, though every record came
        // and was applied soon after): running out counts a loss that may not be one.
        let start = monotonicNow()
        let deadline = start + 1_000_000_000
        defer { ringSyncLongest = max(ringSyncLongest, monotonicNow() - start) }
        // Up to where every record is applied (or held back by `dying` on purpose): not the
        // reader's `releasedUpTo`, which may have moved past records since the last apply.
        func synced() -> Int64 { max(ringSeenUpTo, inbox.appliedUpTo ?? .min) }
        while !done() && synced() < t + margin {
            let now = monotonicNow()
            // A reader held inside one pass (its health check waits in the kernel for
            // event_mutex behind other recordings' set-up and teardown: 1.3-2.0 s measured) is
            // late, not losing anything: the records wait in the kernel's ring. Running out of
            // time then counted a loss that was none (UnknownStatesTests' `lost 1` under load:
            // kernel counters 0, every wait and reap in the trace). Waited for, up to 10 s.
            let readerHeld = (states as? SchedSource)?.readerPassBegan.map { now - $0 >= 200_000_000 } ?? false
            if now >= deadline && !(readerHeld && now < start + 10_000_000_000) {
                ringSyncTimeouts += 1
                return false
            }
            states?.drainSoon()
            usleep(200)
            applyRingWaits(holdingReapOf: dying)
        }
        return true
    }

    /// A process dies with exited children the table has not seen reaped: a wait of its own
    /// that reaped them may still be in the ring. Its reaps first, up to the death, so that the
    /// death does not take those children for orphans (and read /proc for a pid that may
    /// already be another process's). A sync that runs out of time is counted lost.
    func ringWaitsBeforeDeath(of pid: Int, t: Int64) {
        if ringClosed { return unseenReapsBeforeDeath(of: pid, t: t) }
        guard ringWaits, let children = table.procs[pid]?.children,
              children.contains(where: { table.procs[$0]?.exited == true }) else { return }
        if !syncRing(upTo: t, holdingReapOf: pid) { writer.countLost(1) }
    }

    /// A new task takes the pid of a zombie the table holds: the wait that reaped it is in the
    /// ring and not handed over yet. Brings the ring up to the fork (`syncRing`); if the reap
    /// is still missing (the ring lost it, counted in `lost` already), the zombie is dropped from
    /// the table and one more is counted.
    func awaitRingReap(of pid: Int, t: Int64) {
        guard ringInbox != nil else { return }
        if ringClosed, unseenReaps[pid] != nil { return unseenReapBeforeReuse(of: pid, t: t) }
        // The waiter may return after the new fork (the kernel frees the pid inside wait4): its
        // reap is stamped before that fork line.
        ringReapBefore[pid] = t - 1
        // 50 ms past the fork: a waiter preempted between the release and its return.
        syncRing(upTo: t, margin: 50_000_000) { table.procs[pid]?.exited != true }
        guard let old = table.procs[pid], old.exited else { return }
        ringReapBefore[pid] = nil
        writer.countLost(1)
        table.procs.removeValue(forKey: pid)
        table.procs[old.parent]?.children.remove(pid)
        pids.forget(pid: pid)
    }

    /// The end: the source has stopped and handed over its last records. Applies them; a wait
    /// still open then lost its return to a ring overrun (counted).
    func finishRingWaits() {
        guard ringWaits else { return }
        applyRingWaits()
        settleRingEnds()
        flush()
        settleVanishedOrphans()
        flush()
    }
}
