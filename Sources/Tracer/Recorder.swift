import CProcTrace
@preconcurrency import Glibc
import Lifecycle

/// What `proctrace record` was asked to do.
public struct RecordOptions: Sendable {
    public var command: [String]
    public var output: String
    public var force = false
    public var states: StateSource = .none
    public var recordEnvironment = false
    /// How long to wait, after the last traced process is gone, for an untraced adoptive
    /// parent (such as pid 1) to reap the zombies it inherited.
    public var reapTimeout: Double = 10
    /// Kill the workload if proctrace dies (PTRACE_O_EXITKILL): a traced workload without its
    /// tracer would see its wait calls fail with ENOSYS.
    var exitKill = true
    /// Stop following when the command itself exits: detach from what it left running.
    public var untilRootExits = false
    /// `record -p`: attach to these running processes (and their descendants) instead of
    /// running a command.
    public var attach: [Int] = []
    /// Where wait4 calls come from with scheduler states on (`--wait-source`).
    public var waitSource: WaitSource = .ring

    public init(command: [String], output: String) {
        self.command = command
        self.output = output
    }
}

/// Where a recording reads wait4 calls from (`record --wait-source`).
public enum WaitSource: String, Sendable, CaseIterable {
    /// A seccomp stop at each call's entry and a syscall-exit stop (two stops per call).
    case ptrace
    /// With `--states sched`, in spawn mode, in the initial pid namespace: the scheduler's ring
    /// (`syscalls/sys_enter_wait4`, `sys_exit_wait4`); calls with WUNTRACED, WCONTINUED or
    /// WNOWAIT still stop. Anywhere else it falls back on `ptrace`.
    case ring
}

/// How a recording ended.
public struct RecordResult: Sendable {
    /// The root process's status; nil when proctrace detached from it while it ran.
    public var rootStatus: ExitStatus?
    /// Lines written, `end` included.
    var lines: Int
    /// Events lost, by what they were (`lost` in the `end` line is their sum).
    public var lost: Int { lostLifecycle + lostStates }
    /// Lifecycle events (fork, exec, wait, exit, reap …) that could not be recorded.
    public var lostLifecycle: Int
    /// Scheduler state events lost (the kernel's buffer overran, or the feed failed).
    public var lostStates: Int
    /// Set when the command could not be executed at all (errno of execve).
    public var execErrno: Int32?
    /// Why the recording ended before every traced process was gone (nil: it did not).
    public var endReason: EndReason?
    /// Processes left running when proctrace detached.
    public var detached: [Int]
    /// Writing the trace failed: it is incomplete (no `end` line).
    public var writeFailure: WriteFailure?
    /// Where the trace went ("standard output" for `-o -`).
    public var output: String
    /// ptrace requests that failed while the task was there (`end.ptrace_failures`).
    public var ptraceFailures = 0
    /// wait4 calls were read from the scheduler's ring (`--wait-source ring` took effect): a
    /// loss there may have taken waits and reaps too.
    public var waitsFromRing = false
    /// The tracer's pid when it stays behind to tend what the recording left running
    /// (`Recorder.tendLeftovers`); nil when nothing is left or it was detached.
    public var tending: Int?
}

/// The process the user's shell waits on.
public enum Front {
    /// Splits `record` into the front (the pid the shell knows, which waits, relays the exit
    /// status, forwards SIGINT/SIGTERM/SIGHUP and stops with the job) and the tracer, which
    /// returns from this call and does the recording. Call it first, while the process has one
    /// thread. Without a front (proctrace is its pid namespace's init, or fork failed; `record -p`
    /// does not split) the recording runs as one process and an early end detaches what remains.
    public static func split() {
        let r = pt_front_split()
        if r < 0 {
            Recorder.warn("proctrace: warning: cannot fork the front process (\(Tracee.errnoName(-r))): an early end will detach what still runs")
        }
    }
}

