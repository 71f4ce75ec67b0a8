import CProcTrace
@preconcurrency import Glibc
import Lifecycle

/// What the loop does with a stopped task once its stop is handled. Stop handlers decide;
/// `Recorder.resume(_:_:)` is the one place that acts on the decision.
enum Resume: Equatable {
    /// `PTRACE_CONT`, delivering `signal` (0: none).
    case run(signal: Int32)
    /// `PTRACE_SYSCALL`: stop again at this syscall's exit, for its result.
    case toSyscallExit
    /// `PTRACE_SYSCALL` delivering `signal` (0: none): stop at the next syscall entry or exit
    /// (a signal handler stepped through, `sigreturnStep`).
    case syscallStep(signal: Int32)
    /// `PTRACE_LISTEN`: the task stays in its group-stop (job control), still traced.
    case listen
    /// Deliver `signal`, then trap again before returning to user space (`PTRACE_INTERRUPT`,
    /// then `PTRACE_CONT`): a task that a signal woke from its group-stop goes back into it.
    case deliverAndStopAgain(signal: Int32)
    /// Leave the task stopped: a new child whose creator's fork event has not arrived yet.
    case hold

    static let run = Resume.run(signal: 0)
}

extension Recorder {
    /// Waits for every stop and exit of every traced task until none is left.
    func eventLoop() {
        while true {
            merger.ptraceIdle()
            ringInbox?.setLoopIdle(true)
            let (r, status) = kernel.wait(-1, extraFlags: 0, control: true)
            ringInbox?.setLoopIdle(false)
            let t = merger.ptraceWoke()
            if r == -Int(EAGAIN) {   // the state source's reader handed over waits (pt_loop_kick)
                applyRingWaits()
                continue
            }
            if r == -Int(EINTR) {   // a signal to proctrace (Ctrl-C, Ctrl-Z, SIGTERM)
                if control(at: t) { break }
                continue
            }
            if r < 0 { break }   // ECHILD: nothing traced is left
            handle(r, status: status, t: t)
            if !pending.isEmpty { flush() }
            if ringInbox?.needsLoop == true { applyRingWaits() }
            if control(at: t) { break }
        }
        // With waits read from the ring, the last of them are applied once the source has
        // stopped (`finish`): a zombie that vanished may yet have been reaped by one.
        if !ringWaits { settleVanishedOrphans() }
    }

    /// One wait status: an exit, or a stop, which is handled and then resumed as decided.
    func handle(_ tid: Int, status: Int32, t: Int64) {
        stopsHandled += 1
        if pt_wifexited(status) != 0 || pt_wifsignaled(status) != 0 {
            taskExited(tid, status: status, t: t)
        } else if pt_wifstopped(status) != 0 {
            resume(tid, stopped(tid, status: status, t: t))
            if let exec = execAfterResume {
                execAfterResume = nil
                finishExec(exec)
            }
        }
    }

    /// Handles a traced process's exit that the kernel has ready but `waitpid(-1)` has not
    /// returned yet: a waiter has just reaped one of its children, which proves the death.
    func collectExit(of pid: Int, t: Int64) {
        let (r, status) = kernel.wait(pid, extraFlags: WNOHANG, control: false)
        guard r == pid else { return }
        handle(pid, status: status, t: t)
    }

    // MARK: - Stops

    /// Handles one stop and says how to resume the task.
    private func stopped(_ tid: Int, status: Int32, t: Int64) -> Resume {
        let sig = pt_wstopsig(status)
        let event = Int((status >> 16) & 0xFFFF)
        switch event {
        case Int(PT_EVENT_FORK), Int(PT_EVENT_VFORK), Int(PT_EVENT_CLONE):
            return forkEvent(tid, event: event, t: t)
        case Int(PT_EVENT_EXEC):
            return execEvent(tid, t: t)
        case Int(PT_EVENT_SECCOMP):
            return seccompStop(tid, t: t)
        case Int(PT_EVENT_STOP):
            return eventStop(tid, sig: sig, t: t)
        case 0 where sig == SIGTRAP | Int32(PT_SYSCALL_STOP_BIT):
            return syscallExit(tid, t: t)
        case 0:
            return signalStop(tid, sig: sig, t: t)
        default:
            return .run
        }
    }

