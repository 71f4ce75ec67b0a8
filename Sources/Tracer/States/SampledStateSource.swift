#if os(Linux)
@preconcurrency import Glibc
import Lifecycle
import Synchronization

/// States by polling `/proc/PID/task/TID/stat` when scheduler events are not permitted.
///
/// Sampling cannot tell running from ready (both are `R`), so a runnable task is recorded as
/// `running` and every move into it goes through a zero-length `ready` (new→ready→running,
/// blocked→ready→running at the same t), which keeps every path legal in the five-state
/// model; the header says `states:"sampled"` and views call `running` "runnable". `S`/`D` are
/// `blocked` (why from `noteWhy`, else the syscall from `/proc/TID/syscall`), `T` is blocked
/// with why "stopped" (or a noted "stopped:SIG…"), `t` is blocked with why "traced",
/// `Z`/`X`/gone is `terminated`. Transitions are stamped at the sample that saw them, so each
/// can be up to one interval late; anything shorter than an interval can be missed.
public final class SampledStateSource: StateFeed {
    public let source = StateSource.sampled
    let origin: Int64
    /// Polling interval in microseconds (default 5 ms).
    let intervalMicros: UInt32

    private struct Task {
        /// Tells this task from others with the same tid (pid reuse): unique in this source.
        var serial: Int
        var pid: Int; var state: ProcState; var letter: Character?; var why: String?
        /// Its latest transitions (time, new state): what it was at the tracer's exit time.
        var recent: [(t: Int64, to: ProcState)] = []
        func state(at t: Int64) -> ProcState { recent.last(where: { $0.t <= t })?.to ?? .new }
    }

    private struct State {
        /// The latest task of each tid.
        var tasks: [Int: Task] = [:]
        /// Earlier tasks of a tid that `track` replaced (its pid was reused) before the tracer's
        /// end of them reached `ended`, oldest first.
        var replaced: [Int: [Task]] = [:]
        var nextSerial = 0
        var whyNotes: [Int: [(why: String, from: Int64, to: Int64?)]] = [:]
        /// Events not taken yet, with the serial of the task each is about.
        var output: [(serial: Int, event: TraceEvent)] = []
        var sampledUpTo: Int64 = 0
        var samples = 0
        /// When the last sample was taken (trace-relative ns; nil before the first).
        var lastSampleT: Int64?
        /// `unknown` events written for stalls (each task made unknown may have missed any
        /// number of transitions: counted as one lost event at least).
        var stallUnknowns = 0
        var stallThresholdNanos: Int64

        func note(_ tid: Int, _ t: Int64) -> String? {
            guard let notes = whyNotes[tid] else { return nil }
            for n in notes.reversed() where n.from <= t && (n.to.map { t <= $0 } ?? true) { return n.why }
            return nil
        }

        mutating func emit(_ tid: Int, _ to: ProcState, _ t: Int64, _ why: String?) {
            guard var task = tasks[tid], task.state != to else { return }
            if task.state == .running && to == .running { return }
            // Out of unknown, `from` is what the sample implies: runnable came from ready; asleep,
            // stopped or gone, from running.
            let from = task.state == .unknown ? (to == .running ? .ready : .running) : task.state
            task.state = to
            task.recent.append((t, to))
            if task.recent.count > 16 { task.recent.removeFirst(task.recent.count - 16) }
            tasks[tid] = task
            output.append((task.serial, TraceEvent(t: t, .state(pid: task.pid, tid: tid, from: from, to: to, why: why))))
        }
    }

    private let state: Mutex<State>
    private let stopRequested = Atomic<Bool>(false)
    private let thread = Mutex<WorkerThread?>(nil)
    /// Whether `cleanup` ran.
    private let cleanedUp = Mutex(false)
    /// Samples taken so far.
    var samples: Int { state.withLock { $0.samples } }
    /// A gap this long between two samples (ns) is a stall: what happened in it is unknown.
    var stallThresholdNanos: Int64 {
        get { state.withLock { $0.stallThresholdNanos } }
        set { state.withLock { $0.stallThresholdNanos = newValue } }
    }

    public init(origin: Int64, intervalMicros: UInt32 = 5000) {
        self.origin = origin
        self.intervalMicros = intervalMicros
        self.state = Mutex(State(stallThresholdNanos: max(100_000_000, 20 * Int64(intervalMicros) * 1000)))
    }

    deinit { cleanup() }

    public func start() throws {
        stopRequested.store(false, ordering: .sequentiallyConsistent)
        let t = WorkerThread.start("state sampler") { [self] in loop() }
        thread.withLock { $0 = t }
    }

