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
    /// The kernel returned ERESTART*: the call will be restarted, still one wait.
    var restarting = false
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
