import CProcTrace
@preconcurrency import Glibc
import Lifecycle

extension Recorder {
    /// Waits for every stop and exit of every traced task until none is left.
    func eventLoop() {
        let flags = pt_wall() | pt_wnothread()
        var status: Int32 = 0
        while true {
            merger.ptraceIdle()
            let r = pt_waitpid_control(-1, &status, flags)
            let t = merger.ptraceWoke()
            if r == -EINTR {   // a signal to proctrace (Ctrl-C, Ctrl-Z, SIGTERM)
                if control(at: t) { break }
                continue
            }
            if r < 0 { break }   // ECHILD: nothing traced is left
            handle(Int(r), status: status, t: t)
            if !pending.isEmpty { flush() }
            if control(at: t) { break }
        }
        settleVanishedOrphans()
    }

    /// One wait status: an exit or a stop.
    func handle(_ tid: Int, status: Int32, t: Int64) {
        stopsHandled += 1
        if pt_wifexited(status) != 0 || pt_wifsignaled(status) != 0 {
            taskExited(tid, status: status, t: t)
        } else if pt_wifstopped(status) != 0 {
            stopped(tid, status: status, t: t)
        }
    }

    /// Handles a traced process's exit that the kernel has ready but `waitpid(-1)` has not
    /// returned yet: a waiter has just reaped one of its children, which proves the death.
    func collectExit(of pid: Int, t: Int64) {
        var status: Int32 = 0
        let r = pt_waitpid(pid_t(pid), &status, pt_wall() | pt_wnothread() | WNOHANG)
        guard r == pid_t(pid) else { return }
        if pt_wifexited(status) != 0 || pt_wifsignaled(status) != 0 {
            taskExited(pid, status: status, t: t)
        } else if pt_wifstopped(status) != 0 {
            stopped(pid, status: status, t: t)
        }
    }

    // MARK: - Stops

    private func stopped(_ tid: Int, status: Int32, t: Int64) {
        let sig = pt_wstopsig(status)
        let event = Int((status >> 16) & 0xFFFF)
        switch event {
        case Int(PT_EVENT_FORK), Int(PT_EVENT_VFORK), Int(PT_EVENT_CLONE):
            forkEvent(tid, event: event, t: t)
        case Int(PT_EVENT_EXEC):
            execEvent(tid, t: t)
        case Int(PT_EVENT_SECCOMP):
            seccompStop(tid, t: t)
        case Int(PT_EVENT_STOP):
            eventStop(tid, sig: sig, t: t)
        case 0 where sig == SIGTRAP | Int32(PT_SYSCALL_STOP_BIT):
            syscallExit(tid, t: t)
        case 0:
            signalStop(tid, sig: sig, t: t)
        default:
            resume(tid, 0)
        }
    }