    /// Each call is a new task (the tracer calls it once per task, at its birth): a tid still
    /// followed was reused, and its earlier task waits for its `ended`.
    public func track(tid: Int, pid: Int, at: Int64) {
        state.withLock { s in
            if let old = s.tasks[tid] {
                s.replaced[tid, default: []].append(old)
                // What a sample of the tid showed from this birth on was not the earlier task
                // (not taken yet: the merger waits for the tracer, which is here), and its
                // notes end before this one was born.
                s.output.removeAll { $0.serial == old.serial && $0.event.t >= at }
                s.whyNotes[tid] = s.whyNotes[tid]?.filter { $0.from >= at }
            }
            s.nextSerial += 1
            s.tasks[tid] = Task(serial: s.nextSerial, pid: pid, state: .new, letter: nil, why: nil)
        }
    }

    public func untrack(tid: Int) { state.withLock { $0.tasks[tid] = nil; $0.replaced[tid] = nil; $0.whyNotes[tid] = nil } }

    /// A sample may come after the tracer saw the task die (even after its reap), so the
    /// tracer's own exit time is the end: →terminated at `at` from what it was then, and the
    /// task is dropped. What was sampled of it after `at` (still here, or already taken: the
    /// merger drops those by the returned `tids`) is stale and goes.
    ///
    /// The task ended is the tid's oldest one not ended yet: ends come in the trace's order,
    /// and a tid is reused only after its task's end.
    public func ended(pid: Int, tid: Int?, at: Int64) -> (events: [TraceEvent], tids: [Int]) {
        state.withLock { s in
            // The tid's oldest task, if it belongs to `pid`.
            func oldest(_ t: Int) -> Task? {
                if let r = s.replaced[t]?.first { return r.pid == pid ? r : nil }
                return s.tasks[t].flatMap { $0.pid == pid ? $0 : nil }
            }
            let candidates = tid.map { [$0] }
                ?? Set(s.tasks.filter { $0.value.pid == pid }.map(\.key))
                    .union(s.replaced.filter { $0.value.contains { $0.pid == pid } }.map(\.key)).sorted()
            var gone: [Int] = []
            var out: [TraceEvent] = []
            for t in candidates {
                guard let task = oldest(t) else { continue }
                gone.append(t)
                s.output.removeAll { $0.serial == task.serial && $0.event.t > at }
                let then = task.state(at: at)
                if then != .terminated {
                    // Out of unknown, a task that ends was running.
                    out.append(TraceEvent(t: at, .state(pid: task.pid, tid: t, from: then == .unknown ? .running : then, to: .terminated, why: nil)))
                }
                if s.replaced[t]?.isEmpty == false {
                    s.replaced[t]!.removeFirst()
                    if s.replaced[t]!.isEmpty { s.replaced[t] = nil }
                } else {
                    s.tasks[t] = nil
                    s.whyNotes[t] = nil
                }
            }
            return (out, gone)
        }
    }

    public func noteWhy(tid: Int, why: String, from: Int64, to: Int64?) {
        state.withLock { $0.whyNotes[tid, default: []].append((why, from, to)) }
    }

    public func endWhy(tid: Int, at: Int64) {
        state.withLock { s in
            guard var notes = s.whyNotes[tid] else { return }
            for i in notes.indices where notes[i].to == nil { notes[i].to = at }
            s.whyNotes[tid] = notes
        }
    }

    public var watermark: Int64 { state.withLock { $0.sampledUpTo } }

    public func take(upTo: Int64 = Int64.max) -> [TraceEvent] {
        state.withLock { s in
            let bound = min(upTo, s.sampledUpTo)
            let out = s.output.filter { $0.event.t <= bound }.map(\.event)
            s.output.removeAll { $0.event.t <= bound }
            return out
        }
    }

    public func stop() -> [TraceEvent] {
        stopThread()
        sampleOnce()
        return state.withLock { s in
            let out = s.output.map(\.event)
            s.output = []
            return out
        }
    }

    public var lost: Int { state.withLock { $0.stallUnknowns } }

    public func cleanup() {
        let done: Bool = cleanedUp.withLock { d in defer { d = true }; return d }
        if !done { stopThread() }
    }

    /// Asks the sampler to finish and joins it (it sleeps one interval at most). Idempotent.
    private func stopThread() {
        stopRequested.store(true, ordering: .sequentiallyConsistent)
        let t: WorkerThread? = thread.withLock { t in defer { t = nil }; return t }
        t?.join()
    }

