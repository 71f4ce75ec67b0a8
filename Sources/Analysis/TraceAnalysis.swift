import Lifecycle

/// The answers people come to a trace for (`proctrace analyze`): which chain of processes
/// set the end time (the critical path), where each exec'd program spent its time (steps),
/// how many processes ran at once (parallelism), and the lifecycle problems it holds
/// (findings). Computed from the folded `ProcessHistory`, which is read streaming.
public struct TraceAnalysis: Sendable {
    /// A stretch of the critical path spent in one process.
    public struct Segment: Sendable, Equatable {
        public var id: ProcessID
        public var command: String
        public var argv: [String]
        public var start: Int64
        public var end: Int64
        public var duration: Int64 { end - start }
    }

    /// One exec'd process and where its time went.
    public struct Step: Sendable {
        public var id: ProcessID
        public var command: String
        public var argv: [String]
        /// What tells it apart from look-alike siblings (`-o lapi.o lapi.c`), as the pictures show.
        public var hint: String?
        public var start: Int64
        /// Its exit, or the end of the trace when it was still alive.
        public var end: Int64
        public var exit: ExitStatus?
        /// Birth to exit.
        public var life: Int64
        /// Life minus the time it sat in wait calls for its children.
        public var own: Int64
        /// Time inside wait calls (the union over its threads).
        public var waitingForChildren: Int64
        /// Time running on a CPU, summed over its threads (scheduler states only).
        public var cpu: Int64?
        /// Time ready, waiting for a CPU, summed over its threads (scheduler states only).
        public var ready: Int64?
        /// Running or ready, summed over its threads, when the states were sampled (they
        /// cannot be told apart then).
        public var runnable: Int64?
        /// Whole-process time blocked, by what it was blocked on.
        public var blocked: [(why: String, ns: Int64)]
        /// Time whose state the trace does not know (an `unknown` stretch); never counted above.
        public var unknown: Int64
    }

    /// How many processes were running or ready at once.
    public struct Parallelism: Sendable {
        /// The window measured: the root's life from its first exec to its exit (or the end of
        /// the trace).
        public var from: Int64
        public var to: Int64
        /// Time-weighted mean level over the window.
        public var mean: Double
        public var max: Int
        /// Share of the window's (known) time at each level 0…max.
        public var share: [Double]
        /// What a level counts, given the trace's state source.
        public var counts: String
        /// Process-time whose state was unknown (left out of every level).
        public var unknown: Int64
        /// The root's children alive (forked and not yet exited) at once: a build's job slots.
        public var jobsMax: Int
        public var jobsMean: Double
        public var jobsShare: [Double]
    }

    /// The kinds of finding, each a lifecycle problem with its evidence.
    public enum FindingKind: String, Sendable, CaseIterable {
        case zombie, orphan
        case aliveAtEnd = "alive_at_end"
        case killed
        case failedExec = "failed_exec"
        case echild
        case wnohangPoll = "wnohang_poll"
        case sigchldIgnored = "sigchld_ignored"
        case waitRestarted = "wait_restarted"
    }

    public struct Finding: Sendable {
        public var kind: FindingKind
        public var id: ProcessID
        public var t: Int64
        public var duration: Int64?
        /// One line a learner understands.
        public var message: String
        /// Evidence by name (parent, reaped_by, adopter, signal, error, …).
        public var facts: JSONObject
    }

    public var path: String?
    public var states: StateSource
    public var health: TraceHealth
    /// The root's life: what the critical path spans.
    public var rootID: ProcessID?
    public var start: Int64
    public var end: Int64
    public var criticalPath: [Segment]
    /// Slowest (largest own time) first.
    public var steps: [Step]
    public var parallelism: Parallelism
    public var findings: [Finding]
    public var zombieThreshold: Int64

    /// The default `--zombie-threshold`: 10 ms.
    public static let defaultZombieThreshold: Int64 = 10_000_000
    /// WNOHANG calls that found nothing, in one process, from which it counts as busy-polling.
    public static let pollThreshold = 20