    private func forkEvent(_ tid: Int, event: Int, t: Int64) -> Resume {
        guard let newTid = kernel.eventMessage(tid).map({ Int($0) }), newTid > 0 else {
            writer.countLost(1)
            return .run
        }
        let creator = table.tasks[tid]?.pid ?? tid
        var flags: UInt64
        let read = kernel.cloneFlags(tid)
        if let f = read {
            flags = f
        } else {
            // Could not read the registers: fall back on what the new task says of itself.
            flags = event == Int(PT_EVENT_FORK) ? UInt64(SIGCHLD) : 0
            if event == Int(PT_EVENT_CLONE), let tgid = kernel.threadGroup(of: newTid), tgid != newTid { flags |= UInt64(PT_CLONE_THREAD) }
        }
        // A new task named like a zombie the table still holds: that zombie was reaped, by a
        // wait the ring has not handed over yet. Its reap first.
        if ringWaits, table.procs[newTid]?.exited == true { awaitRingReap(of: newTid, t: t) }
        ringEndsNewTask(newTid)
        states?.forked(child: newTid, byThread: tid)
        table.endedByExec.remove(newTid)   // a new task with that tid
        if flags & UInt64(PT_CLONE_THREAD) != 0 {
            table.addThread(tid: newTid, pid: creator, at: t)
            states?.track(tid: newTid, pid: creator, at: t)
            emit(TraceEvent(t: t, .thread(pid: creator, tid: newTid, phase: .start)))
        } else {
            let parent = flags & UInt64(PT_CLONE_PARENT) != 0 ? (table.procs[creator]?.parent ?? creator) : creator
            table.addProcess(pid: newTid, parent: parent, creator: creator, at: t)
            if let f = read, bornInCreatorsNamespace(creator, flags: f) {
                pids.learnHome(pid: newTid)
            } else {
                pids.learn(pid: newTid, creator: creator, kernel: kernel)
            }
            if attachMode {
                // Its reap will be seen through this pidfd (attach mode sees no waits).
                let fd = kernel.openPidfd(newTid)
                if fd >= 0 { pidfds[newTid] = fd }
            }
            states?.track(tid: newTid, pid: newTid, at: t)
            let via: ForkVia = event == Int(PT_EVENT_FORK) ? .fork : event == Int(PT_EVENT_VFORK) ? .vfork : .clone
            // A child in a nested pid namespace: its pid in each namespace, proctrace's first.
            let nspid = pids.place(of: newTid).flatMap { $0.depth > 0 ? $0.nspid : nil }
            emit(TraceEvent(t: t, .fork(pid: creator, child: newTid, parent: parent, via: via, tid: tid != creator ? tid : nil, nspid: nspid)))
        }
        if table.earlyStops.remove(newTid) != nil {
            // Its first stop came first and was held: it is known now.
            resume(newTid, .run)
        } else if let early = table.earlyExits.removeValue(forKey: newTid) {
            taskExited(newTid, status: early.status, t: max(early.t, t))
        } else {
            table.tasks[newTid]?.awaitingFirstStop = true
        }
        return .run
    }

    /// Whether a new process is certainly in proctrace's own pid namespace without asking /proc
    /// (a `readlink` of `/proc/PID/ns/pid` per fork): its creator is there, the seccomp filter
    /// reports unshare and setns (not in attach mode, nor with --until-root-exits) and the creator
    /// made neither call, and the clone's flags (read from its registers) hold no CLONE_NEWPID. A
    /// process's namespace for children is its own until it calls one of those.
    private func bornInCreatorsNamespace(_ creator: Int, flags: UInt64) -> Bool {
        guard seesNamespaceCalls, flags & UInt64(PT_CLONE_NEWPID) == 0, let c = table.procs[creator], !c.namespaceCalls else { return false }
        return pids.place(of: creator)?.depth == 0
    }

