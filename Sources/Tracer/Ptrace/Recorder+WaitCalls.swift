import CProcTrace
@preconcurrency import Glibc
import Lifecycle

/// The kernel's "restart this syscall" return codes, never seen by user space and so in no
/// user-space header (`include/linux/errno.h`): ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND,
/// ERESTART_RESTARTBLOCK.
private enum KernelRestart {
    static let sys: Int64 = 512, noIntr: Int64 = 513, noHand: Int64 = 514, restartBlock: Int64 = 516
}
let restartCodes: Set<Int64> = [-KernelRestart.sys, -KernelRestart.noIntr, -KernelRestart.noHand, -KernelRestart.restartBlock]

extension Recorder {
    /// A seccomp stop: a wait4/waitid/setsid/setpgid is about to run.
    func seccompStop(_ tid: Int, t: Int64) -> Resume {
        // One request gives the call, its arguments and the filter's tag (SECCOMP_RET_DATA).
        guard let pid = table.tasks[tid]?.pid, let info = kernel.syscallInfo(tid), info.op == .seccomp else { return .run }
        let args = info.args
        let tag = Int(info.retData)
        switch tag {
        case PT_SC_WAIT4, PT_SC_WAITID:
            var wait = Self.describeWait(tag: tag, args: args, tid: tid, pid: pid, t: t)
            // The target is in the waiter's namespace numbering.
            if let target = pids.translateTarget(wait.target, seenBy: pid) {
                wait.target = target
            } else {
                wait.extra.noteUntranslated("target", wait.target)
            }
            table.tasks[tid]?.sigreturnWatch = nil
            if let old = table.tasks[tid]?.wait, old.restarting {
                if old.outcomeUnknown {
                    // A handler ran and was not followed to its end: no claim of a restart.
                    abandonWait(tid, how: .unknown, t: t)
                } else if old.call == wait.call && old.target == wait.target && old.rawOptions == wait.rawOptions {
                    // The same call again after ERESTART*, with no handler's return saying EINTR
                    // in between (`sigreturnStep`): the kernel's restart, still the one wait.
                    table.tasks[tid]?.wait?.restarted()
                    return .toSyscallExit
                } else {
                    // The interrupted call did not come back: it returned EINTR to the program.
                    finishWait(tid, result: .error("EINTR"), status: nil, t: t)
                }
            }
            table.tasks[tid]?.wait = wait
            // Tell the state source why this task is about to block, before it runs again.
            states?.noteWhy(tid: tid, why: wait.call.rawValue, from: t, to: nil)
            emit(TraceEvent(t: t, .waitBegin(pid: pid, call: wait.call, target: wait.target, options: wait.options, tid: wait.tid),
                            extra: wait.extra))
        case PT_SC_SETSID, PT_SC_SETPGID:
            table.tasks[tid]?.groupCall = (tag, args)
        case PT_SC_NAMESPACE:
            // unshare/setns: from now on this process's children may be born in another pid
            // namespace than its own (forkEvent reads theirs from /proc).
            table.procs[pid]?.namespaceCalls = true
            return .run
        case PT_SC_EXECVE, PT_SC_EXECVEAT:
            // Only the pointers now: the strings are read if the call fails (a success
            // replaces the memory, and is recorded from PTRACE_EVENT_EXEC).
            table.tasks[tid]?.execTry = ExecTry(call: tag, args: args)
        case PT_SC_SIGCHLD_ACTION:
            // rt_sigaction(SIGCHLD, act, …): struct kernel_sigaction starts with the handler
            // and the flags on x86_64 and arm64.
            if args[1] != 0, let handler = kernel.read(tid, at: args[1], as: UInt64.self),
               let flags = kernel.read(tid, at: args[1] + 8, as: UInt64.self) {
                table.procs[pid]?.ignoresSIGCHLD = pt_is_sig_ign(handler) != 0
                table.procs[pid]?.noChildWait = flags & UInt64(SA_NOCLDWAIT) != 0
            }
            return .run
        default:
            return .run
        }
        // Stop again at the syscall's exit for its result.
        return .toSyscallExit
    }