    public var duration: Int64 { end - start }

    public init(_ h: ProcessHistory, zombieThreshold: Int64 = TraceAnalysis.defaultZombieThreshold) {
        path = h.path
        states = h.states
        health = TraceHealth(h)
        self.zombieThreshold = zombieThreshold
        let root = h.roots.first { $0.via == .spawn } ?? h.roots.first
        rootID = root?.id
        start = root?.birth ?? 0
        end = root.map { $0.exitTime ?? h.endTime } ?? h.endTime
        let c = Context(h)
        criticalPath = root.map { CriticalPath.compute(c, root: $0, until: $0.exitTime ?? h.endTime) } ?? []
        steps = Self.steps(c)
        parallelism = Self.parallelism(c, root: root)
        findings = Findings.compute(h, zombieThreshold: zombieThreshold)
    }

    // MARK: - Steps

    static func steps(_ c: Context) -> [Step] {
        let h = c.history
        let exec = h.processes.filter { !$0.execs.isEmpty }
        var hints = ArgvHints.hints(h, shown: Set(exec.map(\.id)))
        // A look-alike with no hint of its own among its siblings (each compile's cc1 is an
        // only child of its gcc) borrows its nearest hinted ancestor's: `cc1 [gcc -o lapi.o …]`.
        var byCommand: [String: Int] = [:]
        for r in exec { byCommand[r.command, default: 0] += 1 }
        for r in exec where hints[r.id] == nil && (byCommand[r.command] ?? 0) > 1 {
            var cur = r.parent
            while let c = cur, let a = h.record(for: c) {
                if let hint = hints[a.id] { hints[r.id] = "\(a.command) \(hint)"; break }
                cur = a.parent
            }
        }
        var out: [Step] = []
        out.reserveCapacity(exec.count)
        for r in exec {
            let end = r.exitTime ?? h.endTime
            let life = max(0, end - r.birth)
            // Waiting for its children: inside a blocking wait call, or blocked on anything
            // (make's pselect, a shell's read of a pipe) while one of its children was alive.
            var spans = r.waits.filter { !$0.options.contains("WNOHANG") }.map { (max($0.begin, r.birth), min($0.end ?? end, end)) }
            let kids = c.children(r.id)
            let kidsAlive = Intervals.covered(kids.flatMap { k in
                [(t: h.processes[k].birth, d: 1), (t: h.processes[k].exitTime ?? h.endTime, d: -1)]
            })
            let merged = c.merged(r.id)
            if !kidsAlive.isEmpty {
                let blockedSpans = merged.filter { $0.state == .blocked && $0.end > $0.start }.map { ($0.start, $0.end) }
                spans += Intervals.intersect(blockedSpans, kidsAlive)
            }
            let waiting = Intervals.unionLength(spans)
            var cpu: Int64 = 0, ready: Int64 = 0
            for iv in r.stateIntervals where iv.end > iv.start {
                if iv.state == .running { cpu += iv.duration }
                if iv.state == .ready { ready += iv.duration }
            }
            var blocked: [String: Int64] = [:]
            var unknown: Int64 = 0
            for iv in merged where iv.end > iv.start {
                if iv.state == .blocked { blocked[iv.why ?? "unnamed", default: 0] += iv.duration }
                if Intervals.isUnknown(iv.state) { unknown += iv.duration }
            }
            let measured = r.statesRecorded
            out.append(Step(
                id: r.id, command: r.command, argv: r.argv, hint: hints[r.id], start: r.birth, end: end, exit: r.exitStatus,
                life: life, own: max(0, life - waiting), waitingForChildren: waiting,
                cpu: measured && h.states == .sched ? cpu : nil,
                ready: measured && h.states == .sched ? ready : nil,
                runnable: measured && h.states == .sampled ? cpu + ready : nil,
                blocked: blocked.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { ($0.key, $0.value) },
                unknown: unknown))
        }
        out.sort { ($0.own, $1.start, $1.id) > ($1.own, $0.start, $0.id) }
        return out
    }

