import CProcTrace
@preconcurrency import Glibc
import Lifecycle

/// Waits from the ring after the ring closed: the state feed stopped for good (its tracefs
/// instance no longer records, is removed, or a read failed) while `--wait-source ring` was on.
///
/// The root's seccomp filter, fixed before it ran, still lets every wait4 without WUNTRACED,
/// WCONTINUED or WNOWAIT run unstopped: from the close on such calls are not seen at all.
/// Before, nothing said so: the zombies they reaped stayed in the table until their parent's
/// death, which took them for orphans gone to an unknown adopter (a `reparent` to 0 and a
/// `reap` by 0, `adopted`, for children their parent had reaped; waits missing, 1 event lost).
/// What is still known, exactly:
/// - a wait the ring reported entering and not returning lost its return: counted, no end
///   is invented (`ringWaitsLeftOpen`);
/// - a zombie whose traced parent lives and does not reap at exit is released by a wait of
///   that parent (a reparenting needs the parent's death first): its pidfd hangs up then. The
///   reap is written `by` the parent, `how` `wait`, `seen` `pidfd`, stamped when the watcher saw
///   the release, and the unseen wait that did it is counted lost. A zombie still there at its
///   parent's death is reparented as usual (and watched again under its new parent).
extension Recorder {
    /// The ring closed and everything it handed over is applied.
    func ringWaitsClosed() {
        guard ringWaits, !ringClosed else { return }
        ringClosed = true
        ringWaitsLeftOpen = ringWaitsOpen.count
        writer.countLost(ringWaitsOpen.count)
        ringWaitsOpen = [:]
        for pid in table.procs.keys.sorted() where table.procs[pid]?.exited == true { watchUnseenReap(pid) }
        flush()
    }

    /// Watches the zombie `pid` for its reap by an unseen wait of its (live, traced) parent.
    func watchUnseenReap(_ pid: Int) {
        guard ringClosed, unseenReaps[pid] == nil, let p = table.procs[pid], p.exited, p.parent != selfPid,
              let parent = table.procs[p.parent], !parent.exited, !parent.autoReapsChildren else { return }
        let fd = kernel.openPidfd(pid)
        guard fd >= 0 else {
            // Released already: seen now.
            return reapedUnseen(pid, t: max(clock.now(), p.exitTime))
        }
        unseenReaps[pid] = fd
        let inbox = ringInbox, clock = clock
        watcher.watch(pid: pid, pidfd: fd) { pid in inbox?.addReap(pid: pid, clock: clock) }
    }

    /// The watcher saw the zombie `pid` released at `t` (a record of the inbox).
    func unseenReapSeen(pid: Int, t: Int64) {
        // (The watcher closed the pidfd.) Gone from the table: a seen wait reaped it meanwhile.
        guard unseenReaps.removeValue(forKey: pid) != nil, let p = table.procs[pid], p.exited else { return }
        if let cutoff = ringCutoff, t > cutoff { return }
        reapedUnseen(pid, t: max(min(t, unseenReapCap ?? t), p.exitTime))
    }

    /// The zombie `pid` was released by an unseen wait of its parent, seen at `t`.
    private func reapedUnseen(_ pid: Int, t: Int64) {
        guard let p = table.procs.removeValue(forKey: pid) else { return }
        table.procs[p.parent]?.children.remove(pid)
        pids.forget(pid: pid)
        unseenReapsSeen += 1
        // The wait that reaped it (its `begin` and `end`) is not in the trace.
        writer.countLost(1)
        var extra = JSONObject()
        extra.append("seen", .string("pidfd"))
        emit(TraceEvent(t: t, .reap(pid: pid, by: p.parent, how: .wait), extra: extra))
    }

    /// A traced process `pid` dies (collected at `t`): its watched zombies that are gone were
    /// released before (by its waits); those still there are handed on by the kernel
    /// (`reparentChildren`, which watches them again under a traced new parent).
    func unseenReapsBeforeDeath(of pid: Int, t: Int64) {
        // Released before this death was handled: no later than the parent's end line (the
        // merger writes nothing from that time on until the line is submitted).
        let end = min(t, ringGroupDeaths[pid] ?? t)
        unseenReapCap = end
        defer { unseenReapCap = nil }
        applyRingWaits()
        guard let children = table.procs[pid]?.children else { return }
        for child in children.sorted() {
            guard let fd = unseenReaps[child] else { continue }
            guard watcher.take(pidfd: fd) else {
                // The watcher has seen it go and is handing it over: applied before the death.
                // (Not from inside `applyRingWaits`, which would not apply it: never the case
                // after the close, whose records are only these.)
                let deadline = monotonicNow() + 1_000_000_000
                while !applyingRingWaits && unseenReaps[child] != nil && monotonicNow() < deadline {
                    usleep(50)
                    applyRingWaits()
                }
                continue
            }
            unseenReaps[child] = nil
            let gone = pt_poll_hup(fd) != 0
            close(fd)
            guard gone, let c = table.procs[child] else { continue }
            reapedUnseen(child, t: max(c.exitTime, end))
        }
    }

    /// A new task takes the pid of a watched zombie: it was released (by its parent's unseen
    /// wait) before that fork.
    func unseenReapBeforeReuse(of pid: Int, t: Int64) {
        applyRingWaits()
        guard let fd = unseenReaps[pid] else { return }
        unseenReaps[pid] = nil
        if watcher.take(pidfd: fd) { close(fd) }
        guard let c = table.procs[pid], c.exited else { return }
        reapedUnseen(pid, t: max(c.exitTime, t - 1))
    }

    /// A seen wait reaped `pid`: its watch, if any, is over.
    func cancelUnseenReap(_ pid: Int) {
        guard let fd = unseenReaps.removeValue(forKey: pid) else { return }
        if watcher.take(pidfd: fd) { close(fd) }
    }
}
