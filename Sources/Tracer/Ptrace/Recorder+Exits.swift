import CProcTrace
@preconcurrency import Glibc
import Lifecycle

extension Recorder {
    /// A task is gone (WIFEXITED/WIFSIGNALED): a thread's end, or a process's.
    func taskExited(_ tid: Int, status raw: Int32, t: Int64) {
        guard let task = table.tasks[tid] else {
            // The death of a thread an exec ended was recorded at the exec; anything else
            // unknown is a new task whose fork event has not arrived yet.
            if table.endedByExec.remove(tid) == nil && table.procs[tid] == nil { table.earlyExits[tid] = (raw, t) }
            return
        }
        if task.pid != tid {
            let end = threadEndTime(tid, pid: task.pid, collected: t)
            retireForRingWaits(tid, pid: task.pid, t: t)
            table.tasks.removeValue(forKey: tid)
            table.procs[task.pid]?.threads.remove(tid)
            emit(TraceEvent(t: end, .thread(pid: task.pid, tid: tid, phase: .exit)))
            return
        }
        processExited(tid, status: WaitDecoding.status(raw).traceStatus, t: t)
    }

    private func processExited(_ pid: Int, status: ExitStatus, t: Int64) {
        ringWaitsBeforeDeath(of: pid, t: t)
        guard var proc = table.procs[pid] else { return }
        // A wait cut short by the process's own death: ended at the death, the exit line's time
        // (the kernel's with ring waits, `processEndTime`), which is then no earlier than it.
        var died = t
        if ringWaits && proc.threads.contains(where: { table.tasks[$0]?.wait != nil }) {
            died = min(t, max(ringGroupDeaths[pid] ?? t, lastLineOfPid[pid] ?? .min))
        }
        for tid in proc.threads where table.tasks[tid]?.wait != nil {
            finishWait(tid, result: .error("EINTR"), status: nil, t: died)
        }
        let end = processEndTime(pid, collected: t)
        for tid in proc.threads {
            retireForRingWaits(tid, pid: pid, t: t)
            table.tasks.removeValue(forKey: tid)
        }
        proc.threads = []
        proc.exited = true
        proc.exitTime = end
        proc.status = status
        table.procs[pid] = proc
        var error: String?
        if pid == rootPid, case .exited(let code) = status, code == 126 || code == 127, let e = rootExecError() {
            execErrno = e
            error = Tracee.errnoName(e)
        }
        emit(TraceEvent(t: end, .exit(pid: pid, status: status, error: error)))
        if pid == rootPid { rootStatus = status }
        // `record -p`: the first pid attached is the trace's root (its argv is the header's);
        // the `end` line carries its status when it exited, as for a spawned root. (It stays
        // out of `rootStatus`, which drives what a spawned root's exit starts: the leftovers
        // notice, --until-root-exits, record's own exit code.)
        if attachMode && pid == options.attach.first { attachedRootStatus = status }

        // The kernel hands the children on, or releases an auto-reaped zombie, at the exit.
        reparentChildren(of: pid, t: end)

        if attachMode {
            attachedProcessExited(pid, parent: proc.parent, t: t)
        } else if proc.parent == selfPid {
            // proctrace is the real parent (the root, or a CLONE_PARENT child of it): its
            // waitpid just reaped the process.
            reaped(pid, by: selfPid, how: .wait, t: t)
        } else if let parent = table.procs[proc.parent], !parent.exited {
            // A traced parent: the kernel releases the zombie at once if the parent ignores
            // SIGCHLD; otherwise it stays until one of the parent's waits reaps it.
            if parent.autoReapsChildren {
                reaped(pid, by: proc.parent, how: .auto, t: end)
            } else if ringClosed {
                // Its parent's wait4 is no longer seen (the ring closed): its release is.
                watchUnseenReap(pid)
            }
        } else {
            adoptedZombie(pid, t: t)
        }
    }

    /// The errno of a failed exec of the root, from the spawn pipe.
    private func rootExecError() -> Int32? {
        guard errFD >= 0 else { return nil }
        var e: Int32 = 0
        let n = read(errFD, &e, 4)
        return n == 4 ? e : nil
    }