    // MARK: - Parallelism

    static func parallelism(_ c: Context, root: ProcessRecord?) -> Parallelism {
        let h = c.history
        // The job's own time: the root's life from its exec of the command (before that the
        // root is proctrace's child waiting for the recorder to set up, `new` for tens of
        // ms) to its exit; not the tracer's wait for the last reap after it.
        let from = root.map { $0.execs.first?.t ?? $0.birth } ?? h.processes.map(\.birth).min() ?? 0
        let to = max(from, root.map { $0.exitTime ?? h.endTime } ?? h.endTime)
        var deltas: [(t: Int64, d: Int)] = []
        var unknownDeltas: [(t: Int64, d: Int)] = []
        var unknown: Int64 = 0
        for states in c.mergedStates {
            for iv in states where iv.end > iv.start {
                if iv.state == .running || iv.state == .ready {
                    deltas.append((iv.start, 1)); deltas.append((iv.end, -1))
                } else if Intervals.isUnknown(iv.state) {
                    unknown += iv.duration
                    unknownDeltas.append((iv.start, 1)); unknownDeltas.append((iv.end, -1))
                }
            }
        }
        // Time when some process's state is unknown is left out of the levels: a level there
        // would be a guess.
        let unknownSpans = Intervals.covered(unknownDeltas)
        let levels = Intervals.levelTimes(deltas, from: from, to: to, excluding: unknownSpans)
        let counts: String
        switch h.states {
        case .sched: counts = "processes running or ready (waiting for a CPU)"
        case .sampled: counts = "processes runnable (running or ready: sampled states cannot tell them apart)"
        case .none: counts = "processes alive and not inside a wait call (the trace has no scheduler states)"
        }
        var jobDeltas: [(t: Int64, d: Int)] = []
        var jobFrom = from, jobTo = to
        if let root {
            jobFrom = root.birth; jobTo = root.exitTime ?? h.endTime
            for k in c.children(root.id) {
                jobDeltas.append((h.processes[k].birth, 1)); jobDeltas.append((h.processes[k].exitTime ?? h.endTime, -1))
            }
        }
        let jobs = Intervals.levelTimes(jobDeltas, from: jobFrom, to: max(jobFrom, jobTo), excluding: [])
        return Parallelism(from: from, to: to, mean: levels.mean, max: levels.max, share: levels.share, counts: counts,
                           unknown: unknown, jobsMax: jobs.max, jobsMean: jobs.mean, jobsShare: jobs.share)
    }
}

/// The history with what several answers need computed once: an index by process, the
/// children's indices, and each process's merged (whole-process) states.
struct Context {
    let history: ProcessHistory
    let index: [ProcessID: Int]
    let mergedStates: [[StateInterval]]

    init(_ h: ProcessHistory) {
        history = h
        var idx: [ProcessID: Int] = [:]
        idx.reserveCapacity(h.processes.count)
        for (i, r) in h.processes.enumerated() { idx[r.id] = i }
        index = idx
        mergedStates = h.processes.map { $0.processStates() }
    }

    /// Indices of a process's children (real parent), in birth order.
    func children(_ id: ProcessID) -> [Int] {
        guard let i = index[id] else { return [] }
        return history.processes[i].children.compactMap { index[$0] }
    }
    func merged(_ id: ProcessID) -> [StateInterval] { index[id].map { mergedStates[$0] } ?? [] }
}

/// Interval arithmetic on trace times.
enum Intervals {
    /// True for the state a view shows where the trace's state source stopped (`unknown`):
    /// compared by name, so that this reads traces whatever the model calls it.
    static func isUnknown(_ s: ProcState) -> Bool { s.rawValue == "unknown" }