    private func forkEvent(_ tid: Int, event: Int, t: Int64) {
        defer { resume(tid, 0) }
        guard let newTid = Tracee.eventMessage(tid).map({ Int($0) }), newTid > 0 else {
            writer.countLost(1)
            return
        }
        let creator = table.tasks[tid]?.pid ?? tid
        var flags: UInt64 = 0
        if pt_clone_flags(pid_t(tid), &flags) != 0 {
            // Could not read the registers: fall back on what the new task says of itself.
            flags = event == Int(PT_EVENT_FORK) ? UInt64(SIGCHLD) : 0
            if event == Int(PT_EVENT_CLONE), let tgid = ProcStatus(pid: newTid)?.tgid, tgid != newTid { flags |= UInt64(PT_CLONE_THREAD) }
        }
        states?.forked(child: newTid, byThread: tid)
        if flags & UInt64(PT_CLONE_THREAD) != 0 {
            table.addThread(tid: newTid, pid: creator)
            states?.track(tid: newTid, pid: creator, at: t)
            emit(TraceEvent(t: t, .thread(pid: creator, tid: newTid, phase: .start)))
        } else {
            let parent = flags & UInt64(PT_CLONE_PARENT) != 0 ? (table.procs[creator]?.parent ?? creator) : creator
            table.addProcess(pid: newTid, parent: parent, creator: creator)
            pids.learn(pid: newTid, creator: creator)
            if attachMode {
                // Its reap will be seen through this pidfd (attach mode sees no waits).
                let fd = pt_pidfd_open(pid_t(newTid))
                if fd >= 0 { pidfds[newTid] = fd }
            }
            states?.track(tid: newTid, pid: newTid, at: t)
            let via: ForkVia = event == Int(PT_EVENT_FORK) ? .fork : event == Int(PT_EVENT_VFORK) ? .vfork : .clone
            // A child in a nested pid namespace: its pid in each namespace, proctrace's first.
            let nspid = pids.place(of: newTid).flatMap { $0.depth > 0 ? $0.nspid : nil }
            emit(TraceEvent(t: t, .fork(pid: creator, child: newTid, parent: parent, via: via, tid: tid != creator ? tid : nil, nspid: nspid)))
        }
        if table.earlyStops.remove(newTid) != nil {
            resume(newTid, 0)
        } else if let early = table.earlyExits.removeValue(forKey: newTid) {
            taskExited(newTid, status: early.status, t: max(early.t, t))
        } else {
            table.tasks[newTid]?.awaitingFirstStop = true
        }
    }

    private func execEvent(_ tid: Int, t: Int64) {
        let pid = table.tasks[tid]?.pid ?? tid
        var formerTid: Int?
        if let msg = Tracee.eventMessage(tid), Int(msg) != tid, Int(msg) > 0 {
            // A non-leader thread exec'd: it now has the leader's tid, and every other
            // thread is gone.
            let former = Int(msg)
            formerTid = former
            table.tasks.removeValue(forKey: former)
            table.procs[pid]?.threads.remove(former)
        }
        if let threads = table.procs[pid]?.threads {
            for other in threads where other != pid {
                table.tasks.removeValue(forKey: other)
                emit(TraceEvent(t: t, .thread(pid: pid, tid: other, phase: .exit, reason: "exec")))
            }
            table.procs[pid]?.threads = [pid]
        }
        if table.tasks[pid] == nil { table.addThread(tid: pid, pid: pid) }
        // The exec succeeded: resumed with PTRACE_CONT below, it skips its syscall-exit stop.
        table.tasks[pid]?.execTry = nil
        table.procs[pid]?.noChildWait = false   // exec resets signal flags; SIG_IGN survives
        // Read what changes with the task while it is stopped; the ELF facts of the file
        // after it runs again.
        let image = ExecImage.read(pid)
        var argv = image?.argv ?? []
        var lossy = image?.argvLossy ?? false
        var truncated = false
        if image?.argvComplete != true {
            // /proc says the same, whole, when the stack could not be read.
            if let whole = ProcFS.cmdline(pid) {
                argv = whole.argv
                lossy = whole.lossy
            } else {
                // Never cut silently: say how big the real argv was, when known.
                truncated = true
            }
        }
        let exe = ProcFS.readlink("/proc/\(pid)/exe")
        let path = image?.execFilename ?? ProcFS.execFilename(pid) ?? exe ?? argv.first ?? ""
        resume(tid, 0)
        let info = exe.flatMap { elf.facts($0) }
        // JSON strings are UTF-8: say when an argument's bytes could not be kept as they were.
        emit(TraceEvent(t: t, .exec(pid: pid, path: path, argv: argv, exe: exe, elf: info, formerTid: formerTid, argvTruncated: truncated,
                                    argvBytes: truncated ? image?.argvBytes : nil, argvNotUTF8: lossy)))
    }