    /// The parent died: the kernel has handed its children to a subreaper or pid 1.
    private func reparentChildren(of pid: Int, t: Int64) {
        guard let children = table.procs[pid]?.children else { return }
        for child in children.sorted() {
            guard var c = table.procs[child], c.parent == pid else { continue }
            guard let to = kernel.parent(of: child) else {
                // Gone already: a zombie its new parent reaped before proctrace could read who
                // that is. The wait that reaped it will say (`vanishedOrphans`); never guess 1.
                vanishedOrphans[child] = (from: pid, t: t, probe: probeAnswers(forOrphanOf: pid))
                c.parent = 0
                table.procs[child] = c
                continue
            }
            emit(TraceEvent(t: t, .reparent(pid: child, from: pid, to: to)))
            c.parent = to
            table.procs[child] = c
            table.procs[to]?.children.insert(child)
            if c.exited {
                if table.isLiveTraced(to) {   // a traced subreaper will wait for it
                    if ringClosed { watchUnseenReap(child) }
                    continue
                }
                adoptedZombie(child, t: t)
            }
        }
        table.procs[pid]?.children = []
    }

    /// Orphaned zombies reaped before proctrace could see their new parent, and by no traced
    /// wait: an untraced process reaped each at once (a pid 1 that reaps at once, as make or a
    /// shell does when it is a namespace's init). Which one: proctrace itself when it is its
    /// pid namespace's init; otherwise the kernel hands an orphan to the nearest subreaper
    /// among its ancestors, else to its namespace's init. Every ancestor between the dead
    /// parent and proctrace is traced, so for a parent in proctrace's own namespace, with no
    /// traced ancestor that reaps children by itself (SIGCHLD ignored: a subreaper that would
    /// vanish them too), the adopter is the one proctrace's own orphans get: measured with a
    /// probe orphan (`Kernel.orphanAdopter`), written with `seen: "probe"`. Otherwise who is
    /// not known, and the trace says 0 rather than guess.
    func settleVanishedOrphans() {
        var probed: Int??
        for (pid, v) in vanishedOrphans.sorted(by: { $0.key < $1.key }) {
            var by = 0
            var extra = JSONObject()
            if selfPid == 1 {
                by = selfPid
            } else if v.probe {
                if probed == nil { probed = .some(kernel.orphanAdopter()) }
                if let a = probed ?? nil {
                    by = a
                    extra.append("seen", .string("probe"))
                }
            }
            emit(TraceEvent(t: v.t, .reparent(pid: pid, from: v.from, to: by), extra: extra))
            reaped(pid, by: by, how: .adopted, t: v.t)
        }
        vanishedOrphans = [:]
    }

    /// Whether the adopter of an orphan of `parent` is the adopter of proctrace's own orphans:
    /// `parent` is in proctrace's pid namespace and none of its traced ancestors reaps its
    /// children by itself.
    private func probeAnswers(forOrphanOf parent: Int) -> Bool {
        if let place = pids.place(of: parent), place.depth > 0 { return false }
        var p = table.procs[parent]?.parent
        var seen = Set<Int>()
        while let a = p, a != selfPid, a > 0, seen.insert(a).inserted {
            guard let proc = table.procs[a] else { return false }
            if proc.autoReapsChildren { return false }
            p = proc.parent
        }
        return true
    }

    /// A zombie whose parent is not traced: watch for the moment that parent reaps it.
    private func adoptedZombie(_ pid: Int, t: Int64) {
        guard let proc = table.procs[pid] else { return }
        let fd = kernel.openPidfd(pid)
        if fd < 0 {
            // Already reaped before we could look: the reap happened by now.
            reaped(pid, by: proc.parent, how: .adopted, t: t)
            return
        }
        table.procs.removeValue(forKey: pid)
        table.procs[proc.parent]?.children.remove(pid)
        pids.forget(pid: pid)
        // The watcher writes the reap from its own thread, possibly at once: what led to it
        // (the parent's exit, the reparent) goes out first, or the file would not be causal.
        flush()
        watcher.watch(pid: pid, pidfd: fd, by: proc.parent)
    }

    /// The zombie is gone.
    func reaped(_ pid: Int, by: Int, how: ReapHow, t: Int64) {
        guard let proc = table.procs.removeValue(forKey: pid) else { return }
        cancelUnseenReap(pid)
        table.procs[proc.parent]?.children.remove(pid)
        pids.forget(pid: pid)
        emit(TraceEvent(t: t, .reap(pid: pid, by: by, how: how)))
    }
}