    /// Total length of the union of closed-open intervals.
    static func unionLength(_ ivs: [(Int64, Int64)]) -> Int64 {
        var total: Int64 = 0
        var curStart: Int64 = 0, curEnd: Int64 = -1
        for (s, e) in ivs.filter({ $0.1 > $0.0 }).sorted(by: { $0.0 < $1.0 }) {
            if s > curEnd {
                if curEnd > curStart { total += curEnd - curStart }
                curStart = s; curEnd = e
            } else if e > curEnd { curEnd = e }
        }
        if curEnd > curStart { total += curEnd - curStart }
        return total
    }

    /// The overlaps of two lists of spans, each sorted and non-overlapping within itself.
    static func intersect(_ a: [(Int64, Int64)], _ b: [(Int64, Int64)]) -> [(Int64, Int64)] {
        var out: [(Int64, Int64)] = []
        var i = 0, j = 0
        while i < a.count && j < b.count {
            let s = max(a[i].0, b[j].0), e = min(a[i].1, b[j].1)
            if e > s { out.append((s, e)) }
            if a[i].1 < b[j].1 { i += 1 } else { j += 1 }
        }
        return out
    }

    /// The spans where at least one of the counted intervals is open, merged, in order.
    static func covered(_ deltas: [(t: Int64, d: Int)]) -> [(Int64, Int64)] {
        var out: [(Int64, Int64)] = []
        var level = 0
        var openAt: Int64 = 0
        for d in deltas.sorted(by: { $0.t != $1.t ? $0.t < $1.t : $0.d < $1.d }) {
            if level == 0 && d.d > 0 { openAt = d.t }
            level += d.d
            if level == 0 && d.d < 0 && d.t > openAt { out.append((openAt, d.t)) }
        }
        return out
    }

    /// The time spent at each level of a +1/−1 sweep within [from, to), leaving out `excluding`
    /// spans: mean, max and the share of each level.
    static func levelTimes(_ deltas: [(t: Int64, d: Int)], from: Int64, to: Int64, excluding: [(Int64, Int64)])
        -> (mean: Double, max: Int, share: [Double]) {
        // Removals first at equal times: a process handing the CPU to another at one instant
        // is not two at once.
        let sorted = deltas.sorted { $0.t != $1.t ? $0.t < $1.t : $0.d < $1.d }
        var time: [Int64] = [0]
        var level = 0
        var t = from
        var k = 0
        var ex = 0
        func add(_ a: Int64, _ b: Int64, _ lv: Int) {
            // Adds [a, b) at level lv, minus the excluded spans.
            var a = a
            while a < b {
                while ex < excluding.count && excluding[ex].1 <= a { ex += 1 }
                if ex < excluding.count && excluding[ex].0 <= a {
                    a = min(b, excluding[ex].1)
                    continue
                }
                let stop = ex < excluding.count ? min(b, excluding[ex].0) : b
                while time.count <= lv { time.append(0) }
                time[lv] += stop - a
                a = stop
            }
        }
        while k < sorted.count && sorted[k].t <= from { level += sorted[k].d; k += 1 }
        var maxLevel = 0
        while k < sorted.count && sorted[k].t < to {
            let next = sorted[k].t
            if next > t { add(t, next, max(0, level)); maxLevel = Swift.max(maxLevel, level); t = next }
            while k < sorted.count && sorted[k].t == next { level += sorted[k].d; k += 1 }
        }
        if to > t { add(t, to, max(0, level)); if level > 0 { maxLevel = Swift.max(maxLevel, level) } }
        let total = time.reduce(0, +)
        guard total > 0 else { return (0, 0, [1]) }
        var weighted = 0.0
        for (lv, ns) in time.enumerated() { weighted += Double(lv) * Double(ns) }
        // The max is a level that lasted some time (an instant of overlap is not parallelism).
        let maxHeld = time.lastIndex { $0 > 0 } ?? 0
        _ = maxLevel
        return (weighted / Double(total), maxHeld, time.prefix(maxHeld + 1).map { Double($0) / Double(total) })
    }
}
