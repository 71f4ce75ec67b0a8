import CProcTrace
@preconcurrency import Glibc
import Lifecycle

/// Why a recording ended before every traced process was gone (`end.reason`).
public enum EndReason: String, Sendable {
    /// A second Ctrl-C (SIGINT) to proctrace.
    case interrupted = "SIGINT"
    case terminated = "SIGTERM"
    case hangup = "SIGHUP"
    /// `--until-root-exits`: the command itself exited.
    case rootExited = "root-exited"

    /// proctrace's exit status for an end by signal (128+N, as a shell reports it).
    public var signalExitCode: Int32? {
        switch self {
        case .interrupted: return 128 + SIGINT
        case .terminated: return 128 + SIGTERM
        case .hangup: return 128 + SIGHUP
        case .rootExited: return nil
        }
    }
}

/// How long a job-control stop request waits for the workload to stop before proctrace
/// gives up on stopping itself (the workload handles or ignores the signal).
private let stopRequestPatience: Int64 = 2_000_000_000
/// How long after the root's exit proctrace says what it left running.
private let leftoversDelay: Int64 = 200_000_000
/// How long after a first Ctrl-C that did not end the recording proctrace says how to end it.
private let hintDelay: Int64 = 500_000_000
/// How long the detach waits for every task to reach a stop it can be detached from.
private let detachPatience: Int64 = 1_000_000_000

extension Recorder {
    // MARK: - The one place a stopped task is resumed

    /// Acts on a stop handler's decision: the only place a stopped task is resumed (or, once
    /// the recording is ending, detached). "The task is gone" (`ESRCH`: killed while stopped,
    /// its exit queued) is expected; any other failure is counted (`end.ptrace_failures`) and
    /// said on stderr.
    func resume(_ tid: Int, _ decision: Resume) {
        if detaching {
            // Letting go: with the signal it was about to receive; a task in a group-stop
            // stays stopped.
            switch decision {
            case .run(let sig), .deliverAndStopAgain(let sig), .syscallStep(let sig): detachTask(tid, sig)
            case .toSyscallExit, .listen: detachTask(tid, 0)
            case .hold: break   // an unknown new child: detachAll lets it go
            }
            return
        }
        switch decision {
        case .run(let sig):
            check(kernel.cont(tid, signal: sig), "PTRACE_CONT", tid)
        case .toSyscallExit:
            check(kernel.syscall(tid, signal: 0), "PTRACE_SYSCALL", tid)
        case .syscallStep(let sig):
            check(kernel.syscall(tid, signal: sig), "PTRACE_SYSCALL", tid)
        case .listen:
            check(kernel.listen(tid), "PTRACE_LISTEN", tid)
        case .deliverAndStopAgain(let sig):
            if check(kernel.interrupt(tid), "PTRACE_INTERRUPT", tid) {
                check(kernel.cont(tid, signal: sig), "PTRACE_CONT", tid)
            }
        case .hold:
            break
        }
    }

    private func detachTask(_ tid: Int, _ sig: Int32) {
        check(kernel.detach(tid, signal: sig), "PTRACE_DETACH", tid)
        detachedTasks.insert(tid)
    }

    /// Tells a ptrace request's result: true when it was done. A task that is gone (`ESRCH`)
    /// is not a failure: its exit is on its way to the loop.
    @discardableResult
    func check(_ result: Int, _ request: String, _ tid: Int) -> Bool {
        if result >= 0 { return true }
        if result == -Int(ESRCH) { return false }
        ptraceFailures += 1
        if ptraceFailures <= 5 {
            Self.warn("proctrace: warning: \(request) of task \(tid) failed (\(Tracee.errnoName(Int32(-result)))): "
                      + "it may stay stopped; the end line counts such failures (ptrace_failures)")
        }
        return false
    }

    // MARK: - Signals to proctrace

    /// Acts on the signals proctrace received (Ctrl-C, SIGTERM, Ctrl-Z …) and on the root's
    /// exit. Returns true when the recording is over and the loop must end.
    func control(at t: Int64) -> Bool {
        let stopSig = pt_control_take_stop()
        if stopSig != 0, stopRequest == nil { stopRequest = (stopSig, t) }
        let term = pt_control_terminate()
        if term != 0 {
            endEarly(term == SIGHUP ? .hangup : .terminated)
            return true
        }
        let interrupts = pt_control_interrupts()
        // Attached to processes that did not get the Ctrl-C: the first one ends the recording.
        if interrupts >= 2 || (attachMode && interrupts >= 1) {
            endEarly(.interrupted)
            return true
        }
        if interrupts == 1 && hintDue == nil { hintDue = t + hintDelay }
        if let due = hintDue, !interruptHinted, t >= due {
            // The workload (or what it left running) ignores Ctrl-C.
            interruptHinted = true
            Self.warn("proctrace: still recording after Ctrl-C; press Ctrl-C again to stop recording and detach (what still runs keeps running)")
        }
        if rootStatus != nil && leftoversDue == nil {
            leftoversDue = t + leftoversDelay
            if options.untilRootExits {
                leftoversTold = true
                if !liveProcessIDs().isEmpty {
                    endEarly(.rootExited)
                    return true
                }
            }
        }
        if let due = leftoversDue, !leftoversTold, t >= due {
            leftoversTold = true
            // A process killed along with the root has no command line left.
            let running = liveProcesses().filter { $0.command != "?" }
            if !running.isEmpty { tellLeftovers(running) }
        }
        if let request = stopRequest {
            if workloadStopped() {
                stopRequest = nil
                flush()
                // While proctrace is stopped its state reader is too: first let it read the
                // workload's switches into the stop (at most 0.1 s), so that a kernel buffer
                // filling up meanwhile (counted in `lost`) cannot take them.
                if let states {
                    let until = monotonicNow() + 100_000_000
                    states.drainSoon()
                    while states.watermark < t && monotonicNow() < until { usleep(1000) }
                }
                // The shell waits on the front: it stops first, then proctrace.
                pt_front_stop(request.sig)
                pt_control_stop_self(request.sig)
                // Continued (`fg`, `bg`): the workload gets the same SIGCONT and is resumed
                // by its own group-stop end.
            } else if t - request.at > stopRequestPatience {
                stopRequest = nil
                Self.warn("proctrace: \(SignalName.name(Int(request.sig))): the workload did not stop (it handles or " +
                    "ignores the signal); proctrace keeps recording")
            }
        }
        // Wake up for what is due, even if the workload does nothing meanwhile.
        let due = [interruptHinted ? nil : hintDue, leftoversTold ? nil : leftoversDue].compactMap { $0 }.min()
        if let due { kernel.wakeAfter(ms: Int(max(1, (due - clock.now()) / 1_000_000 + 1))) }
        return false
    }

