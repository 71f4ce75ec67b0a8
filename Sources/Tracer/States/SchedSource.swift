import CProcTrace
#if os(Linux)
@preconcurrency import Glibc
import Foundation
import Lifecycle

/// Scheduler states from the kernel's `sched_switch`, `sched_wakeup`, `sched_wakeup_new`,
/// `sched_process_fork` and `sched_process_exit` tracepoints, read in binary form from a private
/// tracefs instance (`/sys/kernel/tracing/instances/proctrace-nsNS-pidPID-stSTART-N`, see `InstanceOwner`) on a dedicated reader
/// thread. The instance keeps its default trace clock, calibrated against CLOCK_MONOTONIC with
/// markers (`SchedClock`), because switching it to `mono` resets the ring buffers and waits
/// for an RCU grace period (its cost: docs/states.md, Measurements). See docs/states.md for
/// why tracefs and not perf_event_open.
public final class SchedSource: StateFeed, @unchecked Sendable {
    public struct Options: Sendable {
        /// Per-CPU ring-buffer size (`buffer_size_kb`).
        /// nil keeps the kernel's default (1408 KB), which avoids a resize (an RCU grace period).
        var bufferSizeKB: Int? = nil
        /// Reader sleep after a drain that found events…
        var pollIntervalMicros: UInt32 = 2000
        /// …doubling after each empty drain up to this (so an idle reader costs little).
        var maxPollIntervalMicros: UInt32 = 8000
        /// Margin kept behind the drain time for events still being committed on another CPU.
        var commitSlackNanos: Int64 = 1_000_000
        /// Let the kernel record only followed tasks and their descendants
        /// (`set_event_pid` + `options/event-fork`): far fewer events to read.
        public var kernelPidFilter = true
        /// Fill `why` of unexplained sleeps from `/proc/TID/syscall` (best effort, see docs).
        public var sleepKindFromProc = true
        /// How often the reader writes a clock-calibration marker (trace clock ≠ mono).
        var calibrationIntervalNanos: Int64 = 50_000_000
        /// Set `trace_clock=mono` (slow: docs/states.md) instead of calibrating the default clock.
        public var monoTraceClock = false
        public init() {}
    }

    public let source = StateSource.sched
    let origin: Int64
    let options: Options
    /// The instance directory, once started.
    private(set) var instancePath: String?
    /// How trace times become CLOCK_MONOTONIC: "mono" (the instance's clock), "local
    /// calibrated" (the default clock, converted with markers), or "mono (fallback: why)".
    public private(set) var clockMode = "mono"
    /// How long `start()` took (ns), for measurements.
    public private(set) var startNanos: Int64 = 0
    /// Of which the first calibration (markers written from each CPU and read back).
    public private(set) var calibrationNanos: Int64 = 0

