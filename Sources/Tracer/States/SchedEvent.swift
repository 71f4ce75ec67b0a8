/// One scheduler tracepoint hit, decoded from the kernel's ring buffer.
struct SchedEvent: Equatable, Sendable {
    /// CLOCK_MONOTONIC nanoseconds (`SchedSource` converts the instance's trace clock; the
    /// ring decoder alone gives trace-clock time).
    var ts: Int64
    /// The CPU whose ring buffer held the event.
    var cpu: Int32
    /// The task current on `cpu` when the event was raised (0 = idle).
    var current: Int32
    var record: SchedRecord

    init(ts: Int64, cpu: Int32, current: Int32, record: SchedRecord) {
        self.ts = ts; self.cpu = cpu; self.current = current; self.record = record
    }
}

extension SchedEvent {
    /// The task a wakeup or exit is about (nil for the other events).
    var subject: Int32? {
        switch record {
        case let .wakeup(tid, _, _): return tid
        case let .exit(tid, _): return tid
        case .switchTask, .fork, .newTask, .exec, .lost, .waitEnter, .waitExit, .signalDeliver: return nil
        }
    }
}

/// The scheduler tracepoints the state machine understands (tids are kernel task ids).
enum SchedRecord: Equatable, Sendable {
    /// `sched_switch`: `prev` leaves the CPU in `prevState` (0 = preempted), `next` gets it.
    case switchTask(prev: Int32, prevState: Int64, next: Int32)
    /// `sched_wakeup` (`isNew` false) or `sched_wakeup_new` (`isNew` true).
    case wakeup(tid: Int32, targetCPU: Int32, isNew: Bool)
    /// `sched_process_fork`: `parent` (a tid) created `child` (process or thread).
    case fork(parent: Int32, child: Int32)
    /// `task_newtask`: a task is being created (in its creator's context, just before
    /// `sched_process_fork`), with its clone flags: whether it is a thread.
    case newTask(tid: Int32, cloneFlags: UInt64)
    /// `sched_process_exit`: the task is exiting (raised in its own context).
    /// `groupDead`: it is the last of its process's threads (nil: the format has no `group_dead`).
    case exit(tid: Int32, groupDead: Bool? = nil)
    /// `sched_process_exec`: `pid` exec'd; `oldPid` ≠ `pid` when a non-leader thread exec'd
    /// and the kernel gave it the leader's id.
    case exec(pid: Int32, oldPid: Int32)
    /// Not a tracepoint: the ring buffer of `cpu` lost events here (a page flagged "missed
    /// events", `count` of them when the kernel stored the number).
    case lost(count: Int?)
    /// `sys_enter_wait4` of the current task: its target (in its own pid namespace's numbering)
    /// and options (the kernel reads an int).
    case waitEnter(upid: Int32, options: UInt32)
    /// `sys_exit_wait4` of the current task: the value returned (-ERESTART* when interrupted).
    case waitExit(ret: Int64)
    /// `signal:signal_deliver` to the current task, with the action the kernel takes: a handler
    /// (`handler` > 1: not SIG_DFL, SIG_IGN) and its `sa_flags`. For a call the signal
    /// interrupted (-ERESTARTSYS) this decides how it comes back: a handler without
    /// `SA_RESTART` makes it return EINTR; with it, or with no handler, the kernel restarts it.
    /// (`sys_exit_rt_sigreturn`, which would show the restored return value, is never emitted
    /// on x86-64: rt_sigreturn sets `orig_ax` to -1, and the syscall tracepoints skip that.)
    case signalDeliver(handler: UInt64, flags: UInt64)
}

/// What the state machine was fed, by kind, and how much of it was about no followed task:
/// the events a narrower event set or an event filter could keep out of the rings.
struct FeedCounts: Equatable, Sendable {
    var switches = 0, wakeups = 0, wakeupsNew = 0, forks = 0, newTasks = 0, exits = 0, execs = 0
    /// `sched_wakeup` of a task not followed (proctrace's own threads, woken by a tracee).
    var wakeupsOfOthers = 0
    /// Of those, the ones raised in the idle context (current 0).
    var wakeupsOfOthersFromIdle = 0
    /// `sched_process_exec` by a task that keeps its tid (only a non-leader's exec is used).
    var plainExecs = 0
    /// Wakeups of tasks not followed that still changed the output (through `current` or the
    /// CPU's pending idle wakeups): what keeping them out of the rings would have changed.
    var changedByOthers = 0

    /// Counts a wakeup, new or not.
    mutating func count(_ r: SchedRecord) {
        if case .wakeup(_, _, true) = r { wakeupsNew += 1 } else { wakeups += 1 }
    }

    var summary: String {
        "fed \(switches) sched_switch, \(wakeups) sched_wakeup (\(wakeupsOfOthers) of tasks not followed, " +
            "\(wakeupsOfOthersFromIdle) of them from idle; \(changedByOthers) changed a state), \(wakeupsNew) sched_wakeup_new, " +
            "\(forks) sched_process_fork, \(newTasks) task_newtask, \(exits) sched_process_exit, " +
            "\(execs) sched_process_exec (\(plainExecs) keeping their tid)"
    }
}
