/// Something in a trace that breaks the contract or the lifecycle model, at a line.
public struct ModelViolation: Equatable, Sendable, CustomStringConvertible {
    /// The 1-based line of the offending event (0 when it concerns the whole file).
    public var line: Int
    public var message: String
    /// True for disagreements about states (what `replay --check` is about).
    public var isStateTransition: Bool
    public init(line: Int, _ message: String, isStateTransition: Bool = false) {
        self.line = line; self.message = message; self.isStateTransition = isStateTransition
    }
    public var description: String { "\(line): \(message)" }
}

/// One thread's state inside the process table.
public struct ThreadState: Equatable, Sendable {
    public var state: ProcState
    public var since: Int64
    public var why: String?
    public init(state: ProcState, since: Int64, why: String? = nil) { self.state = state; self.since = since; self.why = why }

    /// The process's `why` for `state` from its threads': the main thread's when it is in
    /// that state with one, else the one of the thread that entered it last (lowest tid on a
    /// tie). Both folds (`ProcessTable.apply` and the history's) answer with this rule.
    static func reason(in threads: [Int: ThreadState], state: ProcState, mainTid: Int) -> String? {
        if let m = threads[mainTid], m.state == state, let w = m.why { return w }
        var best: (since: Int64, tid: Int, why: String)?
        for (tid, ts) in threads where ts.state == state {
            guard let w = ts.why else { continue }
            if let b = best, (ts.since, -tid) <= (b.since, -b.tid) { continue }
            best = (ts.since, tid, w)
        }
        return best?.why
    }
}

/// A pending wait-family call.
public struct PendingWait: Equatable, Sendable {
    public var tid: Int?
    public var begin: Int64
    public var call: WaitCall
    public var target: Int
    public var options: [String]
    /// `wait4(-1)`, `waitid(4101, WNOHANG)`: what the process is blocked on.
    public var summary: String {
        let args = ["\(target)"] + options
        return "\(call)(\(args.joined(separator: ", ")))"
    }
}

/// A process as it is at one instant.
public struct LiveProcess: Equatable, Sendable {
    public var id: ProcessID
    public var pid: Int { id.pid }
    /// The current parent (after any reparent).
    public var ppid: Int
    /// The real parent at fork.
    public var forkParent: Int
    public var pgid: Int?
    public var sid: Int?
    public var argv: [String]
    /// Path of the current image, if known.
    public var image: String?
    public var birth: Int64
    public var birthLine: Int
    public var execCount = 0
    /// Live threads and their states (keyed by tid; the main thread's tid is the pid). Empty
    /// until the trace gives a state for the process.
    public var threads: [Int: ThreadState] = [:]
    /// Number of live threads (from `thread` events; at least 1 while alive).
    public var threadCount = 1
    /// The whole-process state (five-state model).
    public var state: ProcState
    public var stateSince: Int64
    /// When `record -p` attached to it: its threads' states from then until the source first
    /// reports them are what /proc said, a guess no `from` is checked against.
    var attachedAt: Int64?
    /// Its state (and since when) as the instant of its last state change began.
    var stateBefore: ThreadState?
    /// What it is blocked on (the state's `why`, or the pending wait call), if blocked.
    public var blockedOn: String?
    public var pendingWaits: [PendingWait] = []
    public var exitTime: Int64?
    public var exitStatus: ExitStatus?
    /// Reparented at least once (its parent died first).
    public var isOrphaned = false
    /// Time spent running so far (scheduler or sampled states; 0 when the trace has none).
    public var cpuTime: Int64 = 0
    /// True once a `state` event named this process.
    public var hasRecordedStates = false
    /// Why the state source stopped knowing its state, while its state is `unknown`.
    public var unknownReason: String? {
        guard state == .unknown else { return nil }
        return ThreadState.reason(in: threads, state: .unknown, mainTid: pid)
    }
    /// Pending signal stop (SIGSTOP/SIGTSTP…) as seen in a blocked `why` of `stopped:…`.
    public var isStopped: Bool { state == .blocked && (blockedOn?.hasPrefix("stopped") ?? false) }

    /// CPU time up to `now`, counting threads running at that moment.
    public func cpuTime(at now: Int64) -> Int64 {
        var c = cpuTime
        for ts in threads.values where ts.state == .running && now > ts.since { c += now - ts.since }
        return c
    }

    /// Exited but not yet reaped.
    public var isZombie: Bool { exitTime != nil }
    /// The short name of the current image.
    public var command: String {
        if let p = image, !p.isEmpty { return basename(p) }
        return argv.first.map(basename) ?? "?"
    }

