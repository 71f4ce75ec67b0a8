import CProcTrace
#if os(Linux)
@preconcurrency import Glibc
import Foundation
import Lifecycle
import Synchronization

/// Scheduler states from the kernel's `sched_switch`, `sched_wakeup`, `sched_wakeup_new`,
/// `sched_process_fork` and `sched_process_exit` tracepoints, read in binary form from a private
/// tracefs instance (`/sys/kernel/tracing/instances/proctrace-nsNS-pidPID-stSTART-N`, see `InstanceOwner`) on a dedicated reader
/// thread. The instance keeps its default trace clock, calibrated against CLOCK_MONOTONIC with
/// markers (`SchedClock`), because switching it to `mono` resets the ring buffers and waits
/// for an RCU grace period (its cost: docs/states.md, Measurements). See docs/states.md for
/// why tracefs and not perf_event_open.
public final class SchedSource: StateFeed {
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

    /// What the lead (track, notes), the merger (take, watermark) and the reader share.
    struct Shared {
        var machine: SchedStateMachine
        /// The instance directory, once started.
        var instancePath: String?
        var cpus: [Int32] = []
        var clockMode = "mono"
        var startNanos: Int64 = 0
        var calibrationNanos: Int64 = 0
        /// The decoder's page-header loss counts, as of the reader's last drain.
        var missedEvents = 0
        var missedUnknownPages = 0
        var watermarkMono: Int64 = 0
        var stopped = false
        var finalLost: Int?
        /// Tasks made by a followed task, announced by `forked` and not tracked yet.
        var forkedByFollowed: Set<Int> = []
        /// In a pid namespace: the pairing of the kernel's tids with ours (nil outside one).
        var ns: NamespaceRenumbering?
        /// Why the feed stopped for good (the instance stopped recording, or a read failed).
        var stoppedReason: String?
        /// `unknown` events for tasks tracked after the feed stopped, already in our numbering
        /// (in a pid namespace the machine cannot place tasks the kernel no longer reports).
        var lateUnknowns: [TraceEvent] = []
        var lateUnknownCount = 0
        var readerCPUNanos: Int64 = 0
        /// Tests: take the first calibration as failed, to exercise the fallback to `mono`.
        var failCalibrationForTesting = false
        /// Tests: keep every event fed to the machine (monotonic times) in `fedEvents`.
        var keepFedEvents = false
        var fedEvents: [SchedEvent] = []
        /// How often the reader checks that the instance still records (see `healthProblem`).
        var healthCheckIntervalNanos: Int64 = 10_000_000
    }