    private func loop() {
        while !stopRequested.load(ordering: .sequentiallyConsistent) {
            sampleOnce()
            usleep(intervalMicros)
        }
    }

    /// Reads every followed task's state letter once and records the changes.
    func sampleOnce() {
        let followed = state.withLock { $0.tasks.map { (tid: $0.key, serial: $0.value.serial, pid: $0.value.pid) } }
        // Each task's sample is stamped just before it is read (what it shows was true a few
        // microseconds after that), so the stamps rise in reading order.
        var seen: [(tid: Int, serial: Int, t: Int64, letter: Character?, syscall: String?)] = []
        for f in followed {
            let t = max(0, monotonicNow() - origin)
            let letter = SampledStateSource.stateLetter(pid: f.pid, tid: f.tid)
            var syscall: String?
            if letter == "S" || letter == "D" { syscall = SchedSource.procSyscallName(f.tid) }
            seen.append((f.tid, f.serial, t, letter, syscall))
        }
        let end = max(0, monotonicNow() - origin)
        let sample = seen
        state.withLock { s in
            s.samples += 1
            let passStart = sample.first?.t ?? end
            if let last = s.lastSampleT, passStart - last > s.stallThresholdNanos {
                // The sampler did not run (a loaded machine, proctrace stopped): what the
                // tasks did since the last sample is unknown; this sample says where they are.
                let reason = "state sampling stalled for \(TimeFormat.duration(passStart - last))"
                for tid in s.tasks.keys.sorted() {
                    guard var task = s.tasks[tid], task.state != .terminated, task.state != .unknown else { continue }
                    task.state = .unknown
                    task.recent.append((last, .unknown))
                    s.tasks[tid] = task
                    s.output.append((task.serial, TraceEvent(t: last, .stateUnknown(pid: task.pid, tid: tid, reason: reason))))
                    s.stallUnknowns += 1
                }
            }
            s.lastSampleT = end
            for (tid, serial, t, letter, rawSyscall) in sample {
                // The tracer sees every traced wait call exactly (noted from its entry to its
                // return); a wait in /proc that no note covers is one the read raced.
                let syscall = WaitCall.isWaitReason(rawSyscall) ? nil : rawSyscall
                // Only about the task that was read: a tid reused meanwhile names another.
                guard var task = s.tasks[tid], task.serial == serial, task.state != .terminated else { continue }
                let sleepWhy = (letter == "S" || letter == "D" || letter == "I") ? (s.note(tid, t) ?? syscall) : nil
                // A sleep in another syscall than last time: it woke and ran in between.
                let resleep = task.state == .blocked && letter == task.letter && sleepWhy != nil && sleepWhy != task.why
                guard letter != task.letter || task.state == .new || task.state == .unknown || resleep else { continue }
                task.letter = letter
                task.why = sleepWhy
                s.tasks[tid] = task
                switch letter {
                case "R":
                    if task.state == .new || task.state == .blocked { s.emit(tid, .ready, t, nil) }
                    s.emit(tid, .running, t, nil)
                case "S", "D", "I":
                    if task.state != .running && task.state != .unknown { s.emit(tid, .ready, t, nil); s.emit(tid, .running, t, nil) }
                    s.emit(tid, .blocked, t, sleepWhy)
                case "T", "t":
                    if task.state != .running && task.state != .unknown { s.emit(tid, .ready, t, nil); s.emit(tid, .running, t, nil) }
                    let noted = s.note(tid, t)
                    let why = letter == "t" ? "traced" : (noted.flatMap { $0.hasPrefix("stopped") ? $0 : nil } ?? "stopped")
                    s.emit(tid, .blocked, t, why)
                default: // Z, X, or gone
                    s.emit(tid, .terminated, t, nil)
                }
            }
            s.sampledUpTo = end
        }
    }

    /// The state letter in `/proc/PID/task/TID/stat` (the field after the parenthesised comm).
    static func stateLetter(pid: Int, tid: Int) -> Character? {
        guard let text = SmallFile.text("/proc/\(pid)/task/\(tid)/stat") ?? SmallFile.text("/proc/\(tid)/stat") else { return nil }
        return stateLetter(statLine: text)
    }

    /// The state letter of a `stat` line: the comm may itself hold spaces and parentheses.
    static func stateLetter(statLine text: String) -> Character? {
        guard let close = text.lastIndex(of: ")") else { return nil }
        return text[text.index(after: close)...].drop(while: { $0 == " " }).first
    }
}
#endif
