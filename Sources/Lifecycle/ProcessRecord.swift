/// A process as the model knows it: a pid plus which incarnation of that pid it is. A pid
/// that appears again after its reap is a new process with the next generation (1, 2, …).
public struct ProcessID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var pid: Int
    public var generation: Int
    public init(pid: Int, generation: Int = 1) { self.pid = pid; self.generation = generation }
    public static func < (a: ProcessID, b: ProcessID) -> Bool { (a.pid, a.generation) < (b.pid, b.generation) }
    /// `4101` for the first process with that pid, `4101#2` for the second, and so on.
    public var description: String { generation == 1 ? "\(pid)" : "\(pid)#\(generation)" }
}

/// Projections between the five-state and the three-state model.
public enum StateModel: String, Sendable, CaseIterable {
    case three, five

    /// The three-state model's view of a five-state state: `new` counts as ready (admitted,
    /// waiting for a CPU) and `terminated` has no three-state equivalent (nil).
    public static func three(_ s: ProcState) -> ProcState? {
        switch s {
        case .new: return .ready
        case .ready, .running, .blocked, .unknown: return s
        case .terminated: return nil
        }
    }

    /// The label a view shows for a state in this model, given what the source can tell:
    /// ready and running are "runnable" for sampled states and "alive" without states.
    public func label(_ s: ProcState, source: StateSource) -> String {
        let projected: ProcState? = self == .three ? StateModel.three(s) : s
        guard let p = projected else { return "zombie" }
        if p == .unknown { return "unknown" }
        if p == .ready || p == .running {
            // Without scheduler states ready and running cannot be told apart; without any
            // states, "running" only means alive and not inside a wait call.
            if source == .none { return "alive" }
            if source == .sampled { return "runnable" }
        }
        return p.rawValue
    }
}

/// One successful exec.
public struct ExecRecord: Equatable, Sendable {
    public var t: Int64
    public var path: String
    public var argv: [String]
    public var exe: String?
    public var elf: ELFInfo?
    public init(t: Int64, path: String, argv: [String], exe: String? = nil, elf: ELFInfo? = nil) {
        self.t = t; self.path = path; self.argv = argv; self.exe = exe; self.elf = elf
    }
}

/// An exec that failed (an `exec` event with an `error`): the process kept its old image.
public struct FailedExec: Equatable, Sendable {
    public var t: Int64
    public var path: String
    public var argv: [String]
    /// The errno name (`ENOENT`, `EACCES`, …).
    public var error: String
    public init(t: Int64, path: String, argv: [String], error: String) { self.t = t; self.path = path; self.argv = argv; self.error = error }
}

/// A run of failed execs of one process, up to the exec that then succeeded (a shell or
/// `execvp` probing each directory of `PATH`).
public struct FailedExecRun: Equatable, Sendable {
    public var failures: [FailedExec]
    /// The exec that succeeded right after them; nil when none did.
    public var then: ExecRecord?

    /// "3 failed execs (ENOENT) before /usr/bin/cc", "2 failed execs (ENOENT, EACCES) of nosuchcmd".
    public var summary: String {
        var errors: [String] = []
        for f in failures where !errors.contains(f.error) { errors.append(f.error) }
        var s = "\(failures.count) failed exec\(failures.count == 1 ? "" : "s") (\(errors.joined(separator: ", ")))"
        if let then {
            s += " before \(then.path)"
        } else if let last = failures.last {
            let name = basename(last.path)
            s += " of \(name.isEmpty ? "?" : name)"
        }
        return s
    }
}

/// A thread of a process (the main thread's tid is the pid).
public struct ThreadRecord: Equatable, Sendable {
    public var tid: Int
    public var start: Int64
    public var end: Int64?
    public init(tid: Int, start: Int64, end: Int64? = nil) { self.tid = tid; self.start = start; self.end = end }
}

/// The kernel gave the process a new parent because its parent died.
public struct Reparent: Equatable, Sendable {
    public var t: Int64
    public var from: Int
    public var to: Int
    public init(t: Int64, from: Int, to: Int) { self.t = t; self.from = from; self.to = to }
}