    /// Every traced task in proctrace's own process group (those the terminal signalled with
    /// it) is in a group-stop.
    private func workloadStopped() -> Bool {
        let mine = getpgrp()
        var pgids: [Int: pid_t] = [:]
        for task in table.tasks.values where !task.groupStopped {
            let pgid = pgids[task.pid] ?? pid_t(kernel.processGroup(of: task.pid))
            pgids[task.pid] = pgid
            if pgid == mine { return false }
        }
        return true
    }

    /// Traced processes that have not exited.
    func liveProcessIDs() -> [Int] { table.procs.values.filter { !$0.exited }.map(\.pid).sorted() }

    /// Traced processes that have not exited, with their command lines.
    func liveProcesses() -> [(pid: Int, command: String)] {
        liveProcessIDs().map { pid in
            let argv = kernel.commandLine(of: pid)?.argv ?? []
            return (pid, argv.isEmpty ? "?" : Self.printable(argv.joined(separator: " "), limit: 70))
        }
    }

    /// A command line fit for a terminal: control bytes escaped (as `tree` does), long ones cut.
    static func printable(_ s: String, limit: Int) -> String {
        let out = TerminalText.escape(s)
        return out.count > limit ? String(out.prefix(limit - 1)) + "…" : out
    }

    /// The command exited but processes remain: say which, and how to stop.
    private func tellLeftovers(_ live: [(pid: Int, command: String)]) {
        let name = basename(options.command[0])
        var lines = ["proctrace: \(name) exited (\(rootStatus.map { "\($0)" } ?? "?")); still recording \(live.count) " +
            "process\(live.count == 1 ? "" : "es") it left running:"]
        for p in live.prefix(10) { lines.append("  \(p.pid)  \(p.command)") }
        if live.count > 10 { lines.append("  … and \(live.count - 10) more") }
        lines.append("proctrace: the recording ends when they do; Ctrl-C twice ends it now and leaves them running " +
            "(--until-root-exits does that when the command exits)")
        Self.warn(lines.joined(separator: "\n"))
    }

    // MARK: - Ending early

    /// Ends the recording while traced processes remain: the `end` line gets `reason` and the
    /// processes left running (`detached`). Spawned tasks carry the seccomp filter, so they
    /// are tended once the trace is written (`tendLeftovers`, Recorder+Tending.swift); without
    /// a front to give the shell its prompt back meanwhile, they are detached.
    func endEarly(_ reason: EndReason) {
        ringCutoff = clock.now()
        guard tendsLeftovers else { return detachAll(reason) }
        endReason = reason
        flush()
        detachedPids = liveProcessIDs()
        tendingNeeded = !table.tasks.isEmpty || !table.earlyStops.isEmpty
    }

    /// Lets every traced task go, running (or stopped, if it was job-control stopped),
    /// unharmed: a task in a ptrace stop is detached with the signal it was about to get;
    /// a running one is interrupted first (PTRACE_INTERRUPT), then detached from that stop.
    /// Events met on the way are recorded as usual.
    func detachAll(_ reason: EndReason) {
        if ringCutoff == nil { ringCutoff = clock.now() }
        endReason = reason
        detaching = true
        flush()
        for tid in table.earlyStops.sorted() { detachTask(tid, 0) }
        table.earlyStops.removeAll()
        for tid in table.tasks.keys.sorted() { check(kernel.interrupt(tid), "PTRACE_INTERRUPT", tid) }
        let deadline = monotonicNow() + detachPatience
        while table.tasks.keys.contains(where: { !detachedTasks.contains($0) }) {
            let (r, status) = kernel.wait(-1, extraFlags: WNOHANG, control: false)
            if r < 0 { break }
            if r == 0 {
                if monotonicNow() > deadline { break }
                usleep(1000)
                continue
            }
            let t = clock.now()
            handle(r, status: status, t: t)
            for tid in table.earlyStops { detachTask(tid, 0) }   // a new child's first stop
            table.earlyStops.removeAll()
            if !pending.isEmpty { flush() }
        }
        let stuck = table.tasks.keys.filter { !detachedTasks.contains($0) }.sorted()
        if !stuck.isEmpty {
            Self.warn("proctrace: \(stuck.count) task(s) did not reach a stop within a second " +
                "(\(stuck.prefix(10).map(String.init).joined(separator: ", "))): " +
                "they stay traced until proctrace exits, " + (attachMode ? "which releases them" : "which kills them (PTRACE_O_EXITKILL)"))
        }
        detachedPids = liveProcessIDs()
    }
}
