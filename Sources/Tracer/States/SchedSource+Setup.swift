import CProcTrace
#if os(Linux)
@preconcurrency import Glibc
import Lifecycle
import Synchronization

/// Setting up the instance: its clock, buffers, control files and per-CPU pipes, the pid
/// filter and the events (enabled once the first task is followed), and, in a pid namespace,
/// learning the recorder's own global tid.
extension SchedSource {

    func setUp(_ r: inout ReaderState, _ path: String) throws {
        func set(_ file: String, _ value: String) throws {
            if let e = SmallFile.write("\(path)/\(file)", value) {
                throw SchedError(.tracefs, "cannot write \(value) to \(path)/\(file)", errno: e.rawValue)
            }
        }
        try set("tracing_on", "0")
        // The selected clock is the bracketed one: "[local] global counter … mono …".
        let clockName = SmallFile.text("\(path)/trace_clock").flatMap { text -> String? in
            guard let a = text.firstIndex(of: "["), let b = text[a...].firstIndex(of: "]") else { return nil }
            return String(text[text.index(after: a)..<b])
        }
        let waits = options.waitInbox != nil && options.kernelPidFilter && ProcFS.inInitialPidNamespace()
        let layout = try step("formats") { try SchedRingDecoder.loadLayout(eventsDir: "\(path)/events", waits: waits) }
        var calibrate = false
        let clockMode: String
        if clockName == "mono" {
            clockMode = "mono"
        } else if options.monoTraceClock || layout.printID == nil || layout.printBuf == nil
                    || !SchedSource.calibratableClocks.contains(clockName ?? "") {
            try set("trace_clock", "mono")
            clockMode = options.monoTraceClock ? "mono" : "mono (fallback: cannot calibrate trace clock \(clockName ?? "?"))"
        } else {
            calibrate = true
            clockMode = "\(clockName!) calibrated"
        }
        shared.withLock { $0.clockMode = clockMode }
        r.clock = SchedClock(identity: !calibrate)
        // Resizing waits for an RCU grace period; the kernel's default (1408 KB per CPU) holds
        // ~35,000 events per CPU, far more than arrive between two drains.
        if let kb = options.bufferSizeKB { try set("buffer_size_kb", String(kb)) }
        // The reader sleeps in poll(2) on the rings, which the kernel ends when one is this
        // full: a flood is drained early, and a quiet recording wakes the reader only at its
        // interval. Without the file, poll would wake it per event: the rings are not polled.
        if let percent = options.bufferPercent, SmallFile.write("\(path)/buffer_percent", String(percent)) == nil {
            pipesWake.store(true, ordering: .sequentiallyConsistent)
        }
        r.decoder = SchedRingDecoder(layout: layout)
        if let kb = SmallFile.text("\(path)/buffer_subbuf_size_kb").flatMap({ Int(String($0.filter(\.isNumber))) }) {
            r.pageSize = kb * 1024
        } else {
            r.pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        }
        // "1408" or, before the first use of the buffers, "7 (expanded: 1408)".
        if let text = SmallFile.text("\(path)/buffer_size_kb") {
            let kb = Int(text.split(separator: ":").last.map { $0.filter(\.isNumber) } ?? "") ?? 1408
            r.ringPages = max(1, kb * 1024 / r.pageSize)
        }
        let waitFiles = waits && r.decoder?.readsWaits == true ? SchedSource.waitEventFiles : []
        waitsReadable.store(!waitFiles.isEmpty, ordering: .sequentiallyConsistent)
        r.healthFDs = (["tracing_on"] + (SchedSource.eventFiles + waitFiles).map { "events/\($0)/enable" })
            .compactMap { file in
                let fd = open("\(path)/\(file)", O_RDONLY | O_CLOEXEC)
                return fd >= 0 ? (fd, file) : nil
            }
        if options.kernelPidFilter {
            // The events are enabled only once the first task is in the pid list
            // (`followFirst`): an instance with no list records the whole machine. The first
            // write of the list is cheap; any later one waits for an RCU grace period
            // (docs/states.md), so nothing is written to it before the root is known (a
            // placeholder pid written here made the root's write such a later one).
            try set("options/event-fork", "1")
        } else {
            try enableEvents(path)
        }
        let names = SmallFile.names(in: "\(path)/per_cpu") ?? []
        let cpus = names.compactMap { $0.hasPrefix("cpu") ? Int32($0.dropFirst(3)) : nil }.sorted()
        r.cpus = cpus
        shared.withLock { $0.cpus = cpus }
        try openPipes(&r, path)
        if calibrate {
            r.markerFD = open("\(path)/trace_marker", O_WRONLY | O_CLOEXEC)
        }
        try set("tracing_on", "1")
        let calibrationBegan = monotonicNow()
        var problem = calibrate ? step("calibration") { initialCalibration(&r) } : nil
        if calibrate && failCalibrationForTesting { problem = problem ?? "failed for testing" }
        let calibrationNanos = calibrate ? monotonicNow() - calibrationBegan : 0
        shared.withLock { $0.calibrationNanos = calibrationNanos }
        if let problem {
            // Calibration cannot be trusted here: pay for the mono clock (resets the buffers).
            try set("tracing_on", "0")
            for fd in r.fds { close(fd) }
            r.fds = []
            if r.markerFD >= 0 { close(r.markerFD); r.markerFD = -1 }
            try set("trace_clock", "mono")
            r.clock = SchedClock(identity: true)
            shared.withLock { $0.clockMode = "mono (fallback: \(problem))" }
            r.decoder?.markers = []
            try openPipes(&r, path)
            try set("tracing_on", "1")
        }
    }