/// One wait-family call, from its begin to its end (nil while still waiting at trace end).
public struct WaitRecord: Equatable, Sendable {
    public var tid: Int?
    public var begin: Int64
    public var end: Int64?
    public var call: WaitCall
    public var target: Int
    public var options: [String]
    public var result: WaitResult?
    public var status: ExitStatus?
    /// When a signal interrupted the call and the kernel restarted it (the end's `restarted`):
    /// still this one call, not a new one.
    public var restarted: [Int64]
    public init(tid: Int?, begin: Int64, end: Int64? = nil, call: WaitCall, target: Int, options: [String],
                result: WaitResult? = nil, status: ExitStatus? = nil, restarted: [Int64] = []) {
        self.tid = tid; self.begin = begin; self.end = end; self.call = call; self.target = target
        self.options = options; self.result = result; self.status = status; self.restarted = restarted
    }
    /// How long the call lasted (nil if it had not returned when the trace ended).
    public var duration: Int64? { end.map { $0 - begin } }
    /// What every reader says of a restarted call: `restarted after a signal at 0.100123s`
    /// (`after 2 signals at 0.1s, 0.2s`); nil when no signal interrupted it.
    public var restartNote: String? { Self.restartNote(restarted) }
    public static func restartNote(_ times: [Int64]) -> String? {
        guard !times.isEmpty else { return nil }
        let at = times.map { TimeFormat.clock($0) + "s" }.joined(separator: ", ")
        return "restarted after " + (times.count == 1 ? "a signal" : "\(times.count) signals") + " at " + at
    }
}

/// A signal delivered to the process.
public struct SignalRecord: Equatable, Sendable {
    public var t: Int64
    public var sig: String
    public var from: Int?
    public var code: String?
    public init(t: Int64, sig: String, from: Int? = nil, code: String? = nil) { self.t = t; self.sig = sig; self.from = from; self.code = code }
}

/// A process-group or session change (`setsid`, `setpgid`).
public struct GroupChange: Equatable, Sendable {
    public var t: Int64
    public var pgid: Int
    public var sid: Int
    public var call: GroupCall
    public var by: Int
    public init(t: Int64, pgid: Int, sid: Int, call: GroupCall, by: Int) { self.t = t; self.pgid = pgid; self.sid = sid; self.call = call; self.by = by }
}

/// A stretch of time in one state: per thread (`tid`) when the trace has thread states,
/// else for the whole process (`tid` nil). `end` is exclusive.
public struct StateInterval: Equatable, Sendable {
    public var tid: Int?
    public var state: ProcState
    public var start: Int64
    public var end: Int64
    public var why: String?
    public init(tid: Int?, state: ProcState, start: Int64, end: Int64, why: String? = nil) {
        self.tid = tid; self.state = state; self.start = start; self.end = end; self.why = why
    }
    public var duration: Int64 { end - start }
}

/// An `unknown` event: from `t` the state source no longer knew the task's state.
public struct UnknownState: Equatable, Sendable {
    public var tid: Int?
    public var t: Int64
    public var reason: String
    public init(tid: Int?, t: Int64, reason: String) { self.tid = tid; self.t = t; self.reason = reason }
}

/// Everything the trace says about one process, from its fork to its reap.
public struct ProcessRecord: Sendable {
    public var id: ProcessID
    public var pid: Int { id.pid }
    /// The real parent at fork (nil for the root, or a parent proctrace did not trace).
    public var parent: ProcessID?
    /// The real parent's pid at fork (the root's comes from the spawn's `ppid`, else 0).
    public var parentPid: Int
    /// Who made the fork call (differs from `parent` with CLONE_PARENT).
    public var creator: ProcessID?
    /// `fork`, `vfork`, `clone`, `spawn` for the root, `unseen` if its birth was not recorded.
    public var via: ProcessOrigin
    /// Already running when `record -p` attached (`via` .attach): how long it had been
    /// running then (from /proc, to the clock tick), when the trace says.
    public var ageAtAttach: Int64?
    public var attached: Bool { via == .attach }
    /// Time of the fork or spawn.
    public var birth: Int64
    /// Its pid in each pid namespace from proctrace's down to its own (the fork's `nspid`),
    /// when it lives in a namespace nested below proctrace's; nil otherwise.
    public var nspid: [Int]?
    /// Its pid as its own namespace numbers it (1: the namespace's init), when that differs.
    public var innerPid: Int? { nspid.flatMap { $0.count > 1 ? $0.last : nil } }
    /// Line of the fork or spawn event (0 for an unseen birth).
    public var birthLine: Int
    /// argv at birth (the parent's image until the first exec).
    public var initialArgv: [String]
    /// The image it was born running (the parent's latest exec path), if known.
    public var initialImage: String?
    public var execs: [ExecRecord] = []
    /// Execs that failed (the trace's `exec` events with an `error`), in order.
    public var failedExecs: [FailedExec] = []
    public var threads: [ThreadRecord] = []
    public var exitTime: Int64?
    public var exitStatus: ExitStatus?
    public var reapTime: Int64?
    /// The pid that reaped it (for the root: proctrace's own pid).
    public var reapedBy: Int?
    /// How it was reaped.
    public var reapHow: ReapHow?
    /// proctrace gave up watching this zombie (`unobserved: true` on the reap).
    public var reapUnobserved = false
    public var reparents: [Reparent] = []
    public var waits: [WaitRecord] = []
    public var signals: [SignalRecord] = []
    public var groups: [GroupChange] = []
    /// Process group and session at birth (inherited, or from the spawn event), if known.
    public var initialPgid: Int?
    public var initialSid: Int?
    /// Per-thread (or whole-process) state intervals; see `processStates()` for the merge.
    public var stateIntervals: [StateInterval] = []
    /// The `unknown` events about its tasks, in trace order (the intervals they start are in
    /// `stateIntervals` with state `.unknown`).
    public var unknownStates: [UnknownState] = []
    /// Time its whole-process state was unknown (0 when the source never stopped for it).
    public var unknownTime: Int64 { processStates().filter { $0.state == .unknown }.reduce(0) { $0 + $1.duration } }
    /// True when the intervals come from `state` events, false when derived from lifecycle events.
    public var statesRecorded = false
    /// When the first `state` or `unknown` event about it came.
    var firstStateEvent: Int64?
    /// The children it forked (real-parent relation), in birth order.
    public var children: [ProcessID] = []
    /// When the process stops being visible: its reap, or the end of the trace.
    public var lastSeen: Int64 = 0

