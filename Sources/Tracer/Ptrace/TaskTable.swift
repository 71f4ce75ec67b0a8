import Lifecycle

/// A wait-family call in progress in one traced task.
struct PendingWait {
    var call: WaitCall
    var target: Int
    var options: [String]
    var rawOptions: UInt64
    var resultAddr: UInt64    // wait4: int *status; waitid: siginfo_t *infop
    /// The waiting thread, when not the process's main thread.
    var tid: Int?
    /// Fields beyond the event's own: waitid's `idtype` (and `pidfd`), `untranslated`.
    var extra: JSONObject
    var beganAt: Int64
    /// The kernel returned ERESTART* (a signal interrupted the call): it is restarted, still
    /// one wait, unless a signal handler without `SA_RESTART` runs first, whose return
    /// (rt_sigreturn) hands the program EINTR: the wait ends then.
    var restarting = false
    /// When the signal interrupted it (the ERESTART* return), while `restarting`.
    var interruptedAt: Int64 = 0
    /// The ERESTART* code the call returned then (-512 and kin).
    var interruptedCode: Int64 = 0
    /// A handler ran after the interruption and was not followed to its end (more calls of
    /// its own than `Recorder.sigreturnStepLimit`, or a wait of its own): whether the call was
    /// restarted, returned EINTR or was abandoned is not known (ptrace waits only).
    var outcomeUnknown = false
    /// The times a signal interrupted the call and the kernel restarted it: the end line's
    /// `restarted`.
    var restarts: [Int64] = []

    /// The ring showed the first handler run after the interruption: only that one decides
    /// (a later one finds the restart already set up).
    var handlerSeen = false

    /// The call came back with ERESTART* at `t`.
    mutating func interrupted(at t: Int64, code: Int64) {
        restarting = true; interruptedAt = t; interruptedCode = code; handlerSeen = false; outcomeUnknown = false
    }

    /// The kernel's name of the interruption's code: what the call returned when it never
    /// came back to the program (`abandoned`) or its outcome is not known.
    var interruptedName: String {
        switch -interruptedCode {
        case 513: return "ERESTARTNOINTR"
        case 514: return "ERESTARTNOHAND"
        case 516: return "ERESTART_RESTARTBLOCK"
        default: return "ERESTARTSYS"
        }
    }

    /// The same call entered again after ERESTART*: the kernel's restart.
    mutating func restarted() { restarting = false; restarts.append(interruptedAt) }
}

/// A task whose wait a signal interrupted, followed from the signal's delivery through its
/// handler, one syscall stop at a time (`PTRACE_SYSCALL`), to the handler's return.
enum SigreturnWatch: Equatable {
    /// Stepping over the handler's own calls, `left` more at most. `sp`: the user stack
    /// pointer at the interrupted call when a handler runs (nil: no handler, or not known).
    /// The handler's frame and everything it calls lie below it on its stack; a call made at
    /// or above it is the program's own again: the handler left by a jump, never returning.
    /// `nested`: handlers of later signals entered on top of it and not yet returned (their
    /// rt_sigreturn is not the one that decides).
    case stepping(left: Int, sp: UInt64?, nested: Int = 0)
    /// In rt_sigreturn: its exit says EINTR or restart.
    case inSigreturn
}

/// How a signal handler that ran during an interrupted wait ended, as stepping it showed.
enum HandlerEnd: Equatable {
    /// Its rt_sigreturn: the kernel restarts the call or hands the program EINTR.
    case returned
    /// A call made at or above the interrupted call's stack pointer: it left by a jump
    /// (longjmp, siglongjmp), and the call never returns.
    case jumped
    /// Not followed to its end (too many calls of its own, or a wait inside it).
    case unknown
}

/// A traced thread (a process's main thread has tid == pid).
struct TaskInfo {
    var tid: Int
    var pid: Int
    /// When the tracer recorded the task's birth (its fork or spawn line; 0 for the root and
    /// attached tasks): a wait the ring reports from this tid earlier was an earlier task's.
    var bornAt: Int64 = 0
    var awaitingFirstStop = false
    var wait: PendingWait?
    /// A setsid/setpgid whose syscall-exit stop is pending: (tag, args).
    var groupCall: (tag: Int, args: SyscallArgs)?
    var groupStopped = false
    /// Set while a signal handler runs during an interrupted wait.
    var sigreturnWatch: SigreturnWatch?
    /// For a wait read from the ring: how the handler of the signal that interrupted it ended,
    /// as the stepping saw it (the ring shows no stack), with the time it was seen.
    var handlerEnd: (how: HandlerEnd, t: Int64)?
    /// An execve/execveat stopped at its entry whose syscall-exit stop is pending: it comes
    /// only if the exec failed (a success is a PTRACE_EVENT_EXEC, resumed without it).
    var execTry: ExecTry?
}

/// An exec call's arguments, read back from the task's memory only if the call fails (the
/// memory is still the caller's then).
struct ExecTry {
    var call: Int             // PT_SC_EXECVE or PT_SC_EXECVEAT
    var args: SyscallArgs
}

/// A traced process, from its fork to its reap.
struct ProcInfo {
    var pid: Int
    var parent: Int
    /// When its fork line was stamped (0 for the root and attached processes).
    var bornAt: Int64 = 0
    var children: Set<Int> = []
    var threads: Set<Int> = []
    var exited = false
    var exitTime: Int64 = 0
    var status: ExitStatus?
    /// SIGCHLD is ignored (SIG_IGN): the kernel reaps this process's children at their exit.
    /// Survives exec.
    var ignoresSIGCHLD = false
    /// SIGCHLD's action has SA_NOCLDWAIT: same effect; cleared by exec.
    var noChildWait = false
    /// The process called unshare or setns (seen by the seccomp filter): its pid namespace for
    /// children may differ from its own since, so its children's are read from /proc. Survives
    /// exec, as the namespace does.
    var namespaceCalls = false
    var autoReapsChildren: Bool { ignoresSIGCHLD || noChildWait }
}

/// The tracer's view of the live tree: tasks by tid, processes by pid.
struct TaskTable {
    var tasks: [Int: TaskInfo] = [:]
    var procs: [Int: ProcInfo] = [:]
    /// Stops and exits of tids no fork event has named yet (the fork-event/first-stop race).
    var earlyStops: Set<Int> = []
    var earlyExits: [Int: (status: Int32, t: Int64)] = [:]
    /// Threads an exec ended (recorded then) whose death the kernel may still report.
    var endedByExec: Set<Int> = []

    mutating func addProcess(pid: Int, parent: Int, creator: Int? = nil, at t: Int64 = 0) {
        var p = ProcInfo(pid: pid, parent: parent, bornAt: t, threads: [pid])
        // Signal actions are copied from the creating process.
        if let c = creator.flatMap({ procs[$0] }) {
            p.ignoresSIGCHLD = c.ignoresSIGCHLD
            p.noChildWait = c.noChildWait
        }
        procs[pid] = p
        tasks[pid] = TaskInfo(tid: pid, pid: pid, bornAt: t)
        procs[parent]?.children.insert(pid)
    }

    mutating func addThread(tid: Int, pid: Int, at t: Int64 = 0) {
        tasks[tid] = TaskInfo(tid: tid, pid: pid, bornAt: t)
        procs[pid]?.threads.insert(tid)
    }

    /// A process still running (not yet exited) that is traced.
    func isLiveTraced(_ pid: Int) -> Bool {
        guard let p = procs[pid] else { return false }
        return !p.exited
    }
}
