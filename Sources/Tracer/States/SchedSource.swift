import CProcTrace
#if os(Linux)
@preconcurrency import Glibc
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
        /// The longest the reader waits between two drains. It is also how long the merger's
        /// lifecycle events wait for the states before they are written, and so bounds the
        /// events held in memory (docs/states.md, The reader).
        var drainIntervalMicros: UInt32 = 40_000
        /// The kernel wakes the reader earlier when a CPU's ring is this full (`buffer_percent`;
        /// nil: only the interval wakes it, as on a kernel without that file).
        var bufferPercent: Int? = 10
        /// The interval while a ring fills fast enough to reach `bufferPercent` within one
        /// `drainIntervalMicros` (a flood).
        var floodIntervalMicros: UInt32 = 2000
        /// A pass reads at most this many pages per CPU on average, then releases what it read.
        var pagesPerCPUPerPass = 256
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
        /// `stop()` leaves the instance, silenced, for `removeLeftInstance()`: the recorder removes
        /// it itself once the shell has its prompt back (the kernel takes ~0.1 s). Otherwise a
        /// detached process removes it.
        public var deferRemoval = false
        /// How long an instance waits, parked, for the next recording to claim it instead of
        /// making (and later removing) one of its own (docs/states.md, "Parked instances"); 0
        /// removes it at the end of each recording. Only an instance with the default settings
        /// below is parked or claimed, so a recording gets the buffers and clock it asks for.
        public var parkMillis = 1000
        /// Marks the instances this source makes, and limits its claims to parked instances of
        /// the same tag (`PROCTRACE_INSTANCE_TAG`, `InstanceOwner.name`): tests that check what
        /// parking does claim only their own, whatever else records on the machine.
        public var instanceTag: String? = InstanceOwner.environmentTag
        /// How often a parker checks whether its instance was claimed (then it exits).
        var parkPollMillis = 10
        /// Whether this recording takes part in parking: its settings are the defaults.
        var pooled: Bool {
            parkMillis > 0 && bufferSizeKB == nil && kernelPidFilter && !monoTraceClock && bufferPercent == Options().bufferPercent
        }
        /// Read wait4 calls from the ring too (`syscalls/sys_enter_wait4`, `sys_exit_wait4`) and
        /// hand them to the ptrace loop here, when the kernel has those events and proctrace runs
        /// in the initial pid namespace (`ringWaitsOn` says whether they are on).
        var waitInbox: RingWaitInbox? = nil
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
        /// The loop's inbox from the last `applyLoopNotes`, emptied, kept for its capacity.
        var spareNotes: [LoopNote] = []
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
        /// The merged batch of a release, kept for its capacity.
        var batch: [SchedEvent] = []
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
        /// Reads of `trace_pipe_raw` (pages and the `EAGAIN` that ends each drain), drain
        /// passes, naps ended, and of those the naps a ring's `buffer_percent` ended.
        var readCalls = 0
        /// The last drain stopped at its page budget, rings not empty: the CPUs it left.
        var drainCut = false
        var cutCPUs: [Int] = []
        /// Pages the last drain read from its busiest CPU; a ring's size in pages.
        var busiestPages = 0
        var ringPages = 352
        var lastPassStart: Int64 = 0
        /// The rings filled fast at the last pass (a flood): the reader naps briefly.
        var fillingFast = false
        var fastPasses = 0
        /// The rings woke the reader early too often: only the interval wakes it now.
        var ringsUnwatched = false
        var passes = 0
        var wakeUps = 0
        var ringWakeUps = 0
        /// `/proc/TID/syscall` reads for sleep kinds.
        var procReads = 0
        /// Tasks inside a wait4 the ring reports to the loop (entered, not yet returned).
        var ringWaiting: Set<Int32> = []
    }

    /// What the ptrace loop tells the source (`track`, `untrack`, `forked`, `noteWhy`,
    /// `endWhy`), in the loop's order, not yet applied to the machine; and what the loop alone
    /// needs to decide whether a tracked task must be written to the kernel's pid list.
    /// The loop takes only this lock, never `shared`: the reader holds `shared` while it feeds
    /// a whole batch to the machine, and a loop waiting for it keeps a stopped tracee waiting.
    struct LoopSide {
        var inbox: [LoopNote] = []
        /// Tasks the loop has tracked (and not untracked). With `event-fork`, the kernel's pid
        /// list holds them, and each task one of them makes (until it ends).
        var followed: Set<Int> = []
        /// Tasks made by a followed task, announced by `forked` and not tracked yet.
        var forkedByFollowed: Set<Int> = []
        /// Set by `start` (before any `track`).
        var instancePath: String?
        /// In a pid namespace (set by `start`): the reader pairs tids, the pid list is not written.
        var namespaceMode = false
    }

    /// One call of the loop, kept for the reader (`applyLoopNotes`).
    enum LoopNote {
        case track(tid: Int, pid: Int, at: Int64)
        case untrack(tid: Int)
        case forked(child: Int, creator: Int)
        case why(tid: Int, why: String, from: Int64, to: Int64?)
        case endWhy(tid: Int, at: Int64)
    }

    let shared: Mutex<Shared>
    let io = Mutex(ReaderState())
    /// Lock order: `io`, then `shared`, then `loopSide`; the ptrace loop takes `loopSide` alone.
    let loopSide = Mutex(LoopSide())
    /// Whether the tracepoints are enabled (with the kernel's pid filter: once the first task
    /// is followed). Health checks of the event files wait for it.
    let eventsOn = Atomic<Bool>(false)
    /// Whether the wait4 tracepoints are on (set with the events, `enableEvents`): the ptrace
    /// loop then gets wait4 calls from the ring (`Options.waitInbox`), not from ptrace stops.
    let ringWaitsOn = Atomic<Bool>(false)
    /// The wait4 tracepoints' formats were read at set-up (`Options.waitInbox`, initial pid
    /// namespace, kernel pid filter): `followFirst` enables them with the others.
    let waitsReadable = Atomic<Bool>(false)
    /// `drainSoon` asks for a health check at the next pass (the release waits for one).
    let checkSoon = Atomic<Bool>(false)
    /// Set once by `stop`/`cleanup`; the reader checks it between passes.
    private let stopRequested = Atomic<Bool>(false)
    /// Written to wake the reader from its nap at once when it must stop.
    private let wakeFD: Int32
    /// Written by `drainSoon` to end one nap of the reader (read back by it).
    private let hurryFD: Int32
    /// Written by the reader after each drain (the watermark moved), and by `wakeMerger`: what
    /// the merger waits on (`awaitRelease`) instead of polling.
    private let releaseFD: Int32
    /// Whether the kernel wakes the reader at `bufferPercent` (set up in `setUp`).
    let pipesWake = Atomic<Bool>(false)
    private let reader = Mutex<WorkerThread?>(nil)
    /// When the reader's current pass began (monotonic ns; 0 between passes). A pass can wait
    /// seconds in the kernel: its health check reads `events/…/enable`, which takes the kernel's
    /// `event_mutex`, held across RCU grace periods by other recordings' set-up and teardown
    /// (1.3–2.0 s measured beside a flood and a looping recording on 2 busy CPUs).
    let passBegan = Atomic<Int64>(0)
    /// Since when the reader is inside a pass (`passBegan`), or nil between passes.
    public var readerPassBegan: Int64? { let v = passBegan.load(ordering: .sequentiallyConsistent); return v == 0 ? nil : v }
    /// Whether `cleanup` ran (it serialises on this too).
    let cleanedUp = Mutex(false)
    /// The instance `stop()` left for `removeLeftInstance()` (`Options.deferRemoval`).
    let leftInstance = Mutex<String?>(nil)
    /// A pooled instance's directory, open with its "in use" flock (`InstanceLocks`), until the
    /// instance is parked or removed; and whether its recording ended whole (then it may be
    /// parked: `stop()` found it recording to the end and drained it).
    let instanceLock = Mutex<(fd: Int32, mayPark: Bool)>((-1, false))
    /// Whether `start()` claimed a parked instance instead of making one.
    private let claimed = Atomic<Bool>(false)
    /// The write end of the pipe to this instance's warden (`pt_warden_start`), or -1: if this
    /// process dies without handing the instance on, the warden turns it off and removes it.
    /// And whether that warden holds the instance directory's "in use" flock (a pooled
    /// instance's, inherited at its start): then it parks the instance when told to
    /// (`pt_warden_park`), and the recording's end forks no parker.
    let warden = Mutex<(fd: Int32, holdsLock: Bool)>((-1, false))
    public var claimedInstance: Bool { claimed.load(ordering: .sequentiallyConsistent) }

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
    /// Naps of the reader that the kernel ended because a ring reached `buffer_percent`.
    var ringWakeUps: Int { io.withLock { $0.ringWakeUps } }
    /// The reader's own work, for measurements (`PROCTRACE_TIMES`).
    public var readerCounts: String {
        let (cpu, pipeWake) = (readerCPUNanos, pipesWake.load(ordering: .relaxed))
        return io.withLock { r in
            let rings = pipeWake ? (r.ringsUnwatched ? ", then no longer watched" : "") : ", rings not watched"
            return "reader CPU \(cpu / 1000) us, \(r.passes) drains, \(r.wakeUps) naps (\(r.ringWakeUps) ended by a ring\(rings)), " +
                "\(r.readCalls) reads of trace_pipe_raw (\(r.pagesRead) pages), \(r.eventsRead) events, " +
                "\(r.procReads) /proc sleep-kind reads, \(r.fastPasses) drains of fast-filling rings"
        }
    }
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

    /// How long the steps of start, the root's follow and stop took (name, ns), for
    /// `PROCTRACE_TIMES` and docs/states.md's measurements.
    let stepTimes = Mutex<[(String, Int64)]>([])

    /// Runs `body` and notes how long it took under `name`.
    func step<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
        let t0 = monotonicNow()
        defer { let d = monotonicNow() - t0; stepTimes.withLock { $0.append((name, d)) } }
        return try body()
    }

    /// The noted steps, "name 123 us, …".
    public var stepSummary: String {
        stepTimes.withLock { $0.map { "\($0.0) \($0.1 / 1000) us" }.joined(separator: ", ") }
    }

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
        let hfd = pt_eventfd()
        precondition(hfd >= 0, "cannot make an eventfd: errno \(-hfd)")
        self.hurryFD = hfd
        let rfd = pt_eventfd()
        precondition(rfd >= 0, "cannot make an eventfd: errno \(-rfd)")
        self.releaseFD = rfd
    }

    deinit {
        cleanup()
        io.withLock { $0.pageBuffer.deallocate() }
        close(wakeFD)
        close(hurryFD)
        close(releaseFD)
    }

    // MARK: lifecycle

    /// Creates the instance, enables the tracepoints and starts the reader thread.
    public func start() throws {
        let began = monotonicNow()
        defer { let d = monotonicNow() - began; shared.withLock { $0.startNanos = d } }
        if let problem = SchedSource.permissionProblem() { throw SchedError(.permission, problem) }
        guard let root = SchedSource.tracefsRoot() else { throw SchedError(.tracefs, "tracefs unavailable") }
        if let tag = options.instanceTag, !InstanceOwner.isValidTag(tag) {
            throw SchedError(.tracefs, "instance tag \"\(tag)\": 1 to 32 letters and digits")
        }
        var claimed: (path: String, lock: Int32)?
        if options.pooled { claimed = step("claim") { SchedSource.claimParkedInstance(root: root, tag: options.instanceTag) } }
        self.claimed.store(claimed != nil, ordering: .sequentiallyConsistent)
        let made = try claimed ?? step("mkdir") { try SchedSource.makeInstance(root: root, pooled: options.pooled, tag: options.instanceTag) }
        let path = made.path
        instanceLock.withLock { $0 = (made.lock, false) }
        shared.withLock { $0.instancePath = path }
        loopSide.withLock { $0.instancePath = path }
        cleanedUp.withLock { $0 = false }
        do {
            try io.withLock { r in
                r.instancePath = path
                try step("set-up") { try setUp(&r, path) }
                if !ProcFS.inInitialPidNamespace() { try enterNamespaceMode(&r, path) }
            }
        } catch {
            cleanup()
            throw error
        }
        stopRequested.store(false, ordering: .sequentiallyConsistent)
        let t = WorkerThread.start("sched reader") { [self] in
            // A SIGKILLed recorder's instance went on recording (its wait4 syscall events keeping
            // every syscall of the machine on the tracepoint path) until a later recording's
            // sweep: a warden now removes it. Forked here, beside the root's spawn (0.5-2.4 ms,
            // before the loop enables the events, in practice), and joined with the reader
            // before `dismissWarden`. Not as its pid namespace's init: the warden would die with
            // the namespace.
            // It also holds a pooled instance's "in use" flock (its directory, shared with this
            // process), to become its parker at the end: one helper forked per recording.
            if getpid() != 1 {
                let lock = instanceLock.withLock { $0.fd }
                let fd = step("warden") { pt_warden_start(path, lock) }
                warden.withLock { $0 = (fd, fd >= 0 && lock >= 0) }
            }
            // Removing the instances of recorders that are provably gone is nobody's wait: the
            // reader does it first, beside the recorder's spawn of the root (~0.5 ms).
            step("sweep") { _ = SchedSource.removeStaleInstances(root: root) }
            readerLoop()
        }
        reader.withLock { $0 = t }
    }

    // MARK: the merger's side

    public var watermark: Int64 {
        shared.withLock { s in
            applyLoopNotes(&s)
            let held = s.machine.holdBound
            let w = min(s.watermarkMono, held == Int64.max ? Int64.max : held - 1)
            let mark = max(0, w - origin)
            if let first = s.ns?.earliestWaiting { return max(0, min(mark, first - 1)) }
            return mark
        }
    }

    public func take(upTo: Int64 = Int64.max) -> [TraceEvent] {
        shared.withLock { s in
            applyLoopNotes(&s)
            let bound = min(upTo, max(0, s.watermarkMono - origin))
            var out = renumber(&s, s.machine.take(upTo: bound))
            if !s.lateUnknowns.isEmpty { out = takeLateUnknowns(&s, upTo: bound, into: out) }
            return out
        }
    }

    /// Merges the `lateUnknowns` with t ≤ `upTo` into `events` (both in time order).
    func takeLateUnknowns(_ s: inout Shared, upTo: Int64, into events: [TraceEvent]) -> [TraceEvent] {
        let due = s.lateUnknowns.filter { $0.t <= upTo }
        s.lateUnknowns.removeAll { $0.t <= upTo }
        return (events + due).stableSorted(by: \.t)
    }

    /// The state the machine holds for a tid now (for tests and diagnostics).
    func state(of tid: Int) -> ProcState? { shared.withLock { applyLoopNotes(&$0); return $0.machine.state(of: tid) } }

    public func stop() -> [TraceEvent] {
        guard shared.withLock({ $0.instancePath != nil && !$0.stopped }), !cleanedUp.withLock({ $0 }) else { return [] }
        // The reader is joined: from here on this thread alone reads the instance.
        step("stop reader") { stopReader() }
        let lostNow: Int = step("last drain") { io.withLock { r in
            // A stop since the reader's last check is still a stop.
            if shared.withLock({ $0.stoppedReason }) == nil, let problem = healthProblem(r) { feedStopped(&r, problem) }
            // A last calibration point, so the last events are interpolated.
            writeMarker(&r)
            if let path = r.instancePath { SmallFile.write("\(path)/tracing_on", "0") }
            // Drain everything left, then settle pending inferences.
            while drainOnce(&r) > 0 || r.drainCut {}
            release(&r, upTo: Int64.max)
            return countLost()
        } }
        let readOK = io.withLock { $0.readError == nil }
        let rest: [TraceEvent] = shared.withLock { s in
            applyLoopNotes(&s)
            s.machine.flushPending()
            let out = s.machine.take(upTo: Int64.max)
            var rest = renumber(&s, out, final: true)
            if !s.lateUnknowns.isEmpty { rest = takeLateUnknowns(&s, upTo: Int64.max, into: rest) }
            s.finalLost = lostNow + (s.ns?.dropped ?? 0) + stoppedLost(s)
            s.stopped = true
            // Parked only as it was found: recording to the end, its clock left as it was.
            let whole = s.stoppedReason == nil && readOK && !s.clockMode.hasPrefix("mono (fallback")
            instanceLock.withLock { $0.mayPark = whole }
            return rest
        }
        // In a pid namespace other than the machine's, proctrace cannot leave the removal to a
        // detached process: the kernel kills every process of the namespace when its init
        // exits, and the instance stayed behind (with its rings) until a recorder on the host
        // swept it (`helpersOutliveNamespace`).
        let removal: Removal = options.deferRemoval ? .deferred : (Self.helpersOutliveNamespace ? .detached : .now)
        step(removal == .deferred ? "close" : (removal == .now ? "close, remove" : "close, detach removal")) { cleanup(removal: removal) }
        if getenv("PROCTRACE_TIMES") != nil {
            let fed = shared.withLock { $0.machine.counts.summary }
            Recorder.warn("proctrace sched: \(readerCounts); \(fed); \(stepSummary)")
        }
        return rest
    }

    public var lost: Int {
        if let l = shared.withLock({ $0.finalLost }) { return l }
        let counted = countLost()
        return counted + shared.withLock { ($0.ns?.dropped ?? 0) + stoppedLost($0) }
    }

    /// Events known lost because the feed stopped for good: the kernel cannot count them, but
    /// each task that was live (or born) then missed at least its `sched_process_exit`; and the
    /// `state` events read before a loss that stopped the feed but later than it (withdrawn).
    func stoppedLost(_ s: Shared) -> Int { s.machine.stoppedUnknowns + s.machine.withdrawnAfterStop + s.lateUnknownCount }

    /// Lost events: the kernel's per-CPU overrun and dropped counts, or the page headers'
    /// missed counts if those are larger.
    func countLost() -> Int {
        let (path, cpus, pages) = shared.withLock { ($0.instancePath, $0.cpus, $0.missedEvents + $0.missedUnknownPages) }
        let stats = path.map { SchedSource.overruns(instance: $0, cpus: cpus) } ?? 0
        return max(stats, pages)
    }

    /// Asks the reader to finish, wakes it from its nap and joins it (it never blocks for
    /// long: non-blocking reads, short naps). Idempotent.
    func stopReader() {
        stopRequested.store(true, ordering: .sequentiallyConsistent)
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
        let thread: WorkerThread? = reader.withLock { t in defer { t = nil }; return t }
        thread?.join()
    }

    /// Sleeps up to `micros`, less if `stopReader` asks the reader to finish or (`pipes`) the
    /// kernel says a CPU's ring reached `buffer_percent`. Returns whether a ring woke it.
    func nap(_ micros: UInt32, pipes: [Int32]) -> Bool {
        if stopRequested.load(ordering: .sequentiallyConsistent) { return false }
        var pfds = [pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0), pollfd(fd: hurryFD, events: Int16(POLLIN), revents: 0)]
        for fd in pipes { pfds.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0)) }
        let n = poll(&pfds, nfds_t(pfds.count), Int32((micros + 999) / 1000))
        if n > 0 && pfds[1].revents != 0 {
            var count: UInt64 = 0
            _ = read(hurryFD, &count, 8)
        }
        return n > 0 && pfds.dropFirst(2).contains { $0.revents != 0 }
    }

    /// Ends the reader's nap now: a caller about to wait for the watermark (proctrace stopping
    /// on Ctrl-Z) need not wait out the drain interval.
    public func drainSoon() {
        checkSoon.store(true, ordering: .sequentiallyConsistent)
        var one: UInt64 = 1
        _ = write(hurryFD, &one, 8)
    }

    /// The reader released more: wakes the merger's `awaitRelease`.
    func releasedMore() {
        var one: UInt64 = 1
        _ = write(releaseFD, &one, 8)
    }

    public func awaitRelease(timeoutMicros: UInt32) {
        // The reader signals after every drain; the timeout only guards against a lost signal.
        var pfd = pollfd(fd: releaseFD, events: Int16(POLLIN), revents: 0)
        let wait = max(timeoutMicros, 4 * options.drainIntervalMicros)
        if poll(&pfd, 1, Int32((wait + 999) / 1000)) > 0 {
            var count: UInt64 = 0
            _ = read(releaseFD, &count, 8)
        }
    }

    public func wakeMerger() { releasedMore() }

    var isStopRequested: Bool { stopRequested.load(ordering: .sequentiallyConsistent) }
}

#endif