    /// The `ps` STAT column: R (runnable), S (sleeping), D (uninterruptible), T (stopped),
    /// t (stopped by the tracer), Z (zombie); then `s` for a session leader, `l` when
    /// multi-threaded.
    /// Without any state source an alive process outside a wait is shown as `?`: the trace
    /// cannot say whether it was running or sleeping.
    public func statLetters(source: StateSource) -> String {
        var s: String
        switch state {
        case .terminated: s = "Z"
        case .new, .ready, .running: s = (source == .none && !hasRecordedStates) ? "?" : "R"
        case .unknown: s = "?"
        case .blocked:
            let w = blockedOn ?? ""
            if w.hasPrefix("stopped") { s = "T" }
            else if w == "traced" { s = "t" }
            else if w == "D" || w.hasPrefix("disk") || w.hasPrefix("io") || w.hasPrefix("uninterruptible") { s = "D" }
            else { s = "S" }
        }
        if state != .terminated {
            if let sid, sid == pid { s += "s" }
            if threadCount > 1 { s += "l" }
        }
        return s
    }
}

/// The world at an instant: every process that exists (zombies included), its parent and
/// children, state, image, zombie/orphan status and what it is blocked on. Built either by
/// folding events one at a time (`apply`, which also checks each event against the model)
/// or from a `ProcessHistory` (`at(_:_:)`).
public struct ProcessTable: Sendable {
    /// Live processes and zombies by pid.
    public internal(set) var processes: [Int: LiveProcess] = [:]
    /// The time of the last event applied (or the instant asked for).
    public internal(set) var now: Int64 = 0
    public internal(set) var source: StateSource = .none
    /// How many incarnations each pid has had.
    public internal(set) var generations: [Int: Int] = [:]
    /// The root (spawned) process's pid, once seen.
    public internal(set) var rootPid: Int?
    /// How many processes existed at most at once (zombies included), and when.
    public internal(set) var peakCount = 0
    public internal(set) var eventsApplied = 0

    public init(source: StateSource = .none) { self.source = source }

    /// The process with this pid now, if any.
    public subscript(pid: Int) -> LiveProcess? { processes[pid] }

    /// The children of a pid (by current parent), in pid order.
    public func children(of pid: Int) -> [LiveProcess] {
        processes.values.filter { $0.ppid == pid && $0.pid != pid }.sorted { ($0.birth, $0.pid) < ($1.birth, $1.pid) }
    }

    /// Processes whose current parent is not in the table (the root, and orphans adopted by
    /// untraced processes such as pid 1), in birth order.
    public var roots: [LiveProcess] {
        processes.values.filter { processes[$0.ppid] == nil || $0.ppid == $0.pid }.sorted { ($0.birth, $0.pid) < ($1.birth, $1.pid) }
    }

    /// Every process in tree order with its depth (DFS from the roots, children by birth).
    public func treeOrder() -> [(depth: Int, process: LiveProcess)] {
        var kids: [Int: [LiveProcess]] = [:]
        for p in processes.values where processes[p.ppid] != nil && p.ppid != p.pid { kids[p.ppid, default: []].append(p) }
        for k in kids.keys { kids[k]!.sort { ($0.birth, $0.pid) < ($1.birth, $1.pid) } }
        var out: [(Int, LiveProcess)] = []
        var stack: [(Int, LiveProcess)] = roots.reversed().map { (0, $0) }
        while let (d, p) = stack.popLast() {
            out.append((d, p))
            for c in (kids[p.pid] ?? []).reversed() { stack.append((d + 1, c)) }
        }
        return out
    }

    /// Moves the clock forward without an event (for snapshots between events).
    public mutating func advance(to t: Int64) {
        if t > now { now = t }
    }

    // MARK: - Folding events