    /// In a pid namespace: learns this thread's global tid from a marker it writes (the
    /// kernel records the writer's global tid), and has the kernel follow it, so that the
    /// workload's root, which this thread forks next, is followed from its fork.
    func enterNamespaceMode(_ r: inout ReaderState, _ path: String) throws {
        guard r.decoder?.layout.newTaskID != nil else {
            throw SchedError(.tracefs, "in a pid namespace, task/task_newtask is needed to pair the kernel's tids with ours")
        }
        if r.markerFD < 0 { r.markerFD = open("\(path)/trace_marker", O_WRONLY | O_CLOEXEC) }
        var me: Int32?
        for _ in 0..<20 where me == nil {
            if writeMarker(&r) {
                for _ in 0..<5 where me == nil {
                    _ = drainOnce(&r)
                    me = r.lastMarkerWriter
                    if me == nil { usleep(200) }
                }
            }
        }
        guard let me, me > 0 else { throw SchedError(.tracefs, "cannot learn proctrace's own tid from trace_marker") }
        shared.withLock {
            $0.ns = NamespaceRenumbering(selfGlobal: me)
            $0.machine.pidResolver = { _, _ in nil }
            $0.machine.stopOnLoss = true
        }
        loopSide.withLock { $0.namespaceMode = true }
        if options.kernelPidFilter { followFirst(path, tid: Int(me)) }
    }

    /// The tracepoints the source reads (under `events/`), each of which must stay enabled.
    static let eventFiles = ["sched/sched_switch", "sched/sched_wakeup", "sched/sched_wakeup_new", "sched/sched_process_fork",
                             "sched/sched_process_exit", "sched/sched_process_exec"]

    /// The wait4 tracepoints, enabled when the loop reads waits from the ring (`Options.waitInbox`).
    static let waitEventFiles = ["syscalls/sys_enter_wait4", "syscalls/sys_exit_wait4"]
    /// With them, when readable: how a wait that a signal interrupted comes back (EINTR or a
    /// restart). Without it the loop takes an entry with the same arguments for the restart.
    static let deliverEventFile = "signal/signal_deliver"

    /// Enables the tracepoints; from then on the reader's health checks require them.
    func enableEvents(_ path: String) throws {
        for ev in SchedSource.eventFiles {
            if let e = SmallFile.write("\(path)/events/\(ev)/enable", "1") {
                throw SchedError(.tracefs, "cannot write 1 to \(path)/events/\(ev)/enable", errno: e.rawValue)
            }
        }
        if waitsReadable.load(ordering: .sequentiallyConsistent) {
            // Without them (a write refused), waits stay on ptrace stops: the root's filter is
            // chosen after this (`Recorder.run`).
            let on = SchedSource.waitEventFiles.allSatisfy { SmallFile.write("\(path)/events/\($0)/enable", "1") == nil }
            if !on { for ev in SchedSource.waitEventFiles { SmallFile.write("\(path)/events/\(ev)/enable", "0") } }
            // (Not a health check's: a task then only loses the EINTR/restart distinction.)
            if on { _ = SmallFile.write("\(path)/events/\(SchedSource.deliverEventFile)/enable", "1") }
            ringWaitsOn.store(on, ordering: .sequentiallyConsistent)
        }
        // The clone flags of each new task: thread or process, exactly (optional: /proc otherwise).
        if access("\(path)/events/task/task_newtask/format", R_OK) == 0 { _ = SmallFile.write("\(path)/events/task/task_newtask/enable", "1") }
        eventsOn.store(true, ordering: .sequentiallyConsistent)
    }

    /// Puts the first task in the instance's (empty) pid list, then enables the events: the
    /// kernel records that task and, through `event-fork`, everything it creates.
    func followFirst(_ path: String, tid: Int) {
        if let e = step("pid list", { SmallFile.write("\(path)/set_event_pid", "\(tid)\n", append: true) }) {
            Recorder.warn("proctrace: cannot write \(tid) to \(path)/set_event_pid: \(String(cString: strerror(e.rawValue)))")
        }
        do { try step("enable") { try enableEvents(path) } } catch {
            // The reader's next health check finds the event off and stops the feed (states unknown).
            Recorder.warn("proctrace: \(error)")
            eventsOn.store(true, ordering: .sequentiallyConsistent)
        }
    }

    func openPipes(_ r: inout ReaderState, _ path: String) throws {
        for cpu in r.cpus {
            let fd = open("\(path)/per_cpu/cpu\(cpu)/trace_pipe_raw", O_RDONLY | O_NONBLOCK | O_CLOEXEC)
            if fd < 0 { throw SchedError(.tracefs, "cannot open trace_pipe_raw of cpu\(cpu)", errno: errno) }
            r.fds.append(fd)
        }
        r.perCPU = Array(repeating: [], count: r.cpus.count)
        r.lastLocal = Array(repeating: .min, count: r.cpus.count)
    }
}

#endif