    let lock = NSLock()
    var machine: SchedStateMachine
    var decoder: SchedRingDecoder?
    var fds: [Int32] = []
    var cpus: [Int32] = []
    var pageSize = 4096
    /// Decoded events not yet fed, per CPU, in trace-clock time (reader only).
    var perCPU: [[SchedEvent]] = []
    /// Trace clock → CLOCK_MONOTONIC (reader only, and start/stop while no reader runs).
    var clock = SchedClock(identity: true)
    private var markerFD: Int32 = -1
    /// The global tid that wrote the last marker read back.
    var lastMarkerWriter: Int32?
    private var nextMarkerSeq = 0
    var lastMarkerMono: Int64 = .min
    /// Tests: take the first calibration as failed, to exercise the fallback to `mono`.
    var failCalibrationForTesting = false
    /// Tests: keep every event fed to the machine (monotonic times) in `fedEvents`.
    var keepFedEvents = false
    var fedEvents: [SchedEvent] = []
    /// The reader's page buffer (reader thread only).
    var pageBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 0, alignment: 8)
    private var reader: Thread?
    /// Guards `stopRequested` and `readerDone`; the reader naps on it, so `stop()` wakes it at once.
    let wake = NSCondition()
    var stopRequested = false
    var readerDone = true
    var watermarkMono: Int64 = 0
    var stopped = false
    private var finalLost: Int?
    /// Processes (tgids) the lead asked to follow.
    private var followedPids: Set<Int> = []
    private let cleanupLock = NSLock()
    private var cleanedUp = false
    /// In a pid namespace: the pairing of the kernel's tids with ours (nil outside one).
    var ns: NamespaceRenumbering?
    /// How often the reader checks that the instance still records (see `healthProblem`).
    var healthCheckIntervalNanos: Int64 = 10_000_000
    /// The control files whose values must stay "1" while recording, opened once (the reader
    /// re-reads them with pread, a few µs for all seven: docs/states.md).
    var healthFDs: [(fd: Int32, file: String)] = []
    var lastHealthCheck: Int64 = 0
    /// The last monotonic instant the instance was known to record everything asked of it.
    var lastHealthy: Int64 = 0
    /// Why the feed stopped for good (the instance stopped recording, or a read failed).
    var stoppedReason: String?
    /// Trace-clock time of the last event read from each CPU (reader only).
    var lastLocal: [Int64] = []
    /// `unknown` events for tasks tracked after the feed stopped, already in our numbering
    /// (in a pid namespace the machine cannot place tasks the kernel no longer reports).
    private var lateUnknowns: [TraceEvent] = []
    private var lateUnknownCount = 0
    /// A read that failed for another reason than "nothing to read" (reader only).
    var readError: String?

    /// Raw events read and bytes/pages drained, for measurements.
    public internal(set) var eventsRead = 0
    var pagesRead = 0
    /// CPU time the reader thread used (ns), known after `stop()`.
    public internal(set) var readerCPUNanos: Int64 = 0

    /// Instances made by this process so far (numbers its instance names).
    nonisolated(unsafe) static var instanceCounter = 0   // guarded by counterLock
    static let counterLock = NSLock()

    /// `origin`: CLOCK_MONOTONIC ns of the trace's t = 0 (state events carry t − origin).
    public init(origin: Int64, options: Options = Options()) {
        self.origin = origin
        self.options = options
        self.machine = SchedStateMachine(origin: origin)
        self.machine.pidResolver = { tid, creator in access("/proc/\(creator)/task/\(tid)", F_OK) == 0 ? creator : nil }
    }

    deinit {
        cleanup()
        pageBuffer.deallocate()
    }

    // MARK: lifecycle

    /// Creates the instance, enables the tracepoints and starts the reader thread.
    public func start() throws {
        let began = monotonicNow()
        defer { startNanos = monotonicNow() - began }
        if let problem = SchedSource.permissionProblem() { throw SchedError(.permission, problem) }
        guard let root = SchedSource.tracefsRoot() else { throw SchedError(.tracefs, "tracefs unavailable") }
        SchedSource.removeStaleInstances(root: root)
        let path = try SchedSource.makeInstance(root: root)
        instancePath = path
        cleanedUp = false
        do {
            try setUp(path)
            if !ProcFS.inInitialPidNamespace() { try enterNamespaceMode(path) }
        } catch {
            cleanup()
            throw error
        }
        stopRequested = false
        readerDone = false
        let thread = Thread { [self] in readerLoop() }
        thread.name = "proctrace-sched"
        reader = thread
        thread.start()
    }

    private func setUp(_ path: String) throws {
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
        let layout = try SchedRingDecoder.loadLayout(eventsDir: "\(path)/events")
        var calibrate = false
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
        clock = SchedClock(identity: !calibrate)
        // Resizing waits for an RCU grace period; the kernel's default (1408 KB per CPU) holds
        // ~35,000 events per CPU, far more than arrive between two drains.
        if let kb = options.bufferSizeKB { try set("buffer_size_kb", String(kb)) }
        if options.kernelPidFilter {
            try set("options/event-fork", "1")
            // Filter from the start: with an empty pid list the instance records the whole
            // machine until the root is followed, and a recording that took seconds to start
            // beside a traced flood overran its rings before its workload ran (227,310 events
            // "lost" by `mp_value_array.py`). 4194304 is PID_MAX_LIMIT: the kernel takes it in the
            // list but never gives it to a task (pids stop one below), so nothing matches it. Later
            // writes append (an O_TRUNC open would empty the list until the write returns,
            // which waits for an RCU grace period).
            try set("set_event_pid", "4194304")
        }
        decoder = SchedRingDecoder(layout: layout)
        if let kb = SmallFile.text("\(path)/buffer_subbuf_size_kb").flatMap({ Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) {
            pageSize = kb * 1024
        } else {
            pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        }
        for ev in ["sched_switch", "sched_wakeup", "sched_wakeup_new", "sched_process_fork", "sched_process_exit", "sched_process_exec"] {
            try set("events/sched/\(ev)/enable", "1")
        }
        // The clone flags of each new task: thread or process, exactly (optional: /proc otherwise).
        if layout.newTaskID != nil { _ = SmallFile.write("\(path)/events/task/task_newtask/enable", "1") }
        healthFDs = (["tracing_on"] + ["sched_switch", "sched_wakeup", "sched_wakeup_new", "sched_process_fork",
                                        "sched_process_exit", "sched_process_exec"].map { "events/sched/\($0)/enable" })
            .compactMap { file in
                let fd = open("\(path)/\(file)", O_RDONLY | O_CLOEXEC)
                return fd >= 0 ? (fd, file) : nil
            }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "\(path)/per_cpu")) ?? []
        cpus = names.compactMap { $0.hasPrefix("cpu") ? Int32($0.dropFirst(3)) : nil }.sorted()
        try openPipes(path)
        if calibrate {
            markerFD = open("\(path)/trace_marker", O_WRONLY | O_CLOEXEC)
        }
        try set("tracing_on", "1")
        let calibrationBegan = monotonicNow()
        var problem = calibrate ? initialCalibration() : nil
        if calibrate && failCalibrationForTesting { problem = problem ?? "failed for testing" }
        calibrationNanos = calibrate ? monotonicNow() - calibrationBegan : 0
        if let problem {
            // Calibration cannot be trusted here: pay for the mono clock (resets the buffers).
            try set("tracing_on", "0")
            for fd in fds { close(fd) }
            fds = []
            if markerFD >= 0 { close(markerFD); markerFD = -1 }
            try set("trace_clock", "mono")
            clock = SchedClock(identity: true)
            clockMode = "mono (fallback: \(problem))"
            decoder?.markers = []
            try openPipes(path)
            try set("tracing_on", "1")
        }
    }

    /// In a pid namespace: learns this thread's global tid from a marker it writes (the
    /// kernel records the writer's global tid), and has the kernel follow it, so that the
    /// workload's root, which this thread forks next, is followed from its fork.
    private func enterNamespaceMode(_ path: String) throws {
        guard decoder?.layout.newTaskID != nil else {
            throw SchedError(.tracefs, "in a pid namespace, task/task_newtask is needed to pair the kernel's tids with ours")
        }
        if markerFD < 0 { markerFD = open("\(path)/trace_marker", O_WRONLY | O_CLOEXEC) }
        var me: Int32?
        for _ in 0..<20 where me == nil {
            if writeMarker() {
                for _ in 0..<5 where me == nil {
                    _ = drainOnce()
                    me = lastMarkerWriter
                    if me == nil { usleep(200) }
                }
            }
        }
        guard let me, me > 0 else { throw SchedError(.tracefs, "cannot learn proctrace's own tid from trace_marker") }
        ns = NamespaceRenumbering(selfGlobal: me)
        machine.pidResolver = { _, _ in nil }
        machine.stopOnLoss = true
        if options.kernelPidFilter { SmallFile.write("\(path)/set_event_pid", "\(me)\n", append: true) }
    }

    private func openPipes(_ path: String) throws {
        for cpu in cpus {
            let fd = open("\(path)/per_cpu/cpu\(cpu)/trace_pipe_raw", O_RDONLY | O_NONBLOCK | O_CLOEXEC)
            if fd < 0 { throw SchedError(.tracefs, "cannot open trace_pipe_raw of cpu\(cpu)", errno: errno) }
            fds.append(fd)
        }
        perCPU = Array(repeating: [], count: cpus.count)
        lastLocal = Array(repeating: .min, count: cpus.count)
    }

    /// Writes a first marker from every CPU this thread may use (the trace clock is per-CPU)
    /// and reads them back. Returns why calibration cannot be trusted, or nil if it can.
    private func initialCalibration() -> String? {
        guard markerFD >= 0 else { return "trace_marker cannot be opened" }
        var original = cpu_set_t()
        let size = MemoryLayout<cpu_set_t>.size
        var allowed: [Int32] = []
        let affinity = SchedSource.affinityCalls
        if let affinity, affinity.get(0, size, &original) == 0 {
            allowed = cpus.filter { cpu in
                withUnsafeBytes(of: &original) { Int(cpu) / 8 < $0.count && $0[Int(cpu) / 8] & (1 << (UInt8(cpu) % 8)) != 0 }
            }
        }
        var written = 0
        if let affinity, allowed.count > 1 {
            for cpu in allowed {
                var one = cpu_set_t()
                withUnsafeMutableBytes(of: &one) { $0[Int(cpu) / 8] |= 1 << (UInt8(cpu) % 8) }
                if affinity.set(0, size, &one) == 0, writeMarker() { written += 1 }
            }
            _ = affinity.set(0, size, &original)
        } else if writeMarker() {
            written += 1
        }
        guard written > 0 else { return "cannot write to trace_marker" }
        _ = drainOnce()
        let points = clock.points
        if points.isEmpty { return "calibration markers do not show up in the trace" }
        // Markers written microseconds apart from different CPUs must agree on the offset.
        let offsets = points.map { $0.mono - $0.local }
        let errors = points.map(\.error)
        if offsets.max()! - offsets.min()! > 2 * errors.max()! + 20_000 {
            return "the trace clock differs between CPUs by \((offsets.max()! - offsets.min()!) / 1000) us"
        }
        return nil
    }

    /// Writes calibration markers, timing each write with CLOCK_MONOTONIC, and keeps the one
    /// with the narrowest window: the first write after a pause is slower (cold caches) than
    /// the next ones (docs/states.md, The trace clock). Returns whether a marker was made.
    @discardableResult
    func writeMarker() -> Bool {
        guard markerFD >= 0 else { return false }
        var best: (seq: Int, before: Int64, after: Int64)?
        for _ in 0..<4 {
            let seq = nextMarkerSeq
            nextMarkerSeq += 1
            let text = "ptcal \(seq)\n"
            let (before, after, ok): (Int64, Int64, Bool) = text.withCString { p in
                let len = strlen(p)
                let t0 = monotonicNow()
                let n = write(markerFD, p, len)
                let t1 = monotonicNow()
                return (t0, t1, n == len)
            }
            if !ok { break }
            if best == nil || after - before < best!.after - best!.before { best = (seq, before, after) }
            if after - before <= 2_000 { break }
        }
        // A window this wide means the thread was preempted: no point from it.
        guard let best, best.after - best.before <= 50_000 else { return false }
        clock.wrote(seq: best.seq, before: best.before, after: best.after)
        lastMarkerMono = best.after
        return true
    }

    /// Follows `tid` of process `pid`. Call it for the workload's root before letting it run
    /// (its children are then followed by the kernel and by the state machine on their own).
    ///
    /// Cost: a task the kernel is not already following (in practice only the root) needs a
    /// `set_event_pid` write, which waits for an RCU grace period (docs/states.md). Tasks created
    /// by a followed task are followed by the kernel already, so tracking them is cheap.
    public func track(tid: Int, pid: Int, at: Int64) {
        if ns != nil {
            let stopped: Bool = lock.withLock {
                guard let reason = stoppedReason else { return false }
                lateUnknowns.append(TraceEvent(t: at, .stateUnknown(pid: pid, tid: tid, reason: reason)))
                lateUnknownCount += 1
                return true
            }
            if stopped { return }
            // The root waits for the kernel's fork of it; every other task is paired through
            // `forked` and followed by the machine from its creator.
            lock.withLock { applyPairs(ns!.map.rootStarted(tid)) }
            return
        }
        let known: Bool = lock.withLock {
            let known = machine.isTracked(tid: tid) || followedPids.contains(pid)
            machine.track(tid: tid, pid: pid, at: at)
            followedPids.insert(pid)
            return known
        }
        guard options.kernelPidFilter, let path = instancePath, !known else { return }
        // A child of a followed process was added by the kernel at its fork (event-fork).
        if let ppid = SchedSource.procParent(tid),
           lock.withLock({ followedPids.contains(ppid) || machine.followsProcess(pid: ppid) }) { return }
        SmallFile.write("\(path)/set_event_pid", "\(tid)\n", append: true)
    }

    public func untrack(tid: Int) {
        lock.withLock {
            if let m = ns?.map { if let g = m.global(tid) { machine.untrack(tid: Int(g)) } } else { machine.untrack(tid: tid) }
        }
    }

    public func forked(child: Int, byThread creator: Int) {
        lock.withLock {
            guard ns != nil else { return }
            applyPairs(ns!.map.ptraceMade(child: child, byThread: creator))
        }
    }

    /// Caller holds the lock: hands the new pairs' waiting notes to the machine.
    func applyPairs(_ pairs: [(global: Int32, ns: Int)]) {
        for (g, n) in ns?.notes(for: pairs) ?? [] { machine.noteWhy(tid: Int(g), why: n.why, from: n.from, to: n.to) }
    }

    /// Caller holds the lock: state events renumbered to our tids (in a pid namespace).
    private func renumber(_ events: [TraceEvent], final: Bool = false) -> [TraceEvent] {
        ns == nil ? events : ns!.renumber(events, now: max(0, watermarkMono - origin), final: final)
    }

    /// `sched_process_exit` already gives every task its exact end.
    public func ended(pid: Int, tid: Int?, at: Int64) -> (events: [TraceEvent], tids: [Int]) { ([], []) }

    public func noteWhy(tid: Int, why: String, from: Int64, to: Int64?) {
        lock.withLock {
            guard ns != nil else { return machine.noteWhy(tid: tid, why: why, from: from, to: to) }
            if let g = ns!.note(tid: tid, (why, from, to)) { machine.noteWhy(tid: Int(g), why: why, from: from, to: to) }
        }
    }

    public func endWhy(tid: Int, at: Int64) {
        lock.withLock {
            guard ns != nil else { return machine.endWhy(tid: tid, at: at) }
            if let g = ns!.end(tid: tid, at: at) { machine.endWhy(tid: Int(g), at: at) }
        }
    }

    /// Consulted (on the reader thread, under the source's lock: do not call back into the
    /// source) for every →blocked from a sleep that has no noted why.
    func setWhyProvider(_ provider: (@Sendable (_ tid: Int, _ t: Int64) -> String?)?) {
        lock.withLock { machine.whyProvider = provider }
    }

    public var watermark: Int64 {
        lock.withLock {
            let held = machine.holdBound
            let w = min(watermarkMono, held == Int64.max ? Int64.max : held - 1)
            let mark = max(0, w - origin)
            if let first = ns?.earliestWaiting { return max(0, min(mark, first - 1)) }
            return mark
        }
    }

    public func take(upTo: Int64 = Int64.max) -> [TraceEvent] {
        lock.withLock {
            let bound = min(upTo, max(0, watermarkMono - origin))
            var out = renumber(machine.take(upTo: bound))
            if !lateUnknowns.isEmpty { out = takeLateUnknowns(upTo: bound, into: out) }
            return out
        }
    }

    /// Caller holds the lock: merges the `lateUnknowns` with t ≤ `upTo` into `events` (both in time order).
    private func takeLateUnknowns(upTo: Int64, into events: [TraceEvent]) -> [TraceEvent] {
        let due = lateUnknowns.filter { $0.t <= upTo }
        lateUnknowns.removeAll { $0.t <= upTo }
        return (events + due).stableSorted(by: \.t)
    }

    /// The state the machine holds for a tid now (for tests and diagnostics).
    func state(of tid: Int) -> ProcState? { lock.withLock { machine.state(of: tid) } }

    public func stop() -> [TraceEvent] {
        guard instancePath != nil, !stopped else { return [] }
        stopReader()
        // A stop since the reader's last check is still a stop.
        if lock.withLock({ stoppedReason }) == nil, let problem = healthProblem() { feedStopped(problem) }
        // A last calibration point, so the last events are interpolated.
        writeMarker()
        if let path = instancePath { SmallFile.write("\(path)/tracing_on", "0") }
        // Drain everything left, then settle pending inferences.
        while drainOnce() > 0 {}
        release(upTo: Int64.max)
        let lostNow = countLost()
        let rest: [TraceEvent] = lock.withLock {
            machine.flushPending()
            let out = machine.take(upTo: Int64.max)
            var rest = renumber(out, final: true)
            if !lateUnknowns.isEmpty { rest = takeLateUnknowns(upTo: Int64.max, into: rest) }
            finalLost = lostNow + (ns?.dropped ?? 0) + stoppedLost()
            return rest
        }
        stopped = true
        cleanup(detached: true)
        return rest
    }

    public var lost: Int {
        if let l = lock.withLock({ finalLost }) { return l }
        return countLost() + lock.withLock { (ns?.dropped ?? 0) + stoppedLost() }
    }

    /// Caller holds the lock. Events known lost because the feed stopped for good: the kernel
    /// cannot count them, but each task that was live (or born) then missed at least its
    /// `sched_process_exit`.
    private func stoppedLost() -> Int { machine.stoppedUnknowns + lateUnknownCount }

    /// Lost events: the kernel's per-CPU overrun and dropped counts, or the page headers'
    /// missed counts if those are larger.
    private func countLost() -> Int {
        let stats = instancePath.map { SchedSource.overruns(instance: $0, cpus: cpus) } ?? 0
        let pages = lock.withLock { (decoder?.missedEvents ?? 0) + (decoder?.missedUnknownPages ?? 0) }
        return max(stats, pages)
    }

    public func cleanup() { cleanup(detached: false) }

    /// `detached`: the instance directory is removed by a detached process, so a normal
    /// stop does not wait while the kernel tears an instance down (docs/recorder.md).
    func cleanup(detached: Bool) {
        cleanupLock.withLock {
            guard !cleanedUp else { return }
            cleanedUp = true
            stopReader()
            for fd in fds { close(fd) }
            fds = []
            for h in healthFDs { close(h.fd) }
            healthFDs = []
            if markerFD >= 0 { close(markerFD); markerFD = -1 }
            if let path = instancePath {
                SmallFile.write("\(path)/tracing_on", "0")
                if detached {
                    // Also disables the events first, off our critical path (that write waits).
                    pt_rmdir_detached(path)
                } else {
                    // Disabling every event in one write first shortens the removal (docs/states.md).
                    SmallFile.write("\(path)/events/enable", "0")
                    rmdir(path)
                }
            }
        }
    }

    private func stopReader() {
        wake.lock()
        defer { wake.unlock() }
        stopRequested = true
        wake.broadcast()
        // The reader never blocks for long (non-blocking reads, short naps).
        let deadline = Date(timeIntervalSinceNow: 2)
        while !readerDone && wake.wait(until: deadline) {}
    }

    /// Sleeps up to `micros`, less if `stopReader` asks the reader to finish.
    func nap(_ micros: UInt32) {
        wake.lock()
        defer { wake.unlock() }
        if !stopRequested { _ = wake.wait(until: Date(timeIntervalSinceNow: Double(micros) / 1e6)) }
    }
}

#endif