    /// Applies one event, returning every way it disagrees with the model (empty when it
    /// fits). The table is updated as leniently as possible either way; one method per event
    /// type (ProcessTable+Events.swift) says what it means.
    @discardableResult
    public mutating func apply(_ e: TraceEvent, line: Int = 0) -> [ModelViolation] {
        var v = Violations(line: line)
        eventsApplied += 1
        let t = e.t
        if t < now { v.add("time goes backwards: t=\(t) after t=\(now)") } else { now = t }
        switch e.kind {
        case let .trace(schema, _, _, _, _, _, states, _, _, _, _):
            header(schema: schema, states: states, &v)
        case let .spawn(pid, argv, ppid, pgid, sid):
            spawn(pid: pid, argv: argv, ppid: ppid, pgid: pgid, sid: sid, at: t, &v)
        case let .attach(pid, ppid, argv, exe, state, _, _, threads, pgid, sid):
            attach(pid: pid, ppid: ppid, argv: argv, exe: exe, state: state, threads: threads, pgid: pgid, sid: sid, at: t, &v)
        case let .fork(creator, child, parent, _, _, _):
            fork(creator: creator, child: child, parent: parent, at: t, &v)
        case let .thread(pid, tid, phase, _):
            thread(pid: pid, tid: tid, phase: phase, at: t, &v)
        case let .exec(pid, path, argv, _, _, formerTid, nil, _, _, _, _, _, _, _, _, _):
            exec(pid: pid, path: path, argv: argv, formerTid: formerTid, at: t, &v)
        case let .exec(pid, _, _, _, _, _, _?, _, _, _, _, _, _, _, _, _):
            failedExec(pid: pid, &v)
        case let .waitBegin(pid, call, target, options, tid):
            waitBegin(pid: pid, call: call, target: target, options: options, tid: tid, at: t, &v)
        case let .waitEnd(pid, _, _, _, _, _, tid, _):
            waitEnd(pid: pid, tid: tid, at: t, &v)
        case let .exit(pid, status, _):
            exit(pid: pid, status: status, at: t, &v)
        case let .reap(pid, by, how, _):
            reap(pid: pid, by: by, how: how, &v)
        case let .reparent(pid, from, to):
            reparent(pid: pid, from: from, to: to, &v)
        case let .signal(pid, _, _, _, _):
            signal(pid: pid, &v)
        case let .group(pid, pgid, sid, _, _):
            group(pid: pid, pgid: pgid, sid: sid, &v)
        case let .state(pid, tid, from, to, why):
            state(pid: pid, tid: tid, from: from, to: to, why: why, at: t, &v)
        case let .stateUnknown(pid, tid, reason):
            stateUnknown(pid: pid, tid: tid, reason: reason, at: t, &v)
        case .end, .unknown:
            break
        }
        return v.list
    }

    /// Why a recorded transition is not a legal step of the five-state machine, or nil.
    public static func illegalTransition(from: ProcState, to: ProcState, source: StateSource) -> String? {
        if from == to { return nil }
        if from == .terminated { return "transition out of terminated (\(from.rawValue)→\(to.rawValue))" }
        if to == .new { return "transition back to new (\(from.rawValue)→new)" }
        if source != .sched {
            // Sampling misses short states and cannot tell ready from running.
            return nil
        }
        switch (from, to) {
        case (.new, .ready), (.ready, .running), (.running, .ready), (.running, .blocked), (.blocked, .ready),
             (.running, .terminated):
            return nil
        default:
            return "illegal transition \(from.rawValue)→\(to.rawValue)"
        }
    }

    func newProcess(pid: Int, ppid: Int, argv: [String], image: String?, t: Int64, line: Int) -> LiveProcess {
        let gen = (generations[pid] ?? 0) + 1
        var p = LiveProcess(id: ProcessID(pid: pid, generation: gen), ppid: ppid, forkParent: ppid, argv: argv, image: image,
                            birth: t, birthLine: line, state: .running, stateSince: t)
        // With scheduler states a process is new until it is first made ready.
        if source == .sched { p.state = .new }
        return p
    }

    mutating func insert(_ p: LiveProcess) {
        generations[p.pid] = p.id.generation
        processes[p.pid] = p
        if processes.count > peakCount { peakCount = processes.count }
    }

    /// Takes the process out of the table (so that mutating it does not copy its storage);
    /// the caller puts it back.
    mutating func alive(_ pid: Int, _ what: String, _ v: inout Violations) -> LiveProcess? {
        guard let p = processes.removeValue(forKey: pid) else {
            v.add("\(what) of pid \(pid), which does not exist")
            return nil
        }
        if p.isZombie { v.add("\(what) of pid \(pid) after its exit") }
        return p
    }