    private func eventStop(_ tid: Int, sig: Int32, t: Int64) {
        guard var task = table.tasks[tid] else {
            // The first stop of a child whose parent's fork event has not arrived yet
            // (detachAll lets such a task go at once).
            table.earlyStops.insert(tid)
            return
        }
        if task.awaitingFirstStop {
            task.awaitingFirstStop = false
            table.tasks[tid] = task
            resume(tid, 0)
            return
        }
        switch sig {
        case SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU:
            // Group-stop: let it stay stopped (job control) while we keep listening.
            table.tasks[tid]?.groupStopped = true
            states?.noteWhy(tid: tid, why: "stopped:\(SignalName.name(Int(sig)))", from: t, to: nil)
            listen(tid)
        default:
            if task.groupStopped { states?.endWhy(tid: tid, at: t) }
            table.tasks[tid]?.groupStopped = false
            resume(tid, 0)
        }
    }

    private func signalStop(_ tid: Int, sig: Int32, t: Int64) {
        var signo: Int32 = 0, code: Int32 = 0, from: Int32 = 0, st: Int32 = 0
        let pid = table.tasks[tid]?.pid ?? tid
        if pt_getsiginfo(pid_t(tid), &signo, &code, &from, &st) == 0 {
            var sender: Int?
            var extra = JSONObject()
            // SI_USER, SI_QUEUE, SI_TKILL carry the sender; SIGCHLD's CLD_* carry the child,
            // numbered in the receiver's namespace (0: the sender is outside it).
            if [SI_USER, SI_QUEUE, SI_TKILL].contains(Int(code)) || (signo == SIGCHLD && code > 0) {
                if let p = pids.translate(Int(from), seenBy: pid), p > 0 || !(pids.place(of: pid).map { $0.depth > 0 } ?? false) {
                    sender = p
                } else {
                    extra.noteUntranslated("from", Int(from))
                }
            }
            emit(TraceEvent(t: t, .signal(pid: pid, sig: SignalName.name(Int(sig)), from: sender, code: Self.siCodeName(signo: signo, code: code),
                                               tid: tid != pid ? tid : nil),
                            extra: extra))
        } else {
            emit(TraceEvent(t: t, .signal(pid: pid, sig: SignalName.name(Int(sig)), from: nil, code: nil)))
        }
        // SIGSTOP cannot be caught: a group-stop follows at once, and the task will sit in it
        // (in TASK_TRACED, as any ptrace stop) until a SIGCONT. Say so before it happens.
        // SIGTSTP, SIGTTIN and SIGTTOU stop too when their action is the default one (a
        // terminal's Ctrl-Z, a background job touching the terminal).
        if sig == SIGSTOP || ((sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) && ProcFS.hasDefaultAction(pid, signal: sig)) {
            states?.noteWhy(tid: tid, why: "stopped:\(SignalName.name(Int(sig)))", from: t, to: nil)
        }
        // Re-inject the signal: the tracer only watches it go by. A task in a group-stop
        // (a signal woke it from PTRACE_LISTEN) must go back to it after taking the signal,
        // not run on: the pending interrupt makes it trap again (PTRACE_EVENT_STOP) before
        // it returns to user space, and that stop is listened to again.
        if table.tasks[tid]?.groupStopped == true && sig != SIGCONT { _ = pt_interrupt(pid_t(tid)) }
        resume(tid, sig)
    }

    static func siCodeName(signo: Int32, code: Int32) -> String? {
        switch Int(code) {
        case SI_USER: return "SI_USER"
        case SI_KERNEL: return "SI_KERNEL"
        case SI_QUEUE: return "SI_QUEUE"
        case SI_TIMER: return "SI_TIMER"
        case SI_MESGQ: return "SI_MESGQ"
        case SI_ASYNCIO: return "SI_ASYNCIO"
        case SI_SIGIO: return "SI_SIGIO"
        case SI_TKILL: return "SI_TKILL"
        default: break
        }
        if signo == SIGCHLD {
            switch Int(code) {
            case CLD_EXITED: return "CLD_EXITED"
            case CLD_KILLED: return "CLD_KILLED"
            case CLD_DUMPED: return "CLD_DUMPED"
            case CLD_TRAPPED: return "CLD_TRAPPED"
            case CLD_STOPPED: return "CLD_STOPPED"
            case CLD_CONTINUED: return "CLD_CONTINUED"
            default: break
            }
        }
        return code > 0 ? "\(code)" : nil
    }
}