    /// The reader's side: the instance's files, the decoder and the events not yet fed. Held
    /// by the reader thread for each pass; `start` and `stop` use it while no reader runs.
    /// Lock order: `io` before `shared`, never the other way.
    struct ReaderState {
        var decoder: SchedRingDecoder?
        var fds: [Int32] = []
        var cpus: [Int32] = []
        var instancePath: String?
        var pageSize = 4096
        /// Decoded events not yet fed, per CPU, in trace-clock time.
        var perCPU: [[SchedEvent]] = []
        /// Trace clock → CLOCK_MONOTONIC.
        var clock = SchedClock(identity: true)
        var markerFD: Int32 = -1
        /// The global tid that wrote the last marker read back.
        var lastMarkerWriter: Int32?
        var nextMarkerSeq = 0
        var lastMarkerMono: Int64 = .min
        /// The page buffer, reused by every read.
        var pageBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 0, alignment: 8)
        /// The control files whose values must stay "1" while recording, opened once (the reader
        /// re-reads them with pread, a few µs for all seven: docs/states.md).
        var healthFDs: [(fd: Int32, file: String)] = []
        var lastHealthCheck: Int64 = 0
        /// The last monotonic instant the instance was known to record everything asked of it.
        var lastHealthy: Int64 = 0
        /// Trace-clock time of the last event read from each CPU.
        var lastLocal: [Int64] = []
        /// A read that failed for another reason than "nothing to read".
        var readError: String?
        var eventsRead = 0
        var pagesRead = 0
    }

    let shared: Mutex<Shared>
    let io = Mutex(ReaderState())
    /// Whether the tracepoints are enabled (with the kernel's pid filter: once the first task
    /// is followed). Health checks of the event files wait for it.
    let eventsOn = Atomic<Bool>(false)
    /// Set once by `stop`/`cleanup`; the reader checks it between passes.
    private let stopRequested = Atomic<Bool>(false)
    /// Written to wake the reader from its nap at once when it must stop.
    private let wakeFD: Int32
    private let reader = Mutex<WorkerThread?>(nil)
    /// Whether `cleanup` ran (it serialises on this too).
    private let cleanedUp = Mutex(false)

    /// The instance directory, once started.
    var instancePath: String? { shared.withLock { $0.instancePath } }
    /// How trace times become CLOCK_MONOTONIC: "mono" (the instance's clock), "local
    /// calibrated" (the default clock, converted with markers), or "mono (fallback: why)".
    public var clockMode: String { shared.withLock { $0.clockMode } }
    /// How long `start()` took (ns), for measurements.
    public var startNanos: Int64 { shared.withLock { $0.startNanos } }
    /// Of which the first calibration (markers written from each CPU and read back).
    public var calibrationNanos: Int64 { shared.withLock { $0.calibrationNanos } }
    /// Why the feed stopped for good, if it did.
    var stoppedReason: String? { shared.withLock { $0.stoppedReason } }
    /// Raw events read and pages drained, for measurements.
    public var eventsRead: Int { io.withLock { $0.eventsRead } }
    var pagesRead: Int { io.withLock { $0.pagesRead } }
    /// CPU time the reader thread used (ns), known after `stop()`.
    public var readerCPUNanos: Int64 { shared.withLock { $0.readerCPUNanos } }
    /// How often the reader checks that the instance still records.
    var healthCheckIntervalNanos: Int64 {
        get { shared.withLock { $0.healthCheckIntervalNanos } }
        set { shared.withLock { $0.healthCheckIntervalNanos = newValue } }
    }
    var failCalibrationForTesting: Bool {
        get { shared.withLock { $0.failCalibrationForTesting } }
        set { shared.withLock { $0.failCalibrationForTesting = newValue } }
    }
    var keepFedEvents: Bool {
        get { shared.withLock { $0.keepFedEvents } }
        set { shared.withLock { $0.keepFedEvents = newValue } }
    }
    var fedEvents: [SchedEvent] { shared.withLock { $0.fedEvents } }
    /// The reader's clock conversion (tests, after `stop`).
    var clock: SchedClock { io.withLock { $0.clock } }

    /// Instances made by this process so far (numbers its instance names).
    static let instanceCounter = Mutex(0)

    /// `origin`: CLOCK_MONOTONIC ns of the trace's t = 0 (state events carry t − origin).
    public init(origin: Int64, options: Options = Options()) {
        self.origin = origin
        self.options = options
        var machine = SchedStateMachine(origin: origin)
        machine.pidResolver = { tid, creator in access("/proc/\(creator)/task/\(tid)", F_OK) == 0 ? creator : nil }
        self.shared = Mutex(Shared(machine: machine))
        let fd = pt_eventfd()
        precondition(fd >= 0, "cannot make an eventfd: errno \(-fd)")
        self.wakeFD = fd
    }

    deinit {
        cleanup()
        io.withLock { $0.pageBuffer.deallocate() }
        close(wakeFD)
    }

    // MARK: lifecycle

    /// Creates the instance, enables the tracepoints and starts the reader thread.
    public func start() throws {
        let began = monotonicNow()
        defer { let d = monotonicNow() - began; shared.withLock { $0.startNanos = d } }
        if let problem = SchedSource.permissionProblem() { throw SchedError(.permission, problem) }
        guard let root = SchedSource.tracefsRoot() else { throw SchedError(.tracefs, "tracefs unavailable") }
        SchedSource.removeStaleInstances(root: root)
        let path = try SchedSource.makeInstance(root: root)
        shared.withLock { $0.instancePath = path }
        cleanedUp.withLock { $0 = false }
        do {
            try io.withLock { r in
                r.instancePath = path
                try setUp(&r, path)
                if !ProcFS.inInitialPidNamespace() { try enterNamespaceMode(&r, path) }
            }
        } catch {
            cleanup()
            throw error
        }
        stopRequested.store(false, ordering: .sequentiallyConsistent)
        let t = WorkerThread.start("sched reader") { [self] in readerLoop() }
        reader.withLock { $0 = t }
    }

    private func setUp(_ r: inout ReaderState, _ path: String) throws {
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
        r.decoder = SchedRingDecoder(layout: layout)
        if let kb = SmallFile.text("\(path)/buffer_subbuf_size_kb").flatMap({ Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) {
            r.pageSize = kb * 1024
        } else {
            r.pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        }
        r.healthFDs = (["tracing_on"] + SchedSource.eventFiles.map { "events/\($0)/enable" })
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
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "\(path)/per_cpu")) ?? []
        let cpus = names.compactMap { $0.hasPrefix("cpu") ? Int32($0.dropFirst(3)) : nil }.sorted()
        r.cpus = cpus
        shared.withLock { $0.cpus = cpus }
        try openPipes(&r, path)
        if calibrate {
            r.markerFD = open("\(path)/trace_marker", O_WRONLY | O_CLOEXEC)
        }
        try set("tracing_on", "1")
        let calibrationBegan = monotonicNow()
        var problem = calibrate ? initialCalibration(&r) : nil
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
    private func enterNamespaceMode(_ r: inout ReaderState, _ path: String) throws {
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
        if options.kernelPidFilter { followFirst(path, tid: Int(me)) }
    }

    /// The tracepoints the source reads (under `events/`), each of which must stay enabled.
    static let eventFiles = ["sched/sched_switch", "sched/sched_wakeup", "sched/sched_wakeup_new", "sched/sched_process_fork",
                             "sched/sched_process_exit", "sched/sched_process_exec"]

    /// Enables the tracepoints; from then on the reader's health checks require them.
    private func enableEvents(_ path: String) throws {
        for ev in SchedSource.eventFiles {
            if let e = SmallFile.write("\(path)/events/\(ev)/enable", "1") {
                throw SchedError(.tracefs, "cannot write 1 to \(path)/events/\(ev)/enable", errno: e.rawValue)
            }
        }
        // The clone flags of each new task: thread or process, exactly (optional: /proc otherwise).
        if access("\(path)/events/task/task_newtask/format", R_OK) == 0 { _ = SmallFile.write("\(path)/events/task/task_newtask/enable", "1") }
        eventsOn.store(true, ordering: .sequentiallyConsistent)
    }

    /// Puts the first task in the instance's (empty) pid list, then enables the events: the
    /// kernel records that task and, through `event-fork`, everything it creates.
    private func followFirst(_ path: String, tid: Int) {
        if let e = SmallFile.write("\(path)/set_event_pid", "\(tid)\n", append: true) {
            Recorder.warn("proctrace: cannot write \(tid) to \(path)/set_event_pid: \(String(cString: strerror(e.rawValue)))")
        }
        do { try enableEvents(path) } catch {
            // The reader's next health check finds the event off and stops the feed (states unknown).
            Recorder.warn("proctrace: \(error)")
            eventsOn.store(true, ordering: .sequentiallyConsistent)
        }
    }

    private func openPipes(_ r: inout ReaderState, _ path: String) throws {
        for cpu in r.cpus {
            let fd = open("\(path)/per_cpu/cpu\(cpu)/trace_pipe_raw", O_RDONLY | O_NONBLOCK | O_CLOEXEC)
            if fd < 0 { throw SchedError(.tracefs, "cannot open trace_pipe_raw of cpu\(cpu)", errno: errno) }
            r.fds.append(fd)
        }
        r.perCPU = Array(repeating: [], count: r.cpus.count)
        r.lastLocal = Array(repeating: .min, count: r.cpus.count)
    }

    /// Writes a first marker from every CPU this thread may use (the trace clock is per-CPU)
    /// and reads them back. Returns why calibration cannot be trusted, or nil if it can.
    private func initialCalibration(_ r: inout ReaderState) -> String? {
        guard r.markerFD >= 0 else { return "trace_marker cannot be opened" }
        var original = cpu_set_t()
        let size = MemoryLayout<cpu_set_t>.size
        var allowed: [Int32] = []
        let affinity = SchedSource.affinityCalls
        if let affinity, affinity.get(0, size, &original) == 0 {
            allowed = r.cpus.filter { cpu in
                withUnsafeBytes(of: &original) { Int(cpu) / 8 < $0.count && $0[Int(cpu) / 8] & (1 << (UInt8(cpu) % 8)) != 0 }
            }
        }
        var written = 0
        if let affinity, allowed.count > 1 {
            for cpu in allowed {
                var one = cpu_set_t()
                withUnsafeMutableBytes(of: &one) { $0[Int(cpu) / 8] |= 1 << (UInt8(cpu) % 8) }
                if affinity.set(0, size, &one) == 0, writeMarker(&r) { written += 1 }
            }
            _ = affinity.set(0, size, &original)
        } else if writeMarker(&r) {
            written += 1
        }
        guard written > 0 else { return "cannot write to trace_marker" }
        _ = drainOnce(&r)
        let points = r.clock.points
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
    func writeMarker(_ r: inout ReaderState) -> Bool {
        guard r.markerFD >= 0 else { return false }
        let markerFD = r.markerFD
        var best: (seq: Int, before: Int64, after: Int64)?
        for _ in 0..<4 {
            let seq = r.nextMarkerSeq
            r.nextMarkerSeq += 1
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
        r.clock.wrote(seq: best.seq, before: best.before, after: best.after)
        r.lastMarkerMono = best.after
        return true
    }

    /// Follows `tid` of process `pid`. Call it for the workload's root before letting it run
    /// (its children are then followed by the kernel and by the state machine on their own).
    ///
    /// With the kernel's pid filter, the first task tracked (the root) is written to the
    /// instance's empty pid list (cheap), which then enables the events. A task that a
    /// followed task made (`forked` said so just before) is in the list already: `event-fork`
    /// added it at its fork, so tracking it writes nothing and reads nothing on the tracer's
    /// fork path. Any other task (a second, unrelated root) is appended, which waits for an
    /// RCU grace period (docs/states.md).
    public func track(tid: Int, pid: Int, at: Int64) {
        let write: String? = shared.withLock { s in
            if s.ns != nil {
                if let reason = s.stoppedReason {
                    s.lateUnknowns.append(TraceEvent(t: at, .stateUnknown(pid: pid, tid: tid, reason: reason)))
                    s.lateUnknownCount += 1
                    return nil
                }
                // The root waits for the kernel's fork of it; every other task is paired through
                // `forked` and followed by the machine from its creator.
                applyPairs(&s, s.ns!.map.rootStarted(tid))
                return nil
            }
            let known = s.forkedByFollowed.remove(tid) != nil || s.machine.isTracked(tid: tid)
            s.machine.track(tid: tid, pid: pid, at: at)
            guard options.kernelPidFilter, !known else { return nil }
            return s.instancePath
        }
        guard let path = write else { return }
        if !eventsOn.load(ordering: .sequentiallyConsistent) { return followFirst(path, tid: tid) }
        SmallFile.write("\(path)/set_event_pid", "\(tid)\n", append: true)
    }

    public func untrack(tid: Int) {
        shared.withLock { s in
            if let m = s.ns?.map { if let g = m.global(tid) { s.machine.untrack(tid: Int(g)) } } else { s.machine.untrack(tid: tid) }
        }
    }

    public func forked(child: Int, byThread creator: Int) {
        shared.withLock { s in
            guard s.ns != nil else {
                // The kernel follows a followed task's child from its fork (event-fork).
                if s.machine.isTracked(tid: creator) { s.forkedByFollowed.insert(child) }
                return
            }
            applyPairs(&s, s.ns!.map.ptraceMade(child: child, byThread: creator))
        }
    }

    /// Hands the new pairs' waiting notes to the machine.
    func applyPairs(_ s: inout Shared, _ pairs: [(global: Int32, ns: Int)]) {
        for (g, n) in s.ns?.notes(for: pairs) ?? [] { s.machine.noteWhy(tid: Int(g), why: n.why, from: n.from, to: n.to) }
    }

    /// State events renumbered to our tids (in a pid namespace).
    private func renumber(_ s: inout Shared, _ events: [TraceEvent], final: Bool = false) -> [TraceEvent] {
        s.ns == nil ? events : s.ns!.renumber(events, now: max(0, s.watermarkMono - origin), final: final)
    }

    /// `sched_process_exit` already gives every task its exact end.
    public func ended(pid: Int, tid: Int?, at: Int64) -> (events: [TraceEvent], tids: [Int]) { ([], []) }

    public func noteWhy(tid: Int, why: String, from: Int64, to: Int64?) {
        shared.withLock { s in
            guard s.ns != nil else { return s.machine.noteWhy(tid: tid, why: why, from: from, to: to) }
            if let g = s.ns!.note(tid: tid, (why, from, to)) { s.machine.noteWhy(tid: Int(g), why: why, from: from, to: to) }
        }
    }

    public func endWhy(tid: Int, at: Int64) {
        shared.withLock { s in
            guard s.ns != nil else { return s.machine.endWhy(tid: tid, at: at) }
            if let g = s.ns!.end(tid: tid, at: at) { s.machine.endWhy(tid: Int(g), at: at) }
        }
    }

    /// Consulted (on the reader thread, under the source's lock: do not call back into the
    /// source) for every →blocked from a sleep that has no noted why.
    func setWhyProvider(_ provider: (@Sendable (_ tid: Int, _ t: Int64) -> String?)?) {
        shared.withLock { $0.machine.whyProvider = provider }
    }

    public var watermark: Int64 {
        shared.withLock { s in
            let held = s.machine.holdBound
            let w = min(s.watermarkMono, held == Int64.max ? Int64.max : held - 1)
            let mark = max(0, w - origin)
            if let first = s.ns?.earliestWaiting { return max(0, min(mark, first - 1)) }
            return mark
        }
    }

    public func take(upTo: Int64 = Int64.max) -> [TraceEvent] {
        shared.withLock { s in
            let bound = min(upTo, max(0, s.watermarkMono - origin))
            var out = renumber(&s, s.machine.take(upTo: bound))
            if !s.lateUnknowns.isEmpty { out = takeLateUnknowns(&s, upTo: bound, into: out) }
            return out
        }
    }

    /// Merges the `lateUnknowns` with t ≤ `upTo` into `events` (both in time order).
    private func takeLateUnknowns(_ s: inout Shared, upTo: Int64, into events: [TraceEvent]) -> [TraceEvent] {
        let due = s.lateUnknowns.filter { $0.t <= upTo }
        s.lateUnknowns.removeAll { $0.t <= upTo }
        return (events + due).stableSorted(by: \.t)
    }

    /// The state the machine holds for a tid now (for tests and diagnostics).
    func state(of tid: Int) -> ProcState? { shared.withLock { $0.machine.state(of: tid) } }

    public func stop() -> [TraceEvent] {
        guard shared.withLock({ $0.instancePath != nil && !$0.stopped }), !cleanedUp.withLock({ $0 }) else { return [] }
        // The reader is joined: from here on this thread alone reads the instance.
        stopReader()
        let lostNow: Int = io.withLock { r in
            // A stop since the reader's last check is still a stop.
            if shared.withLock({ $0.stoppedReason }) == nil, let problem = healthProblem(r) { feedStopped(&r, problem) }
            // A last calibration point, so the last events are interpolated.
            writeMarker(&r)
            if let path = r.instancePath { SmallFile.write("\(path)/tracing_on", "0") }
            // Drain everything left, then settle pending inferences.
            while drainOnce(&r) > 0 {}
            release(&r, upTo: Int64.max)
            return countLost()
        }
        let rest: [TraceEvent] = shared.withLock { s in
            s.machine.flushPending()
            let out = s.machine.take(upTo: Int64.max)
            var rest = renumber(&s, out, final: true)
            if !s.lateUnknowns.isEmpty { rest = takeLateUnknowns(&s, upTo: Int64.max, into: rest) }
            s.finalLost = lostNow + (s.ns?.dropped ?? 0) + stoppedLost(s)
            s.stopped = true
            return rest
        }
        cleanup(detached: true)
        return rest
    }

    public var lost: Int {
        if let l = shared.withLock({ $0.finalLost }) { return l }
        let counted = countLost()
        return counted + shared.withLock { ($0.ns?.dropped ?? 0) + stoppedLost($0) }
    }

    /// Events known lost because the feed stopped for good: the kernel cannot count them, but
    /// each task that was live (or born) then missed at least its `sched_process_exit`.
    private func stoppedLost(_ s: Shared) -> Int { s.machine.stoppedUnknowns + s.lateUnknownCount }

    /// Lost events: the kernel's per-CPU overrun and dropped counts, or the page headers'
    /// missed counts if those are larger.
    private func countLost() -> Int {
        let (path, cpus, pages) = shared.withLock { ($0.instancePath, $0.cpus, $0.missedEvents + $0.missedUnknownPages) }
        let stats = path.map { SchedSource.overruns(instance: $0, cpus: cpus) } ?? 0
        return max(stats, pages)
    }

    public func cleanup() { cleanup(detached: false) }

    /// `detached`: the instance directory is removed by a detached process, so a normal
    /// stop does not wait while the kernel tears an instance down (docs/recorder.md).
    func cleanup(detached: Bool) {
        cleanedUp.withLock { done in
            guard !done else { return }
            done = true
            stopReader()
            let path: String? = io.withLock { r in
                for fd in r.fds { close(fd) }
                r.fds = []
                for h in r.healthFDs { close(h.fd) }
                r.healthFDs = []
                if r.markerFD >= 0 { close(r.markerFD); r.markerFD = -1 }
                return r.instancePath
            }
            if let path {
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

    /// Asks the reader to finish, wakes it from its nap and joins it (it never blocks for
    /// long: non-blocking reads, short naps). Idempotent.
    private func stopReader() {
        stopRequested.store(true, ordering: .sequentiallyConsistent)
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
        let thread: WorkerThread? = reader.withLock { t in defer { t = nil }; return t }
        thread?.join()
    }

    /// Sleeps up to `micros`, less if `stopReader` asks the reader to finish.
    func nap(_ micros: UInt32) {
        if stopRequested.load(ordering: .sequentiallyConsistent) { return }
        var pfd = pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)
        _ = poll(&pfd, 1, Int32((micros + 999) / 1000))
    }

    var isStopRequested: Bool { stopRequested.load(ordering: .sequentiallyConsistent) }
}

#endif