    static func describeWait(tag: Int, args: SyscallArgs, tid: Int, pid: Int, t: Int64) -> PendingWait {
        var extra = JSONObject()
        let waiter = tid != pid ? tid : nil
        if tag == PT_SC_WAIT4 {
            let target = Int(Int32(truncatingIfNeeded: args[0]))
            return PendingWait(call: .wait4, target: target, options: WaitDecoding.options(args[2], waitid: false),
                               rawOptions: args[2], resultAddr: args[1], tid: waiter, extra: extra, beganAt: t)
        }
        let idtype = Int32(truncatingIfNeeded: args[0])
        let id = Int(Int32(truncatingIfNeeded: args[1]))
        var target = -1
        switch idtype {
        case 0: target = -1; extra.append("idtype", .string("P_ALL"))
        case 1: target = id; extra.append("idtype", .string("P_PID"))
        case 2: target = id == 0 ? 0 : -id; extra.append("idtype", .string("P_PGID"))
        case 3: target = -1; extra.append("idtype", .string("P_PIDFD")); extra.append("pidfd", .int(Int64(id)))
        default: extra.append("idtype", .int(Int64(idtype)))
        }
        return PendingWait(call: .waitid, target: target, options: WaitDecoding.options(args[3], waitid: true),
                           rawOptions: args[3], resultAddr: args[2], tid: waiter, extra: extra, beganAt: t)
    }

    /// A syscall stop: the exit of a call stopped at its entry by seccomp, or a step through a
    /// signal handler that runs while a wait is interrupted (`sigreturnStep`).
    func syscallExit(_ tid: Int, t: Int64) -> Resume {
        guard let task = table.tasks[tid], let info = kernel.syscallInfo(tid) else { return .run }
        if let watch = task.sigreturnWatch { return sigreturnStep(tid, watch: watch, info: info, t: t) }
        guard info.op == .exit else { return .run }
        let rval = info.rval
        if let wait = task.wait {
            if restartCodes.contains(rval) {
                // A signal interrupted it: its delivery stop comes next (`signalStop`), and
                // the handler's return, if it has one, says EINTR or restart.
                table.tasks[tid]?.wait?.interrupted(at: t, code: rval)
                return .run
            }
            waitReturned(tid, wait: wait, rval: rval, isError: info.isError, t: t)
        } else if let attempt = task.execTry {
            table.tasks[tid]?.execTry = nil
            // A restarted exec comes back through seccomp: still one call.
            guard info.isError, rval < 0, !restartCodes.contains(rval) else { return .run }
            execFailed(tid, pid: task.pid, attempt: attempt, errno: Int32(-rval), t: t)
        } else if let call = task.groupCall {
            table.tasks[tid]?.groupCall = nil
            guard !info.isError, rval >= 0 else { return .run }
            if call.tag == PT_SC_SETSID {
                // The new session and group are named after the caller (rval is its pid in its
                // own namespace).
                emit(TraceEvent(t: t, .group(pid: task.pid, pgid: task.pid, sid: task.pid, call: .setsid, by: task.pid)))
            } else {
                // Both arguments are in the caller's namespace numbering. A change that cannot
                // be told in proctrace's numbering is counted as lost rather than guessed.
                let target = Int(Int32(truncatingIfNeeded: call.args[0]))
                let pg = Int(Int32(truncatingIfNeeded: call.args[1]))
                guard let affected = target == 0 ? task.pid : pids.translate(target, seenBy: task.pid),
                      let pgid = pg == 0 ? affected : pids.translate(pg, seenBy: task.pid) else {
                    writer.countLost(1)
                    return .run
                }
                let sid = kernel.session(of: affected)
                emit(TraceEvent(t: t, .group(pid: affected, pgid: pgid, sid: sid, call: .setpgid, by: task.pid)))
            }
        }
        return .run
    }

    /// Most syscalls a handler may make before its return is given up on (a handler that
    /// leaves by longjmp never returns): the wait is then taken for restarted if the same call
    /// comes again, as without the watch.
    static let sigreturnStepLimit = 64