    private func execEvent(_ tid: Int, t: Int64) -> Resume {
        let pid = table.tasks[tid]?.pid ?? tid
        var formerTid: Int?
        // Only a process with another thread can have exec'd from a non-leader (a thread runs
        // only once its clone event made it known here): one request fewer per usual exec.
        if (table.procs[pid]?.threads.count ?? 2) > 1, let msg = kernel.eventMessage(tid), Int(msg) != tid, Int(msg) > 0 {
            // A non-leader thread exec'd: it now has the leader's tid, and every other
            // thread is gone.
            let former = Int(msg)
            formerTid = former
            retireForRingWaits(former, pid: pid, t: t)
            table.tasks.removeValue(forKey: former)
            table.procs[pid]?.threads.remove(former)
        }
        if let threads = table.procs[pid]?.threads, threads.count > 1 || threads.first != pid {
            for other in threads.sorted() where other != pid {
                retireForRingWaits(other, pid: pid, t: t)
                table.tasks.removeValue(forKey: other)
                table.endedByExec.insert(other)
                let end = threadEndTime(other, pid: pid, collected: t)
                emit(TraceEvent(t: end, .thread(pid: pid, tid: other, phase: .exit, reason: "exec")))
            }
            table.procs[pid]?.threads = [pid]
        }
        if table.tasks[pid] == nil { table.addThread(tid: pid, pid: pid) }
        // The exec succeeded: resumed with PTRACE_CONT below, it skips its syscall-exit stop.
        table.tasks[pid]?.execTry = nil
        table.procs[pid]?.noChildWait = false   // exec resets signal flags; SIG_IGN survives
        // Read what changes with the task while it is stopped; the ELF facts of the file
        // after it runs again (`finishExec`).
        let image = ExecImage.read(pid, from: kernel, scratch: execScratch)
        var argv = image?.argv ?? []
        var lossy = image?.argvLossy ?? false
        var truncated = false
        if image?.argvComplete != true {
            // /proc says the same, whole, when the stack could not be read.
            if let whole = kernel.commandLine(of: pid) {
                argv = whole.argv
                lossy = whole.lossy
            } else {
                // Never cut silently: say how big the real argv was, when known.
                truncated = true
            }
        }
        let exe = kernel.executable(of: pid)
        let path = image?.execFilename ?? kernel.execFilename(pid) ?? exe ?? argv.first ?? ""
        execAfterResume = ExecSeen(t: t, pid: pid, path: path, argv: argv, exe: exe, formerTid: formerTid, argvTruncated: truncated,
                                   argvBytes: truncated ? image?.argvBytes : nil, argvNotUTF8: lossy)
        return .run
    }

    /// The exec event, once its task runs again: the ELF facts need only the file.
    private func finishExec(_ e: ExecSeen) {
        let info = e.exe.flatMap { elf.facts($0) }
        // JSON strings are UTF-8: the event says when an argument's bytes could not be kept.
        emit(TraceEvent(t: e.t, .exec(pid: e.pid, path: e.path, argv: e.argv, exe: e.exe, elf: info, formerTid: e.formerTid,
                                      argvTruncated: e.argvTruncated, argvBytes: e.argvBytes, argvNotUTF8: e.argvNotUTF8)))
    }

    private func eventStop(_ tid: Int, sig: Int32, t: Int64) -> Resume {
        guard var task = table.tasks[tid] else {
            // The first stop of a child whose parent's fork event has not arrived yet: held
            // until that event names it.
            table.earlyStops.insert(tid)
            return .hold
        }
        if task.awaitingFirstStop {
            task.awaitingFirstStop = false
            table.tasks[tid] = task
            return .run
        }
        switch sig {
        case SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU:
            // Group-stop: let it stay stopped (job control) while we keep listening.
            table.tasks[tid]?.groupStopped = true
            states?.noteWhy(tid: tid, why: "stopped:\(SignalName.name(Int(sig)))", from: t, to: nil)
            return .listen
        default:
            if task.groupStopped { states?.endWhy(tid: tid, at: t) }
            table.tasks[tid]?.groupStopped = false
            return .run
        }
    }