    public init(id: ProcessID, parent: ProcessID?, parentPid: Int, creator: ProcessID?, via: ProcessOrigin,
                birth: Int64, birthLine: Int, initialArgv: [String]) {
        self.id = id; self.parent = parent; self.parentPid = parentPid; self.creator = creator; self.via = via
        self.birth = birth; self.birthLine = birthLine; self.initialArgv = initialArgv
        self.threads = [ThreadRecord(tid: id.pid, start: birth)]
    }

    /// Basenames of the images it ran, in order (the inherited image when it never exec'd):
    /// how every view names a process.
    /// The failed execs grouped by the successful exec each run preceded, in time order.
    public var failedExecRuns: [FailedExecRun] {
        var runs: [FailedExecRun] = []
        var current: [FailedExec] = []
        var k = 0
        for f in failedExecs {
            // Close the runs of the execs that succeeded before this failure.
            while k < execs.count && execs[k].t < f.t {
                if !current.isEmpty { runs.append(FailedExecRun(failures: current, then: execs[k])); current = [] }
                k += 1
            }
            current.append(f)
        }
        if !current.isEmpty {
            while k < execs.count && execs[k].t < current[0].t { k += 1 }
            runs.append(FailedExecRun(failures: current, then: k < execs.count ? execs[k] : nil))
        }
        return runs
    }

    public var execChain: [String] {
        var chain: [String] = []
        if execs.isEmpty, let a = initialArgv.first { chain.append(basename(a)) }
        for e in execs { chain.append(basename(e.path.isEmpty ? (e.argv.first ?? "?") : e.path)) }
        return chain.isEmpty ? ["?"] : chain
    }

    /// `execChain.last`, without building the chain (readers ask it of every process).
    public var execName: String {
        if let e = execs.last { return basename(e.path.isEmpty ? (e.argv.first ?? "?") : e.path) }
        return initialArgv.first.map(basename) ?? "?"
    }

    /// The latest argv (the last exec's, else the one it was born with).
    public var argv: [String] { execs.last?.argv ?? initialArgv }
    /// The path of the current image (last exec, else the one inherited at fork).
    public var image: String? { execs.last?.path ?? initialImage }
    /// The short name of the current image: basename of the last exec's path, else argv[0].
    public var command: String {
        if let p = execs.last?.path ?? initialImage, !p.isEmpty { return basename(p) }
        if let a = initialArgv.first { return basename(a) }
        return "?"
    }
    /// Time spent as a zombie: reap − exit (nil unless both happened).
    public var zombieDuration: Int64? {
        guard let e = exitTime, let r = reapTime else { return nil }
        return r - e
    }
    /// True when its parent died first and the kernel reparented it.
    public var isOrphaned: Bool { !reparents.isEmpty }
    /// The pid that adopted it last (nil if never reparented).
    public var adopter: Int? { reparents.last?.to }
    /// The parent's pid at instant `t` (after reparents up to and including `t`).
    public func parentPid(at t: Int64) -> Int {
        var p = parentPid
        for r in reparents where r.t <= t { p = r.to }
        return p
    }
    /// Process group and session at instant `t`.
    public func group(at t: Int64) -> (pgid: Int?, sid: Int?) {
        var g = (pgid: initialPgid, sid: initialSid)
        for c in groups where c.t <= t { g = (c.pgid, c.sid) }
        return g
    }
    /// Lifetime so far: from birth to exit (or to the last moment seen).
    public var lifetime: Int64 { (exitTime ?? lastSeen) - birth }