    /// A task whose wait a signal interrupted is stepped from the signal's delivery one syscall
    /// stop at a time, to see how the wait comes back: the handler's return (rt_sigreturn)
    /// puts back -EINTR when the program gets EINTR (a handler without `SA_RESTART`), or what
    /// restarts the call (its number on x86-64); with no handler the kernel restarts the call
    /// at once, and the next stop is its entry. Costs two stops per call the handler makes.
    func sigreturnStep(_ tid: Int, watch: SigreturnWatch, info: SyscallInfo, t: Int64) -> Resume {
        switch (watch, info.op) {
        case (.stepping(let left, let sp, let nested), .entry):
            if info.nr == UInt64(pt_nr_rt_sigreturn()) && nested > 0 {
                table.tasks[tid]?.sigreturnWatch = .stepping(left: left, sp: sp, nested: nested - 1)
                return .syscallStep(signal: 0)
            }
            if info.nr == UInt64(pt_nr_rt_sigreturn()) {
                table.tasks[tid]?.sigreturnWatch = .inSigreturn
                if table.tasks[tid]?.wait == nil { table.tasks[tid]?.handlerEnd = (.returned, t) }
                return .syscallStep(signal: 0)
            }
            // A call at or above the interrupted call's stack pointer: the program runs in its
            // own frames again, and the handler's frame below is gone without its rt_sigreturn.
            if let sp, info.sp != 0, info.sp >= sp {
                table.tasks[tid]?.sigreturnWatch = nil
                abandonWait(tid, how: .jumped, t: t)
                return .run
            }
            // No handler: the restart itself (its seccomp stop decides). With a handler: a
            // wait of its own, or of the program's after a jump to a deeper frame, or too many
            // calls to follow: how the interrupted call came back is not known.
            if info.nr == UInt64(pt_nr_wait4()) || info.nr == UInt64(pt_nr_waitid()) || left <= 0 {
                table.tasks[tid]?.sigreturnWatch = nil
                if sp != nil { abandonWait(tid, how: .unknown, t: t, now: false) }
                return .run
            }
            table.tasks[tid]?.sigreturnWatch = .stepping(left: left - 1, sp: sp, nested: nested)
            return .syscallStep(signal: 0)
        case (.stepping, .exit):
            return .syscallStep(signal: 0)   // a call of the handler's own returned
        case (.inSigreturn, .exit):
            table.tasks[tid]?.sigreturnWatch = nil
            if info.rval == -Int64(EINTR), table.tasks[tid]?.wait?.restarting == true {
                // The program gets EINTR from the wait now: it ends here. A call it makes next,
                // the same or not, is a new wait.
                finishWait(tid, result: .error("EINTR"), status: nil, t: t)
            }
            // Otherwise the kernel restarts the call: its entry comes next.
            return .run
        default:
            table.tasks[tid]?.sigreturnWatch = nil
            return .run
        }
    }

    /// The handler that ran during an interrupted wait did not return (`how` = `.jumped`), or
    /// was not followed to its end (`.unknown`). A ptrace wait ends now with the interruption's
    /// code and `abandoned` or `restart_unknown` (`now`: at once; else only the mark, and the
    /// wait ends at the next wait call's seccomp stop, which must not take it for a restart).
    /// A wait read from the ring keeps the fact for the ring's next record of the task.
    func abandonWait(_ tid: Int, how: HandlerEnd, t: Int64, now: Bool = true) {
        guard let wait = table.tasks[tid]?.wait else {
            table.tasks[tid]?.handlerEnd = (how, t)
            return
        }
        guard wait.restarting else { return }
        if how == .unknown && !now {
            table.tasks[tid]?.wait?.outcomeUnknown = true
            return
        }
        table.tasks[tid]?.wait?.extra.append(how == .jumped ? "abandoned" : "restart_unknown", .bool(true))
        finishWait(tid, result: .error(wait.interruptedName), status: nil, t: t)
    }

    private func waitReturned(_ tid: Int, wait: PendingWait, rval: Int64, isError: Bool, t: Int64) {
        if isError || rval < 0 {
            finishWait(tid, result: .error(Tracee.errnoName(Int32(-rval))), status: nil, t: t)
            return
        }
        // The child is named in the waiter's namespace numbering.
        var reported = 0
        var status: ExitStatusValue?
        if wait.call == .wait4 {
            reported = Int(rval)
            if reported > 0, wait.resultAddr != 0, let raw = kernel.read(tid, at: wait.resultAddr, as: Int32.self) {
                status = WaitDecoding.status(raw)
            }
        } else if wait.resultAddr != 0 {
            if let info = kernel.readWaitidInfo(tid, at: wait.resultAddr) {
                reported = Int(info.pid)
                if reported > 0 { status = WaitDecoding.status(code: info.code, status: info.status) }
            }
        }
        guard reported > 0 else {
            finishWait(tid, result: .nothing, status: status, t: t)
            return
        }
        guard let child = pids.translate(reported, seenBy: table.tasks[tid]?.pid ?? tid) else {
            // Never guessed: the number stays as the waiter saw it, marked, and a reap it did
            // is counted as lost.
            table.tasks[tid]?.wait?.extra.noteUntranslated("result", reported)
            if status?.isTermination == true && wait.rawOptions & UInt64(WNOWAIT) == 0 { writer.countLost(1) }
            finishWait(tid, result: .pid(reported), status: status, t: t)
            return
        }
        if status == nil, wait.call == .wait4, let known = table.procs[child]?.status { status = Self.statusValue(known) }
        finishWait(tid, result: .pid(child), status: status, t: t)
    }

    static func statusValue(_ s: ExitStatus) -> ExitStatusValue {
        switch s {
        case .exited(let c): return .exited(c)
        case .signaled(let n, let core): return .signaled(SignalName.number(n) ?? 0, core: core)
        case .stopped(let n): return .stopped(SignalName.number(n) ?? 0)
        case .continued: return .continued
        }
    }

