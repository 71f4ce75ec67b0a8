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
public final class SampledStateSource: StateSource, @unchecked Sendable {
    public let kind = "sampled"
    public let origin: Int64
    /// Polling interval in microseconds (default 5 ms).
    public let intervalMicros: UInt32

    private struct Task { var pid: Int; var state: ProcState; var letter: Character?; var why: String? }

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

    public init(origin: Int64, intervalMicros: UInt32 = 5000) {
        self.origin = origin
        self.intervalMicros = intervalMicros
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

    public var lost: Int { 0 }

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
            for (tid, letter, syscall) in seen {
                guard var task = tasks[tid], task.state != .terminated else { continue }
                let sleepWhy = (letter == "S" || letter == "D" || letter == "I") ? (note(tid, t) ?? syscall) : nil
                // A sleep in another syscall than last time: it woke and ran in between.
                let resleep = task.state == .blocked && letter == task.letter && sleepWhy != nil && sleepWhy != task.why
                guard letter != task.letter || task.state == .new || resleep else { continue }
                task.letter = letter
                task.why = sleepWhy
                tasks[tid] = task
                switch letter {
                case "R":
                    if task.state == .new || task.state == .blocked { emit(tid, .ready, t, nil) }
                    emit(tid, .running, t, nil)
                case "S", "D", "I":
                    if task.state != .running { emit(tid, .ready, t, nil); emit(tid, .running, t, nil) }
                    emit(tid, .blocked, t, sleepWhy)
                case "T", "t":
                    if task.state != .running { emit(tid, .ready, t, nil); emit(tid, .running, t, nil) }
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
        let from = task.state
        task.state = to
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

#if os(Linux)
/// Picks the state source for `record --states MODE`.
public enum StateSources {
    /// The source for `mode` ("sched", "sampled" or "none"; nil source for "none"). A "sched"
    /// request that is not permitted falls back to sampling, with a one-line note for stderr.
    public static func make(mode: String, origin: Int64, sampleIntervalMicros: UInt32 = 5000,
                            schedOptions: SchedSource.Options = .init()) -> (source: StateSource?, note: String?) {
        switch mode {
        case "none":
            return (nil, nil)
        case "sampled":
            return (SampledStateSource(origin: origin, intervalMicros: sampleIntervalMicros), nil)
        default:
            if let problem = SchedSource.permissionProblem() {
                return (SampledStateSource(origin: origin, intervalMicros: sampleIntervalMicros),
                        "proctrace: scheduler events unavailable (\(problem)); using --states sampled")
            }
            return (SchedSource(origin: origin, options: schedOptions), nil)
        }
    }
}
#endif