    private func signalStop(_ tid: Int, sig: Int32, t: Int64) -> Resume {
        let pid = table.tasks[tid]?.pid ?? tid
        if let info = kernel.signalInfo(tid) {
            var sender: Int?
            var extra = JSONObject()
            // SI_USER, SI_QUEUE, SI_TKILL carry the sender; SIGCHLD's CLD_* carry the child,
            // numbered in the receiver's namespace (0: the sender is outside it).
            let code = info.code
            if [SI_USER, SI_QUEUE, SI_TKILL].contains(Int(code)) || (info.signo == SIGCHLD && code > 0) {
                if let p = pids.translate(Int(info.pid), seenBy: pid), p > 0 || !(pids.place(of: pid).map { $0.depth > 0 } ?? false) {
                    sender = p
                } else {
                    extra.noteUntranslated("from", Int(info.pid))
                }
            }
            emit(TraceEvent(t: t, .signal(pid: pid, sig: SignalName.name(Int(sig)), from: sender,
                                          code: Self.siCodeName(signo: info.signo, code: code), tid: tid != pid ? tid : nil),
                            extra: extra))
        } else {
            emit(TraceEvent(t: t, .signal(pid: pid, sig: SignalName.name(Int(sig)), from: nil, code: nil)))
        }
        // SIGSTOP cannot be caught: a group-stop follows at once, and the task will sit in it
        // (in TASK_TRACED, as any ptrace stop) until a SIGCONT. Say so before it happens.
        // SIGTSTP, SIGTTIN and SIGTTOU stop too when their action is the default one (a
        // terminal's Ctrl-Z, a background job touching the terminal).
        if sig == SIGSTOP || ((sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) && kernel.hasDefaultAction(pid, signal: sig)) {
            states?.noteWhy(tid: tid, why: "stopped:\(SignalName.name(Int(sig)))", from: t, to: nil)
        }
        // Re-inject the signal: the tracer only watches it go by. A task in a group-stop
        // (a signal woke it from PTRACE_LISTEN) must go back to it after taking the signal,
        // not run on: the pending interrupt makes it trap again (PTRACE_EVENT_STOP) before
        // it returns to user space, and that stop is listened to again.
        if table.tasks[tid]?.groupStopped == true && sig != SIGCONT { return .deliverAndStopAgain(signal: sig) }
        // A wait this signal interrupted: follow the task to the handler's return, which says
        // whether the program gets EINTR or the kernel restarts the call (`sigreturnStep`).
        // A handler's frame lies below the stack pointer of the call it interrupted: a call
        // made at or above it again shows the handler left by a jump (`sigreturnStep`).
        guard ![SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU].contains(sig) else { return .run(signal: sig) }
        let caught = { (self.kernel.signalMasks(of: pid)?.caught ?? 0) & (1 << UInt64(sig - 1)) != 0 }
        if case .stepping(let left, let sp, let nested)? = table.tasks[tid]?.sigreturnWatch {
            // Delivered while a handler is followed (signals pending together, or one arriving
            // in the handler): keep following it; a handler entered now runs on top of it.
            let handler = caught()
            if let sp {
                table.tasks[tid]?.sigreturnWatch = .stepping(left: left, sp: sp, nested: nested + (handler ? 1 : 0))
            } else if handler, table.tasks[tid]?.wait?.restarting == true {
                // The first signal had no handler (the restart was next); this one has.
                let sp = kernel.interruptedCall(tid).map(\.sp).flatMap { $0 != 0 ? $0 : nil }
                table.tasks[tid]?.sigreturnWatch = .stepping(left: left, sp: sp, nested: 0)
            }
            return .syscallStep(signal: sig)
        }
        if table.tasks[tid]?.wait?.restarting == true {
            let sp = caught() ? kernel.interruptedCall(tid).map(\.sp).flatMap { $0 != 0 ? $0 : nil } : nil
            table.tasks[tid]?.sigreturnWatch = .stepping(left: Self.sigreturnStepLimit, sp: sp)
            return .syscallStep(signal: sig)
        }
        // A wait read from the ring that this signal interrupted, when a handler will run: the
        // ring shows the handler's start (`signal_deliver`) but not how it leaves.
        // (Its return register first, one word: a signal that interrupted no call, like the
        // SIGCHLD a shell gets as its wait4 returns, needs no more.)
        if ringWaits, table.tasks[tid]?.wait == nil, kernel.interruptedReturn(tid).map({ restartCodes.contains($0) }) ?? true,
           let call = kernel.interruptedCall(tid), call.nr == Int64(pt_nr_wait4()),
           restartCodes.contains(call.ret), call.sp != 0, caught() {
            table.tasks[tid]?.handlerEnd = nil
            table.tasks[tid]?.sigreturnWatch = .stepping(left: Self.sigreturnStepLimit, sp: call.sp)
            return .syscallStep(signal: sig)
        }
        return .run(signal: sig)
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

/// An exec seen at its stop, written once the task runs again.
struct ExecSeen {
    var t: Int64
    var pid: Int
    var path: String
    var argv: [String]
    var exe: String?
    var formerTid: Int?
    var argvTruncated: Bool
    var argvBytes: Int?
    var argvNotUTF8: Bool
}