    /// Records the end of a wait, the reap it did, and settles the waiter's children whose
    /// fate depended on this wait.
    func finishWait(_ tid: Int, result: WaitResult, status: ExitStatusValue?, t: Int64) {
        guard let wait = table.tasks[tid]?.wait, let pid = table.tasks[tid]?.pid else { return }
        table.tasks[tid]?.wait = nil
        states?.endWhy(tid: tid, at: t)
        endWait(wait, pid: pid, result: result, status: status, t: t)
    }

    /// Writes a wait's end and the reap it did (both paths: ptrace stops and the ring).
    func endWait(_ wait: PendingWait, pid: Int, result: WaitResult, status: ExitStatusValue?, t: Int64) {
        // The kernel's restarts of the call after a signal interrupted it: one wait, told.
        emit(TraceEvent(t: t, .waitEnd(pid: pid, call: wait.call, target: wait.target, options: wait.options,
                                       result: result, status: status?.traceStatus, tid: wait.tid,
                                       restarted: wait.restarts.isEmpty ? nil : wait.restarts), extra: wait.extra))
        let noWait = wait.rawOptions & UInt64(WNOWAIT) != 0
        if case .pid(let child) = result, let s = status, s.isTermination, !noWait, table.procs[child]?.exited == true {
            if let v = vanishedOrphans[child], v.from == pid {
                // A wait read from the ring, applied after its waiter's own death: the child the
                // waiter reaped was already gone when that death was handled. No reparent.
                vanishedOrphans.removeValue(forKey: child)
                table.procs[child]?.parent = pid
            }
            if let parent = table.procs[child]?.parent, parent != pid {
                // Only a parent reaps: the recorded parent is dead and the kernel gave the
                // child to this waiter. Record that death first if it is still queued.
                if table.procs[parent]?.exited == false { collectExit(of: parent, t: t) }
                if let v = vanishedOrphans.removeValue(forKey: child) {
                    emit(TraceEvent(t: v.t, .reparent(pid: child, from: v.from, to: pid)))
                    table.procs[child]?.parent = pid
                    table.procs[pid]?.children.insert(child)
                }
            }
            reaped(child, by: pid, how: .wait, t: t)
        }
    }
}

extension Recorder {
    /// Records an execve/execveat that returned an error: the path and argv the task tried,
    /// read from its memory (still its own: the exec failed before replacing it).
    func execFailed(_ tid: Int, pid: Int, attempt: ExecTry, errno e: Int32, t: Int64) {
        let at = attempt.call == PT_SC_EXECVEAT
        let pathAddr = at ? attempt.args[1] : attempt.args[0]
        let argvAddr = at ? attempt.args[2] : attempt.args[1]
        let path = pathAddr == 0 ? nil : kernel.readCString(tid, at: pathAddr, max: 4096)
        let argv = readArgv(tid, at: argvAddr)
        var dirfdNumber: Int?, dirfdPath: String?, flagNames: [String]?
        if at {
            let dirfd = Int32(truncatingIfNeeded: attempt.args[0])
            if dirfd != AT_FDCWD {
                dirfdNumber = Int(dirfd)
                // What the descriptor names (the file itself with AT_EMPTY_PATH), while it is open.
                dirfdPath = ProcFS.readlink("/proc/\(pid)/fd/\(dirfd)")
            }
            let flags = Int32(truncatingIfNeeded: attempt.args[4])
            var names: [String] = []
            if flags & 0x1000 != 0 { names.append("AT_EMPTY_PATH") }
            if flags & 0x100 != 0 { names.append("AT_SYMLINK_NOFOLLOW") }
            if flags & ~0x1100 != 0 { names.append(String(flags & ~0x1100)) }
            if !names.isEmpty { flagNames = names }
        }
        // Never cut silently: say what could not be read (argsUnreadable).
        emit(TraceEvent(t: t, .exec(pid: pid, path: path ?? "", argv: argv?.strings ?? [], exe: nil, elf: nil, formerTid: nil,
                                    error: Tracee.errnoName(e), argvTruncated: argv?.truncated == true, tid: tid != pid ? tid : nil,
                                    argsUnreadable: path == nil || argv == nil, call: at ? "execveat" : nil, dirfd: dirfdNumber,
                                    dirfdPath: dirfdPath, flags: flagNames)))
    }

    /// A NULL-terminated array of string pointers in a task's memory (argv): at most
    /// `limit` entries (`truncated` when there were more); nil when it cannot be read.
    func readArgv(_ tid: Int, at addr: UInt64, limit: Int = 4096) -> (strings: [String], truncated: Bool)? {
        if addr == 0 { return ([], false) }
        var out: [String] = []
        var a = addr
        while true {
            guard let p = kernel.read(tid, at: a, as: UInt64.self) else { return nil }
            if p == 0 { return (out, false) }
            if out.count == limit { return (out, true) }
            guard let s = kernel.readCString(tid, at: p, max: 131_072) else { return nil }
            out.append(s)
            a += 8
        }
    }
}
