import CProcTrace
@preconcurrency import Glibc
import Lifecycle

/// What the tracer knows of the tasks it tends after the recording ended: enough to resume
/// each stop the way the recording loop would, and nothing to record.
struct Tending {
    /// Tasks whose first stop has been seen or resumed.
    var known: Set<Int> = []
    /// New tasks named by a fork event whose first stop has not come yet.
    var awaitingFirstStop: Set<Int> = []
    /// Tasks in a group-stop (job control), listened to.
    var groupStopped: Set<Int> = []

    /// How to resume `tid` at this stop; nil for an exit.
    mutating func decide(_ tid: Int, status: Int32, newTask: () -> Int?) -> Resume? {
        guard pt_wifstopped(status) != 0 else {
            known.remove(tid)
            groupStopped.remove(tid)
            return nil
        }
        let sig = pt_wstopsig(status)
        switch Int((status >> 16) & 0xFFFF) {
        case Int(PT_EVENT_FORK), Int(PT_EVENT_VFORK), Int(PT_EVENT_CLONE):
            if let child = newTask(), !known.contains(child) { awaitingFirstStop.insert(child) }
            return .run
        case Int(PT_EVENT_STOP):
            if !known.contains(tid) || awaitingFirstStop.contains(tid) {
                // A new task's first stop, before or after its creator's fork event.
                known.insert(tid)
                awaitingFirstStop.remove(tid)
                return .run
            }
            if [SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU].contains(sig) {
                groupStopped.insert(tid)
                return .listen
            }
            groupStopped.remove(tid)
            return .run
        case 0 where sig == (SIGTRAP | 0x80):
            return .run   // the exit of a syscall the recording stopped at its entry
        case 0:
            // A signal on its way: delivered unchanged (back into the group-stop if it woke one).
            return groupStopped.contains(tid) && sig != SIGCONT ? .deliverAndStopAgain(signal: sig) : .run(signal: sig)
        default:
            // Seccomp stops (the call runs as if untraced), exec, exit events.
            return .run
        }
    }
}

extension Recorder {
    /// The recording ended early while traced processes remain (a second Ctrl-C, SIGTERM,
    /// SIGHUP, `--until-root-exits`). They carry proctrace's seccomp filter, which without a
    /// tracer fails their wait4/waitid/setsid/setpgid/rt_sigaction(SIGCHLD) with ENOSYS; so
    /// the tracer stays behind, tells the front (the process the shell waits on) to exit with
    /// `exitCode`, lets go of the terminal and its standard streams, and resumes every stop of
    /// what remains, recording nothing, until the last task is gone.
    ///
    /// The same goes for a normal end when the tracefs instance is still to be removed (the
    /// kernel takes ~0.1 s, `SchedSource.Options.deferRemoval`): the front exits first, so the
    /// shell, and a reader of the trace or of proctrace's output, need not wait for that. The
    /// trace is complete (its `end` line written, the file closed) before this is called.
    public func tendLeftovers(exitCode: Int32) {
        let source = states as? SchedSource
        // In a pid namespace other than the machine's the front waits for the removal: the
        // namespace's init may exit as soon as the front has, and the kernel would then kill the
        // tracer before it removed the instance (`SchedSource.helpersOutliveNamespace`).
        if let source, source.hasLeftInstance, !SchedSource.helpersOutliveNamespace { source.removeLeftInstance() }
        if tendingNeeded || ((source?.hasLeftInstance ?? false) && pt_front_fd() >= 0) {
            pt_tend_begin()
            pt_front_leave(exitCode)
        }
        source?.removeLeftInstance()
        if tendingNeeded { tend() }
    }

    /// Resumes every stop of the remaining tasks until none is left.
    func tend() {
        var state = Tending()
        for task in table.tasks.values {
            state.known.insert(task.tid)
            if task.groupStopped { state.groupStopped.insert(task.tid) }
            if task.awaitingFirstStop { state.awaitingFirstStop.insert(task.tid) }
        }
        // New children held at their first stop, their fork event not yet seen.
        for tid in table.earlyStops.sorted() {
            state.known.insert(tid)
            resume(tid, .run)
        }
        table.earlyStops.removeAll()
        while true {
            let (tid, status) = kernel.wait(-1, extraFlags: 0, control: false)
            if tid < 0 { break }   // ECHILD: the last one is gone
            if let decision = state.decide(tid, status: status, newTask: { kernel.eventMessage(tid).map { Int($0) } }) {
                resume(tid, decision)
            }
        }
    }
}