    /// The whole-process state over time: running if any thread runs, else unknown if any
    /// thread's state is unknown, else ready if any is ready, else blocked (new and
    /// terminated only when no thread is in another state).
    /// Adjacent intervals in the same state are merged.
    public func processStates() -> [StateInterval] {
        let tids = Set(stateIntervals.map { $0.tid ?? pid })
        if tids.count <= 1 {
            return ProcessRecord.coalesce(stateIntervals.map {
                StateInterval(tid: nil, state: $0.state, start: $0.start, end: $0.end, why: $0.why)
            })
        }
        // Sweep over boundaries counting how many threads are in each state; the threads
        // blocked or unknown now, for the process's why (`ThreadState.reason`'s rule).
        var deltas: [(t: Int64, d: Int, iv: StateInterval)] = []
        deltas.reserveCapacity(stateIntervals.count * 2)
        for iv in stateIntervals where iv.end > iv.start {
            deltas.append((iv.start, 1, iv))
            deltas.append((iv.end, -1, iv))
        }
        // Ends before starts at one instant, so a thread's next stretch is not ended by its last.
        deltas.sort { ($0.t, $0.d) < ($1.t, $1.d) }
        var counts: [ProcState: Int] = [:]
        var open: [Int: ThreadState] = [:]
        var out: [StateInterval] = []
        var k = 0
        while k < deltas.count {
            let t = deltas[k].t
            while k < deltas.count && deltas[k].t == t {
                let (_, d, iv) = deltas[k]
                counts[iv.state, default: 0].addSaturating(d)
                if iv.state == .blocked || iv.state == .unknown {
                    if d > 0 { open[iv.tid ?? pid] = ThreadState(state: iv.state, since: iv.start, why: iv.why) }
                    else if open[iv.tid ?? pid]?.since == iv.start { open[iv.tid ?? pid] = nil }
                }
                k += 1
            }
            guard k < deltas.count else { break }
            let next = deltas[k].t
            if let s = ProcessRecord.mergedState(counts) {
                let why = s == .blocked || s == .unknown ? ThreadState.reason(in: open, state: s, mainTid: pid) : nil
                out.append(StateInterval(tid: nil, state: s, start: t, end: next, why: why))
            }
        }
        return ProcessRecord.coalesce(out)
    }

    /// Total time in each state of the whole process (from `processStates()`).
    public func timeInStates() -> [ProcState: Int64] {
        var out: [ProcState: Int64] = [:]
        for iv in processStates() { out[iv.state, default: 0].addSaturating(iv.duration) }
        return out
    }

    /// Priority of thread states when merging into one process state.
    static func mergedState(_ counts: [ProcState: Int]) -> ProcState? {
        for s in [ProcState.running, .unknown, .ready, .blocked, .new, .terminated] where (counts[s] ?? 0) > 0 { return s }
        return nil
    }

    /// The same merge over a sequence of thread states, without counting.
    static func mergedState<S: Sequence>(of states: S) -> ProcState? where S.Element == ProcState {
        var best: ProcState?
        func rank(_ s: ProcState) -> Int {
            switch s {
            case .running: return 5; case .unknown: return 4; case .ready: return 3; case .blocked: return 2
            case .new: return 1; case .terminated: return 0
            }
        }
        for s in states where best == nil || rank(s) > rank(best!) { best = s }
        return best
    }

    static func coalesce(_ ivs: [StateInterval]) -> [StateInterval] {
        var out: [StateInterval] = []
        out.reserveCapacity(ivs.count)
        for iv in ivs where iv.end >= iv.start {
            if var last = out.last, last.state == iv.state, last.end == iv.start, last.why == iv.why, last.tid == iv.tid {
                last.end = iv.end
                out[out.count - 1] = last
            } else if iv.end > iv.start || iv.state == .terminated {
                out.append(iv)
            }
        }
        return out
    }
}

extension ProcState {
    /// An attached process's state until the state source first reports it: what /proc said
    /// just before the attach stopped it. Sleeping or stopped is blocked; R is running or
    /// ready, which /proc does not tell apart: unknown. Both folds start an attach from here.
    static func atAttach(procState state: String?) -> (state: ProcState, why: String) {
        switch state {
        case "S", "D", "I": return (.blocked, "sleeping at attach (/proc \(state!))")
        case "T", "t": return (.blocked, "stopped at attach (/proc \(state!))")
        default: return (.unknown, "already running at attach" + (state.map { " (/proc \($0))" } ?? ""))
        }
    }
}

/// The last path component (`/usr/bin/make` → `make`): the one basename of every module.
public func basename(_ path: String) -> String {
    if let slash = path.lastIndex(of: "/") {
        let rest = path[path.index(after: slash)...]
        return rest.isEmpty ? path : String(rest)
    }
    return path
}

extension FixedWidthInteger where Self: SignedInteger {
    /// Adds, stopping at the largest value instead of trapping: sums of many processes' times
    /// in a hand-made trace can pass Int64 even though each time is at most 2^53.
    mutating func addSaturating(_ v: Self) {
        let (r, o) = addingReportingOverflow(v)
        self = o ? (v > 0 ? .max : .min) : r
    }
}
