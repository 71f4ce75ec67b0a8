#if os(Linux)
@preconcurrency import Glibc
import Foundation
import Lifecycle

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
public final class SampledStateSource: StateFeed, @unchecked Sendable {
    public let kind = "sampled"
    public let origin: Int64
    /// Polling interval in microseconds (default 5 ms).
    public let intervalMicros: UInt32

    private struct Task {
        var pid: Int; var state: ProcState; var letter: Character?; var why: String?
        /// Its latest transitions (time, new state): what it was at the tracer's exit time.
        var recent: [(t: Int64, to: ProcState)] = []
        func state(at t: Int64) -> ProcState { recent.last(where: { $0.t <= t })?.to ?? .new }
    }

    private let lock = NSLock()
    private var tasks: [Int: Task] = [:]
    private var whyNotes: [Int: [(why: String, from: Int64, to: Int64?)]] = [:]
    private var output: [TraceEvent] = []
    private var sampledUpTo: Int64 = 0
    private var thread: Thread?
    private var stopRequested = false
    private var running = false
    private var cleanedUp = false
    public private(set) var samples = 0
    /// A gap this long between two samples (ns) is a stall: what happened in it is unknown.
    public var stallThresholdNanos: Int64
    /// When the last sample was taken (trace-relative ns; nil before the first).
    private var lastSampleT: Int64?
    /// `unknown` events written for stalls (each task made unknown may have missed any
    /// number of transitions: counted as one lost event at least).
    private var stallUnknowns = 0

    public init(origin: Int64, intervalMicros: UInt32 = 5000) {
        self.origin = origin
        self.intervalMicros = intervalMicros
        self.stallThresholdNanos = max(100_000_000, 20 * Int64(intervalMicros) * 1000)
    }

    deinit { cleanup() }

    public func start() throws {
        lock.withLock { stopRequested = false; running = true }
        let t = Thread { [self] in loop() }
        t.name = "proctrace-sampled"
        thread = t
        t.start()
    }

    public func track(tid: Int, pid: Int, at: Int64) {
        lock.withLock {
            if tasks[tid] == nil { tasks[tid] = Task(pid: pid, state: .new, letter: nil, why: nil) }
            else { tasks[tid]!.pid = pid }
        }
    }

    public func untrack(tid: Int) { lock.withLock { tasks[tid] = nil; whyNotes[tid] = nil } }

    /// A sample may come after the tracer saw the task die (even after its reap), so the
    /// tracer's own exit time is the end: →terminated at `at` from what it was then, and the
    /// task is dropped. What was sampled of it after `at` (still here, or already taken: the
    /// merger drops those by the returned `tids`) is stale and goes.
    public func ended(pid: Int, tid: Int?, at: Int64) -> (events: [TraceEvent], tids: [Int]) {
        lock.withLock {
            let gone = tid.map { [$0] } ?? tasks.filter { $0.value.pid == pid }.map(\.key).sorted()
            let goneSet = Set(gone)
            output.removeAll { e in
                guard case .state(_, let t, _, _, _) = e.kind, let t else { return false }
                return goneSet.contains(t) && e.t > at
            }
            var out: [TraceEvent] = []
            for t in gone {
                guard let task = tasks[t] else { continue }
                let then = task.state(at: at)
                if then != .terminated {
                    // Out of unknown, a task that ends was running.
                    out.append(TraceEvent(t: at, .state(pid: task.pid, tid: t, from: then == .unknown ? .running : then, to: .terminated, why: nil)))
                }
                tasks[t] = nil
                whyNotes[t] = nil
            }
            return (out, gone)
        }
    }

    public func noteWhy(tid: Int, why: String, from: Int64, to: Int64?) {
        lock.withLock { whyNotes[tid, default: []].append((why, from, to)) }
    }

    public func endWhy(tid: Int, at: Int64) {
        lock.withLock {
            guard var notes = whyNotes[tid] else { return }
            for i in notes.indices where notes[i].to == nil { notes[i].to = at }
            whyNotes[tid] = notes
        }
    }

    public var watermark: Int64 { lock.withLock { sampledUpTo } }

    public func take(upTo: Int64 = Int64.max) -> [TraceEvent] {
        lock.withLock {
            let bound = min(upTo, sampledUpTo)
            let out = output.filter { $0.t <= bound }
            output.removeAll { $0.t <= bound }
            return out
        }
    }

    public func stop() -> [TraceEvent] {
        stopThread()
        sampleOnce()
        return lock.withLock {
            let out = output
            output = []
            return out
        }
    }

    public var lost: Int { lock.withLock { stallUnknowns } }

    public func cleanup() {
        let done: Bool = lock.withLock { let d = cleanedUp; cleanedUp = true; return d }
        if !done { stopThread() }
    }