/// Records a workload's whole process tree under ptrace into a proctrace/1 trace.
/// All ptrace requests happen on the calling thread, which must stay the same throughout
/// (the kernel accepts requests only from the thread that attached).
public final class Recorder {
    let options: RecordOptions
    let writer: TraceWriter
    let clock = TraceClock()
    let elf = ELFFacts()
    let selfPid = Int(getpid())
    /// ptrace, the tracees' memory and /proc: the real kernel, or a script in tests.
    let kernel: any Kernel
    var watcher: AdoptionWatcher!
    var merger: TraceMerger!
    /// Where scheduler states come from (nil with `--states none`).
    var states: (any StateFeed)?
    var table = TaskTable()
    /// Where each process sits among nested pid namespaces, to translate the pids it reports.
    var pids = PidTranslator()
    /// Zombies whose parent died and that were already gone when proctrace looked for their
    /// new parent (it reaped them at once): the parent that died, and when.
    var vanishedOrphans: [Int: (from: Int, t: Int64, probe: Bool)] = [:]
    var rootPid = 0
    var rootStatus: ExitStatus?
    /// `record -p`: the status of the first pid attached, once it exited (for the `end` line).
    var attachedRootStatus: ExitStatus?
    var execErrno: Int32?
    var errFD: Int32 = -1
    var ptraceOptions: Int = 0
    var pending: [TraceEvent] = []
    // Attach mode (`record -p`, Recorder+Attach.swift).
    var attachMode: Bool { !options.attach.isEmpty }
    /// Failed execs are seen through seccomp stops at execve/execveat. Not in attach mode (no
    /// filter can be put into a running process), nor with --until-root-exits, whose detach is
    /// planned: a process left running with the filter could no longer exec (ENOSYS).
    var recordsFailedExecs: Bool { !attachMode && !options.untilRootExits }
    /// The filter stops unshare and setns exactly when it stops execs (a process left running
    /// after a planned detach must be able to make them too).
    var seesNamespaceCalls: Bool { recordsFailedExecs }
    var seizedTids: [Int] = []
    var attachStopped: Set<Int> = []
    var attachGroupStopped: Set<Int> = []
    var attachExits: [(tid: Int, status: Int32)] = []
    /// A pidfd per traced process, opened while it is stopped (at the attach or its fork), to
    /// see the moment its parent reaps it: attach mode sees no wait calls.
    var pidfds: [Int: Int32] = [:]
    /// ptrace stops and exits handled (reported with PROCTRACE_RUSAGE).
    var stopsHandled = 0
    // Waits read from the scheduler's ring (Recorder+RingWaits.swift).
    /// Where the source hands them over (nil unless `--wait-source ring` with sched states).
    var ringInbox: RingWaitInbox?
    /// Whether the root's filter lets those waits run unstopped (decided before it runs).
    var ringWaits = false
    /// Ring waits entered and not yet returned, by tid.
    var ringWaitsOpen: [Int: PendingWait] = [:]
    /// Tasks gone from the table whose waits the ring may still report.
    var ringGhosts: [Int: RingGhost] = [:]
    /// Zombies whose pid a new task took before their reap was applied: the reap's latest time.
    var ringReapBefore: [Int: Int64] = [:]
    /// When an early end was decided: later ring records are not applied.
    var ringCutoff: Int64?
    /// `applyRingWaits` is running (it is not re-entered).
    var applyingRingWaits = false
    // Ends at the kernel's time (Recorder+RingExits.swift), with ring waits only.
    /// `sched_process_exit` of a non-leader thread applied before the loop collected its end.
    var ringThreadEnds: [Int: Int64] = [:]
    /// The group's death (`group_dead`) applied before the loop collected the process's end.
    var ringGroupDeaths: [Int: Int64] = [:]
    /// End lines submitted at the collection time whose kernel time is still to come, by the
    /// tid of the thread (`thread … exit`) or the pid of the process (`exit`).
    var ringQueuedEnds: [Int: RingQueuedEnd] = [:]
    /// Merger holds (`RingWaitInbox.holdEnd`) to release at the next `flush`.
    var ringEndReleases: [Int] = []
    /// The time of the last line emitted about each process and each thread (the floor of its
    /// end line), kept only with ring exits.
    var lastLineOfPid: [Int: Int64] = [:]
    var lastLineOfTid: [Int: Int64] = [:]
    /// End lines stamped at the kernel's time, and those the floor put later.
    var ringEndsExact = 0
    var ringEndsFloored = 0
    /// End lines whose kernel time came when they were no longer queued (kept their stamp).
    var ringEndsMissed = 0
    /// End lines that kept the collection's stamp: their line gone when the record came
    /// (`ringEndsMissed`), the record lost or not applicable (`RingExitSkip`). In the `end`
    /// line as `ends_collected` when above 0.
    var ringEndsCollected = 0
    /// `sched_process_exit` records of traced tasks that were not applied, by reason
    /// (`RingExitSkip`), and how far past the collection the late ones came (ns).
    var ringExitsSkipped: [RingExitSkip: Int] = [:]
    var ringExitsLateBy: [Int64] = []
    /// Every record handed over up to this time has been applied, or held back on purpose
    /// (`applyRingWaits(holdingReapOf:)`): the time of the last snapshot the loop applied.
    var ringSeenUpTo: Int64 = .min
    /// Times the loop waited for the ring to catch up (`syncRing`), and ran out of time.
    var ringSyncs = 0
    var ringSyncTimeouts = 0
    /// The longest of them (ns).
    var ringSyncLongest: Int64 = 0
    // After the ring closed (Recorder+RingClosed.swift).
    /// The state feed stopped for good with ring waits on: wait4 calls that run unstopped are
    /// no longer seen.
    var ringClosed = false
    /// Zombies whose reap an unseen wait will do, watched through a pidfd: pid → pidfd.
    var unseenReaps: [Int: Int32] = [:]
    /// While a death is handled: the latest time a reap seen meanwhile may carry.
    var unseenReapCap: Int64?
    /// Reaps seen through a pidfd after the ring closed, and waits the close left open.
    var unseenReapsSeen = 0
    var ringWaitsLeftOpen = 0
    /// The buffer of an exec event's read of the new stack, kept from exec to exec.
    let execScratch = ExecScratch()
    /// An exec whose event is written once its task runs again (EventLoop.swift).
    var execAfterResume: ExecSeen?
    /// ptrace requests that failed for another reason than the task being gone.
    var ptraceFailures = 0
    /// An early end leaves the remaining tasks to be tended rather than detached: they carry
    /// the seccomp filter, and a front process lets the shell have its prompt back meanwhile
    /// (without a front, when proctrace is its pid namespace's init, they are detached).
    /// Attached processes carry no filter: they are detached.
    lazy var tendsLeftovers = pt_front_fd() >= 0 && !attachMode
    /// The recording ended early with tasks left to tend (`tendLeftovers`).
    var tendingNeeded = false
    // Signals to proctrace and ending early (Control.swift).
    var detaching = false
    var detachedTasks: Set<Int> = []
    var detachedPids: [Int] = []
    var endReason: EndReason?
    var stopRequest: (sig: Int32, at: Int64)?
    var interruptHinted = false
    var leftoversTold = false
    /// When to say what still runs after the root's exit, and when to say that a first
    /// Ctrl-C did not end the recording (a moment later, so as not to name what is dying).
    var leftoversDue: Int64?
    var hintDue: Int64?