    /// Recomputes the whole-process state from its threads (or coarsely without states).
    func refreshState(_ p: inout LiveProcess, t: Int64) {
        let old = p.state
        var why: String?
        if p.isZombie {
            p.state = .terminated
        } else if p.hasRecordedStates && !p.threads.isEmpty {
            p.state = ProcessRecord.mergedState(of: p.threads.values.lazy.map(\.state)) ?? .running
            if p.state == .blocked { why = ThreadState.reason(in: p.threads, state: .blocked, mainTid: p.pid) }
        } else if p.hasRecordedStates {
            // States recorded, but no thread is known now (e.g. right after exec): keep.
        } else {
            p.state = p.pendingWaits.isEmpty ? (p.state == .new ? .new : .running) : .blocked
            if p.state == .new && source != .sched { p.state = .running }
        }
        if p.state == .blocked {
            p.blockedOn = why ?? p.pendingWaits.last?.summary ?? p.blockedOn
            if WaitCall.isWaitReason(why), let pw = p.pendingWaits.last { p.blockedOn = pw.summary }
        } else {
            p.blockedOn = nil
        }
        if p.state != old {
            // Threads handing the CPU over at one instant (one to ready, the other to running)
            // leave the process in its state: a state left and re-entered at one instant was
            // never left. `stateBefore` is the state as the instant began.
            if p.stateSince != t { p.stateBefore = ThreadState(state: old, since: p.stateSince) }
            if let b = p.stateBefore, b.state == p.state { p.stateSince = b.since } else { p.stateSince = t }
        }
    }

    // MARK: - From a history

    /// The world at instant `t` (every event at or before `t` applied), built from a history.
    public static func at(_ t: Int64, _ history: ProcessHistory) -> ProcessTable {
        var table = ProcessTable(source: history.states)
        // A stretch still open when the trace ended was closed at its last instant: it holds there.
        func covers(_ iv: StateInterval) -> Bool { iv.start <= t && (t < iv.end || (iv.end == history.endTime && t == iv.end)) }
        table.now = t
        for r in history.processes where r.birth <= t && (r.reapTime.map { $0 > t } ?? true) {
            let g = r.group(at: t)
            let execs = r.execs.filter { $0.t <= t }
            var p = LiveProcess(id: r.id, ppid: r.parentPid(at: t), forkParent: r.parentPid,
                                argv: execs.last?.argv ?? r.initialArgv, image: execs.last?.path ?? r.initialImage,
                                birth: r.birth, birthLine: r.birthLine, state: .running, stateSince: r.birth)
            p.pgid = g.pgid; p.sid = g.sid
            p.execCount = execs.count
            p.isOrphaned = r.reparents.contains { $0.t <= t }
            if let x = r.exitTime, x <= t { p.exitTime = x; p.exitStatus = r.exitStatus }
            p.threadCount = max(1, r.threads.filter { $0.start <= t && ($0.end.map { $0 > t } ?? true) }.count)
            if p.isZombie { p.threadCount = 1 }
            p.hasRecordedStates = r.firstStateEvent.map { $0 <= t } ?? false
            // Completed running stretches; the one in progress is counted by `cpuTime(at:)`.
            for iv in r.stateIntervals where iv.state == .running && iv.end <= t && !covers(iv) { p.cpuTime += iv.end - iv.start }
            if !r.statesRecorded { p.cpuTime = 0 }
            if r.statesRecorded {
                for iv in r.stateIntervals where covers(iv) {
                    p.threads[iv.tid ?? r.pid] = ThreadState(state: iv.state, since: iv.start, why: iv.why)
                }
            }
            let merged = r.processStates()
            if var k = merged.lastIndex(where: covers) ?? merged.lastIndex(where: { $0.start <= t && $0.state == .terminated }) {
                let cur = merged[k]
                // Since when in this state: back over stretches that differ only in their why.
                while k > 0, merged[k - 1].state == cur.state, merged[k - 1].end == merged[k].start { k -= 1 }
                p.state = cur.state; p.stateSince = merged[k].start
                if cur.state == .blocked {
                    p.blockedOn = r.statesRecorded ? ThreadState.reason(in: p.threads, state: .blocked, mainTid: r.pid) : cur.why
                }
            } else if p.isZombie {
                p.state = .terminated
            } else if history.states == .sched && r.statesRecorded {
                p.state = .new
            }
            for w in r.waits where w.begin <= t && (w.end.map { $0 > t } ?? true) {
                p.pendingWaits.append(PendingWait(tid: w.tid, begin: w.begin, call: w.call, target: w.target, options: w.options))
            }
            if p.state == .blocked, WaitCall.isWaitReason(p.blockedOn), let pw = p.pendingWaits.last {
                p.blockedOn = pw.summary
            }
            table.generations[r.pid] = r.id.generation
            table.processes[r.pid] = p
        }
        // The root stays the root once seen, reaped or not (as `apply` keeps it).
        table.rootPid = history.processes.last { $0.via == .spawn && $0.birth <= t }?.pid
        table.peakCount = table.processes.count
        return table
    }
}