    private func stopThread() {
        lock.withLock { stopRequested = true }
        for _ in 0..<2000 where lock.withLock({ running }) { usleep(1000) }
    }

    private func loop() {
        while !lock.withLock({ stopRequested }) {
            sampleOnce()
            usleep(intervalMicros)
        }
        lock.withLock { running = false }
    }

    /// Reads every followed task's state letter once and records the changes.
    func sampleOnce() {
        let tids = lock.withLock { Array(tasks.keys) }
        var seen: [(Int, Character?, String?)] = []
        for tid in tids {
            let pid = lock.withLock { tasks[tid]?.pid } ?? tid
            let letter = SampledStateSource.stateLetter(pid: pid, tid: tid)
            var syscall: String?
            if letter == "S" || letter == "D" { syscall = SchedSource.procSyscallName(tid) }
            seen.append((tid, letter, syscall))
        }
        let t = max(0, monotonicNow() - origin)
        lock.withLock {
            samples += 1
            if let last = lastSampleT, t - last > stallThresholdNanos {
                // The sampler did not run (a loaded machine, proctrace stopped): what the
                // tasks did since the last sample is unknown; this sample says where they are.
                let reason = "state sampling stalled for \(TimeFormat.duration(t - last))"
                for tid in tasks.keys.sorted() {
                    guard var task = tasks[tid], task.state != .terminated, task.state != .unknown else { continue }
                    task.state = .unknown
                    task.recent.append((last, .unknown))
                    tasks[tid] = task
                    output.append(TraceEvent(t: last, .stateUnknown(pid: task.pid, tid: tid, reason: reason)))
                    stallUnknowns += 1
                }
            }
            lastSampleT = t
            for (tid, letter, syscall) in seen {
                guard var task = tasks[tid], task.state != .terminated else { continue }
                let sleepWhy = (letter == "S" || letter == "D" || letter == "I") ? (note(tid, t) ?? syscall) : nil
                // A sleep in another syscall than last time: it woke and ran in between.
                let resleep = task.state == .blocked && letter == task.letter && sleepWhy != nil && sleepWhy != task.why
                guard letter != task.letter || task.state == .new || task.state == .unknown || resleep else { continue }
                task.letter = letter
                task.why = sleepWhy
                tasks[tid] = task
                switch letter {
                case "R":
                    if task.state == .new || task.state == .blocked { emit(tid, .ready, t, nil) }
                    emit(tid, .running, t, nil)
                case "S", "D", "I":
                    if task.state != .running && task.state != .unknown { emit(tid, .ready, t, nil); emit(tid, .running, t, nil) }
                    emit(tid, .blocked, t, sleepWhy)
                case "T", "t":
                    if task.state != .running && task.state != .unknown { emit(tid, .ready, t, nil); emit(tid, .running, t, nil) }
                    let noted = note(tid, t)
                    let why = letter == "t" ? "traced" : (noted.flatMap { $0.hasPrefix("stopped") ? $0 : nil } ?? "stopped")
                    emit(tid, .blocked, t, why)
                default: // Z, X, or gone
                    emit(tid, .terminated, t, nil)
                }
            }
            sampledUpTo = t
        }
    }

    private func note(_ tid: Int, _ t: Int64) -> String? {
        guard let notes = whyNotes[tid] else { return nil }
        for n in notes.reversed() where n.from <= t && (n.to.map { t <= $0 } ?? true) { return n.why }
        return nil
    }

    /// Caller holds the lock.
    private func emit(_ tid: Int, _ to: ProcState, _ t: Int64, _ why: String?) {
        guard var task = tasks[tid], task.state != to else { return }
        if task.state == .running && to == .running { return }
        // Out of unknown, `from` is what the sample implies: runnable came from ready; asleep,
        // stopped or gone, from running.
        let from = task.state == .unknown ? (to == .running ? .ready : .running) : task.state
        task.state = to
        task.recent.append((t, to))
        if task.recent.count > 16 { task.recent.removeFirst(task.recent.count - 16) }
        tasks[tid] = task
        output.append(TraceEvent(t: t, .state(pid: task.pid, tid: tid, from: from, to: to, why: why)))
    }

    /// The state letter in `/proc/PID/task/TID/stat` (the field after the parenthesised comm).
    static func stateLetter(pid: Int, tid: Int) -> Character? {
        guard let text = readSmallFile("/proc/\(pid)/task/\(tid)/stat") ?? readSmallFile("/proc/\(tid)/stat") else { return nil }
        return stateLetter(statLine: text)
    }

    /// The state letter of a `stat` line: the comm may itself hold spaces and parentheses.
    static func stateLetter(statLine text: String) -> Character? {
        guard let close = text.lastIndex(of: ")") else { return nil }
        return text[text.index(after: close)...].drop(while: { $0 == " " }).first
    }
}
#endif