    public convenience init(_ options: RecordOptions) throws(RecordError) {
        try self.init(options, kernel: LiveKernel())
    }

    init(_ options: RecordOptions, kernel: any Kernel) throws(RecordError) {
        guard !options.command.isEmpty || !options.attach.isEmpty else { throw RecordError("no command to record") }
        if let problem = ProcFS.namespaceProblem() { throw RecordError(problem) }
        if !options.attach.isEmpty, let problem = Self.attachProblem(options.attach) { throw RecordError(problem) }
        self.options = options
        self.kernel = kernel
        writer = try TraceWriter(path: options.output, force: options.force)
    }

    /// Runs the workload to the end of its last process and writes the trace.
    public func run() throws(RecordError) -> RecordResult {
        // Before any thread starts, so that every thread but this one blocks them.
        pt_control_block()
        let t0 = monotonicNow()
        begin()
        let t1 = monotonicNow()
        if attachMode {
            // Never kill what proctrace did not start (no PTRACE_O_EXITKILL).
            ptraceOptions = pt_default_options(0)
            try attachAndRecord()
            return wrapUp(finish(startedStatesIn: t1 - t0))
        }
        ptraceOptions = pt_default_options(options.exitKill ? 1 : 0)
        let argv = options.command
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) }
        cArgs.append(nil)
        defer { for p in cArgs { free(p) } }
        let spawnT = clock.now()
        var goFD: Int32 = -1
        // With the trace on standard output, the workload's own output goes to stderr.
        let pid = pt_spawn_traced(argv[0], cArgs, ptraceOptions, recordsFailedExecs ? 3 : 1, writer.toStdout ? 2 : -1, &errFD, &goFD)
        if pid < 0 {
            watcher.finish(timeout: 0)
            merger.finish()
            writer.close()
            throw RecordError("cannot start \(argv[0]) under ptrace: \(String(cString: strerror(-pid)))")
        }
        // The state source must follow the root before it runs, or its children's
        // scheduler events would not be recorded.
        states?.track(tid: Int(pid), pid: Int(pid), at: clock.now())
        // The wait4 tracepoints are on (enabled with the others by that track): the root's
        // filter lets the waits they report run without stops.
        ringWaits = ringInbox != nil && (states as? SchedSource)?.ringWaitsOn.load(ordering: .sequentiallyConsistent) == true
        if !ringWaits { ringInbox = nil }
        pt_spawn_release_waits(goFD, ringWaits ? 1 : 0)
        pt_control_install()
        follow(root: Int(pid), at: spawnT)
        eventLoop()
        return wrapUp(finish(startedStatesIn: t1 - t0))
    }

    /// After the `end` line: proctrace's own signal handlers, the spawn pipe, and its costs
    /// when PROCTRACE_RUSAGE asks.
    private func wrapUp(_ result: RecordResult) -> RecordResult {
        // When the tracer stays behind, its handlers stay until pt_tend_begin ignores those
        // signals: a third Ctrl-C meanwhile must not kill it (and what it tends).
        if !tendingNeeded { pt_control_uninstall() }
        if errFD >= 0 { close(errFD) }
        if getenv("PROCTRACE_RUSAGE") != nil {
            var ru = rusage()
            getrusage(RUSAGE_SELF.rawValue, &ru)
            let user = Double(ru.ru_utime.tv_sec) + Double(ru.ru_utime.tv_usec) / 1e6
            let sys = Double(ru.ru_stime.tv_sec) + Double(ru.ru_stime.tv_usec) / 1e6
            var syncs = ringWaits ? ", ring syncs \(ringSyncs) (\(ringSyncTimeouts) ran out of time, the longest \(ringSyncLongest / 1000) us), " +
                "ends at the kernel's time \(ringEndsExact) (+\(ringEndsFloored) raised to an earlier line, \(ringEndsMissed) gone before their time came; " +
                "exit records \(ringExitSkipSummary))" : ""
            if ringClosed { syncs += ", ring closed: \(ringWaitsLeftOpen) waits left open, \(unseenReapsSeen) reaps seen by pidfd" }
            let split = pt_front_tid_caches() >= 0 ? ", thread-id caches forgotten at the split \(pt_front_tid_caches())" : ""
            Self.warn("proctrace self: user \(user) s, sys \(sys) s, context switches \(ru.ru_nvcsw)+\(ru.ru_nivcsw), page faults \(ru.ru_minflt), " +
                "ptrace stops \(stopsHandled)\(syncs)\(split)")
            if let sched = states as? SchedSource { Self.warn("proctrace clock: \(sched.clockMode), \(sched.clock.summary)") }
        }
        return result
    }

    /// Starts the state source, the merger and the reap watcher, and writes the header.
    func begin() {
        startStates()
        merger = TraceMerger(writer: writer, source: states, clock: clock, ringWaits: ringInbox)
        watcher = AdoptionWatcher(merger: merger, clock: clock)
        writeHeader()
        flush()
    }

    /// Follows the root, spawned (seized before it ran) at `t`, and writes its `spawn` line.
    func follow(root pid: Int, at t: Int64) {
        rootPid = pid
        table.addProcess(pid: rootPid, parent: selfPid)
        pids.learnRoot(pid: rootPid)
        // No first stop to wait for: a task seized before it runs does not stop (only the
        // children of traced tasks do), so the root's first PTRACE_EVENT_STOP is a real
        // group-stop (Ctrl-Z) and must be listened to, not resumed.
        table.procs[rootPid]?.ignoresSIGCHLD = kernel.ignores(rootPid, signal: SIGCHLD)
        let pgid = kernel.processGroup(of: pid), sid = kernel.session(of: pid)
        // 0 is a real answer: the kernel's own session and group (a pid 1 that never called
        // setsid), or a leader outside this pid namespace. Only a failed call (-1) is omitted.
        emit(TraceEvent(t: t, .spawn(pid: rootPid, argv: options.command, ppid: selfPid, pgid: pgid >= 0 ? pgid : nil,
                                     sid: sid >= 0 ? sid : nil)))
        flush()
    }

    /// Once the loop is over: waits for the last adoptive reaps, stops the state source and
    /// writes the `end` line.
    func finish(startedStatesIn statesStart: Int64 = 0) -> RecordResult {
        flush()
        for fd in pidfds.values { close(fd) }
        pidfds = [:]
        let t2 = monotonicNow()
        // After an early end the user is waiting for the prompt: what an adopter has not reaped
        // by then is recorded `unobserved`.
        watcher.finish(timeout: endReason == nil ? options.reapTimeout : min(options.reapTimeout, 0.2))
        flush()
        let t3 = monotonicNow()
        merger.finish(afterStop: { finishRingWaits() })
        let t4 = monotonicNow()
        if getenv("PROCTRACE_TIMES") != nil {
            Self.warn("proctrace times: states start \(statesStart / 1000) us, loop end→watcher done \((t3 - t2) / 1000) " +
                "us, merger/states stop \((t4 - t3) / 1000) us")
        }
        let lostStates = (states?.lost ?? 0) + merger.dropped
        let lostLifecycle = writer.lostCount
        // Where the waits came from, when not from ptrace stops: a loss in the ring may have taken some.
        var endExtra = JSONObject()
        if ringWaits { endExtra.append("wait_source", .string(WaitSource.ring.rawValue)) }
        if ringWaits && ringEndsCollected > 0 { endExtra.append("ends_collected", .int(Int64(ringEndsCollected))) }
        writer.write(TraceEvent(t: clock.now(), .end(status: rootStatus ?? attachedRootStatus, events: writer.lineCount + 1, lost: lostLifecycle + lostStates,
                                                     reason: endReason?.rawValue, detached: endReason == nil ? nil : detachedPids,
                                                     ptraceFailures: ptraceFailures > 0 ? ptraceFailures : nil), extra: endExtra))
        writer.close()
        var result = RecordResult(rootStatus: rootStatus, lines: writer.lineCount, lostLifecycle: lostLifecycle, lostStates: lostStates,
                                  execErrno: execErrno, endReason: endReason, detached: detachedPids, writeFailure: writer.failure,
                                  output: writer.path, ptraceFailures: ptraceFailures, tending: tendingNeeded ? selfPid : nil)
        result.waitsFromRing = ringWaits
        return result
    }

    /// Queues an event; it is written once the stopped task has been resumed, so writing
    /// the trace stays off the workload's critical path.
    func emit(_ e: TraceEvent) {
        if ringWaits { noteLine(e) }
        pending.append(e)
    }

    func flush() {
        merger.submit(pending)
        pending.removeAll(keepingCapacity: true)
        if !ringEndReleases.isEmpty {
            // The end lines stamped at held times are in the merger's queue now.
            for key in ringEndReleases { ringInbox?.releaseEnd(key) }
            ringEndReleases.removeAll()
        }
    }

    private func writeHeader() {
        let host = ProcFS.hostInfo()
        let cwdString = getcwd(nil, 0).map { p in defer { free(p) }; return String(cString: p) } ?? ""
        var env: [String]?
        if options.recordEnvironment {
            env = []
            var p = environ
            while let s = p.pointee { env?.append(String(cString: s)); p += 1 }
        }
        var argv = options.command
        var attached: [Int]?
        if attachMode {
            // What was attached to: the pids given, and the first one's command as the argv.
            attached = options.attach
            argv = ProcFS.cmdline(options.attach[0])?.argv ?? []
        }
        emit(TraceEvent(t: 0, .trace(schema: "proctrace/1", argv: argv, cwd: cwdString, start: Self.rfc3339Now(),
                                     host: HostInfo(kernel: host.kernel, arch: host.arch, cpus: host.cpus),
                                     tracer: "proctrace \(TracerVersion.string)", states: states?.source ?? .none, env: env, pid: Int(selfPid),
                                     // Whether an absence of failed execs means there were none.
                                     failedExecs: recordsFailedExecs, attached: attached)))
    }

    /// Starts the state source the options ask for, falling back from the scheduler's
    /// tracepoints to sampling /proc (saying so once) when they are not permitted.
    private func startStates() {
        var mode = options.states
        if mode == .sched {
            if let problem = SchedSource.permissionProblem() {
                Self.warn("proctrace: scheduler states unavailable (\(problem)); sampling /proc instead (--states sampled)")
                mode = .sampled
            } else {
                var o = SchedSource.Options()
                // Diagnostic: a ring this small (KB per CPU) overruns under a flood, on purpose.
                if let v = getenv("PROCTRACE_SCHED_BUFFER_KB").flatMap({ Int(String(cString: $0)) }), v > 0 { o.bufferSizeKB = v }
                // How long the instance waits, parked, for the next recording (0: removed at once).
                if let v = getenv("PROCTRACE_PARK_MS").flatMap({ Int(String(cString: $0)) }), v >= 0 { o.parkMillis = v }
                // With a front, the instance is removed after the front has let the shell go (`close`).
                o.deferRemoval = pt_front_fd() >= 0
                if options.waitSource == .ring && !attachMode {
                    ringInbox = RingWaitInbox()
                    o.waitInbox = ringInbox
                }
                let s = SchedSource(origin: clock.origin, options: o)
                do {
                    try s.start()
                    states = s
                    return
                } catch {
                    s.cleanup()
                    ringInbox = nil
                    Self.warn("proctrace: scheduler states unavailable (\(error)); sampling /proc instead (--states sampled)")
                    mode = .sampled
                }
            }
        }
        if mode == .sampled {
            let s = SampledStateSource(origin: clock.origin)
            do {
                try s.start()
                states = s
            } catch {
                Self.warn("proctrace: cannot sample /proc (\(error)); recording lifecycle events only")
            }
        }
    }

    static func warn(_ s: String) {
        StandardError.line(s)
    }

    static func rfc3339Now() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return rfc3339(ns: Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec))
    }

    /// A CLOCK_REALTIME time as RFC 3339 UTC with microseconds (`2026-11-30T08:15:45.123456Z`).
    /// The date is computed here (days to civil date, proleptic Gregorian): gmtime_r would load
    /// the time zone files on its first call, for a UTC date.
    static func rfc3339(ns: Int64) -> String {
        let (secs, frac) = ns.quotientAndRemainder(dividingBy: 1_000_000_000)
        let s = frac < 0 ? secs - 1 : secs
        let micros = (frac < 0 ? frac + 1_000_000_000 : frac) / 1000
        let (d, sod) = s.quotientAndRemainder(dividingBy: 86_400)
        let days = sod < 0 ? d - 1 : d
        let secOfDay = sod < 0 ? sod + 86_400 : sod
        // Howard Hinnant's civil_from_days: eras of 400 years from 0000-03-01.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        var out = ""
        out.reserveCapacity(27)
        func pad(_ v: Int64, _ width: Int) {
            let digits = String(v)
            for _ in digits.count..<max(width, digits.count) { out.append("0") }
            out += digits
        }
        pad(year, 4); out += "-"; pad(month, 2); out += "-"; pad(day, 2); out += "T"
        pad(secOfDay / 3600, 2); out += ":"; pad(secOfDay / 60 % 60, 2); out += ":"; pad(secOfDay % 60, 2); out += "."
        pad(micros, 6); out += "Z"
        return out
    }
}

public enum TracerVersion {
    public static let string = "0.1.0"
}
