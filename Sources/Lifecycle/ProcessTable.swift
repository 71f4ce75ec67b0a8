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
        return threads[pid].flatMap { $0.state == .unknown ? $0.why : nil }
            ?? threads.values.first { $0.state == .unknown }?.why
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
    public private(set) var processes: [Int: LiveProcess] = [:]
    /// The time of the last event applied (or the instant asked for).
    public private(set) var now: Int64 = 0
    public private(set) var source: StateSource = .none
    /// How many incarnations each pid has had.
    public private(set) var generations: [Int: Int] = [:]
    /// The root (spawned) process's pid, once seen.
    public private(set) var rootPid: Int?
    /// How many processes existed at most at once (zombies included), and when.
    public private(set) var peakCount = 0
    public private(set) var eventsApplied = 0

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
    /// fits). The table is updated as leniently as possible either way.
    @discardableResult
    public mutating func apply(_ e: TraceEvent, line: Int = 0) -> [ModelViolation] {
        var v: [ModelViolation] = []
        func bad(_ m: String, state: Bool = false) { v.append(ModelViolation(line: line, m, isStateTransition: state)) }
        eventsApplied += 1
        let t = e.t
        if t < now { bad("time goes backwards: t=\(t) after t=\(now)") } else { now = t }

        switch e.kind {
        case let .trace(schema, _, _, _, _, _, states, _, _):
            if schema != "proctrace/1" { bad("unsupported schema \"\(schema)\" (expected proctrace/1)") }
            source = states

        case let .spawn(pid, argv, ppid, pgid, sid):
            if rootPid != nil { bad("a second spawn (the root was pid \(rootPid!))") }
            if let old = processes[pid] { bad("spawn of pid \(pid), which still exists (born at line \(old.birthLine))") }
            rootPid = pid
            var p = newProcess(pid: pid, ppid: ppid ?? 0, argv: argv, image: nil, t: t, line: line)
            p.pgid = pgid
            p.sid = sid
            insert(p)

        case let .attach(pid, ppid, argv, exe, _, _, _, threads, pgid, sid):
            // Already running when the recording attached: its state is not known until the
            // state source first reports it.
            if let old = processes[pid], !old.isZombie { bad("attach of pid \(pid), which still exists (born at line \(old.birthLine))") }
            var p = newProcess(pid: pid, ppid: ppid, argv: argv, image: exe, t: t, line: line)
            p.pgid = pgid
            p.sid = sid
            let tids = threads ?? [pid]
            p.threadCount = max(1, tids.count)
            for tid in tids { p.threads[tid] = ThreadState(state: .unknown, since: t, why: "already running at attach") }
            refreshState(&p, t: t)
            insert(p)

        case let .fork(creator, child, parent, _, _, _):
            let c = processes[creator]
            if c == nil { bad("fork by pid \(creator), which does not exist") }
            else if c!.isZombie { bad("fork by pid \(creator) after its exit") }
            if parent != creator, let c, parent != c.ppid {
                bad("fork: parent \(parent) is neither the creator \(creator) nor the creator's parent \(c.ppid)")
            }
            if let old = processes[child] {
                bad("fork of pid \(child), which still exists (born at line \(old.birthLine), not reaped): a pid is reused only after its reap")
            }
            var p = newProcess(pid: child, ppid: parent, argv: c?.argv ?? [], image: c?.image, t: t, line: line)
            let g = processes[parent] ?? c
            p.pgid = g?.pgid; p.sid = g?.sid
            insert(p)

        case let .thread(pid, tid, phase, _):
            guard var p = alive(pid, "thread \(phase)", &v, line) else { break }
            if phase == .start {
                p.threadCount += 1
            } else {
                p.threadCount = max(1, p.threadCount - 1)
                if let ts = p.threads.removeValue(forKey: tid), ts.state == .running { p.cpuTime += t - ts.since }
                refreshState(&p, t: t)
            }
            processes[pid] = p

        case let .exec(pid, path, argv, _, _, formerTid, nil, _, _, _):
            guard var p = alive(pid, "exec", &v, line) else { break }
            p.image = path; p.argv = argv; p.execCount += 1
            // Exec leaves one thread, which takes the leader's tid. The kernel swaps the tids
            // before the exec is reported, so scheduler events for the leader's tid already
            // describe the exec'ing thread: its state is the one to keep when there is one.
            p.threadCount = 1
            let keep = p.threads[pid] ?? formerTid.flatMap { p.threads[$0] }
            for (tid, ts) in p.threads where ts.state == .running && tid != pid { p.cpuTime += t - ts.since }
            p.threads = [:]
            if let keep { p.threads[pid] = keep }
            refreshState(&p, t: t)
            processes[pid] = p

        case let .exec(pid, _, _, _, _, _, _?, _, _, _):
            // A failed exec (with `error`): the process runs its old image on.
            if let p = alive(pid, "exec", &v, line) { processes[pid] = p }

        case let .waitBegin(pid, call, target, options, tid):
            guard var p = alive(pid, "wait begin", &v, line) else { break }
            p.pendingWaits.append(PendingWait(tid: tid, begin: t, call: call, target: target, options: options))
            refreshState(&p, t: t)
            processes[pid] = p

        case let .waitEnd(pid, _, _, _, _, _, tid):
            guard var p = alive(pid, "wait end", &v, line) else { break }
            if let k = p.pendingWaits.lastIndex(where: { $0.tid == tid }) {
                p.pendingWaits.remove(at: k)
            } else {
                bad("wait end by pid \(pid)\(tid.map { " tid \($0)" } ?? "") without a wait begin")
            }
            refreshState(&p, t: t)
            processes[pid] = p

        case let .exit(pid, status, _):
            guard var p = processes.removeValue(forKey: pid) else { bad("exit of pid \(pid), which does not exist"); break }
            if p.isZombie { bad("second exit of pid \(pid)"); processes[pid] = p; break }
            p.exitTime = t; p.exitStatus = status
            for (_, ts) in p.threads where ts.state == .running { p.cpuTime += t - ts.since }
            let already = p.threads[pid]?.state == .terminated ? p.threads[pid] : nil
            p.threads = p.hasRecordedStates ? [pid: already ?? ThreadState(state: .terminated, since: t)] : [:]
            p.pendingWaits = []
            p.threadCount = 1
            refreshState(&p, t: t)
            processes[pid] = p

        case let .reap(pid, by, how, _):
            guard let p = processes[pid] else { bad("reap of pid \(pid), which does not exist"); break }
            if !p.isZombie {
                bad("reap of pid \(pid) before its exit (a process must exit before it is reaped)")
            }
            if pid != rootPid && by != p.ppid {
                bad("pid \(pid) reaped by \(by) (how: \(how)) but its parent is \(p.ppid)")
            }
            processes[pid] = nil

        case let .reparent(pid, from, to):
            guard var p = processes.removeValue(forKey: pid) else { bad("reparent of pid \(pid), which does not exist"); break }
            if from != p.ppid { bad("reparent of pid \(pid) from \(from), but its parent is \(p.ppid)") }
            if let f = processes[from], !f.isZombie {
                bad("reparent of pid \(pid) from \(from) before \(from) exited (a reparent only follows the parent's exit)")
            }
            if to == pid { bad("reparent of pid \(pid) to itself") }
            p.ppid = to
            p.isOrphaned = true
            processes[pid] = p

        case let .signal(pid, _, _, _, _):
            if processes[pid] == nil { bad("signal to pid \(pid), which does not exist") }

        case let .group(pid, pgid, sid, _, _):
            guard var p = processes.removeValue(forKey: pid) else { bad("group change of pid \(pid), which does not exist"); break }
            p.pgid = pgid; p.sid = sid
            processes[pid] = p

        case let .state(pid, tid, from, to, why):
            guard var p = processes.removeValue(forKey: pid) else { bad("state of pid \(pid), which does not exist", state: true); break }
            if source == .none && !p.hasRecordedStates {
                // A trace that said "none" but has states: trust the states.
            }
            p.hasRecordedStates = true
            let key = tid ?? pid
            var name: String { tid.map { "pid \(pid) tid \($0)" } ?? "pid \(pid)" }
            if p.isZombie {
                // The exit already made it terminated; a →terminated event at the exit is a repeat.
                if to != .terminated { bad("\(name): \(from.rawValue)→\(to.rawValue) after its exit", state: true) }
                processes[pid] = p
                break
            }
            // After an `unknown` event the model has no state to check `from` against.
            if let cur = p.threads[key], cur.state != from, cur.state != .unknown {
                bad("\(name): recorded \(from.rawValue)→\(to.rawValue) but the model has it \(cur.state.rawValue)", state: true)
            }
            if let problem = ProcessTable.illegalTransition(from: from, to: to, source: source) {
                bad("\(name): \(problem)", state: true)
            }
            if to == .blocked, let w = why, WaitCall.isWaitReason(w), p.pendingWaits.isEmpty {
                bad("\(name): blocked in \(w) but no wait call is pending", state: true)
            }
            let prev = p.threads[key]
            if (prev?.state ?? from) == .running { p.cpuTime += t - (prev?.since ?? p.birth) }
            p.threads[key] = ThreadState(state: to, since: t, why: to == .blocked ? why : nil)
            refreshState(&p, t: t)
            processes[pid] = p

        case let .stateUnknown(pid, tid, reason):
            guard var p = processes.removeValue(forKey: pid) else { bad("unknown state of pid \(pid), which does not exist", state: true); break }
            // A zombie's state is known (terminated) whatever the source says.
            if !p.isZombie {
                let key = tid ?? pid
                let prev = p.threads[key]
                if let prev, prev.state == .running { p.cpuTime += t - prev.since }
                p.hasRecordedStates = true
                p.threads[key] = ThreadState(state: .unknown, since: t, why: reason)
                refreshState(&p, t: t)
            }
            processes[pid] = p

        case .end, .unknown:
            break
        }
        return v
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

    private func newProcess(pid: Int, ppid: Int, argv: [String], image: String?, t: Int64, line: Int) -> LiveProcess {
        let gen = (generations[pid] ?? 0) + 1
        var p = LiveProcess(id: ProcessID(pid: pid, generation: gen), ppid: ppid, forkParent: ppid, argv: argv, image: image,
                            birth: t, birthLine: line, state: .running, stateSince: t)
        // With scheduler states a process is new until it is first made ready.
        if source == .sched { p.state = .new }
        return p
    }

    private mutating func insert(_ p: LiveProcess) {
        generations[p.pid] = p.id.generation
        processes[p.pid] = p
        if processes.count > peakCount { peakCount = processes.count }
    }

    /// Takes the process out of the table (so that mutating it does not copy its storage);
    /// the caller puts it back.
    private mutating func alive(_ pid: Int, _ what: String, _ v: inout [ModelViolation], _ line: Int) -> LiveProcess? {
        guard let p = processes.removeValue(forKey: pid) else {
            v.append(ModelViolation(line: line, "\(what) of pid \(pid), which does not exist"))
            return nil
        }
        if p.isZombie { v.append(ModelViolation(line: line, "\(what) of pid \(pid) after its exit")) }
        return p
    }

    /// Recomputes the whole-process state from its threads (or coarsely without states).
    private func refreshState(_ p: inout LiveProcess, t: Int64) {
        let old = p.state
        var why: String?
        if p.isZombie {
            p.state = .terminated
        } else if p.hasRecordedStates && !p.threads.isEmpty {
            p.state = ProcessRecord.mergedState(of: p.threads.values.lazy.map(\.state)) ?? .running
            if p.state == .blocked {
                why = p.threads[p.pid]?.why ?? p.threads.values.first { $0.state == .blocked }?.why
            }
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
        if p.state != old { p.stateSince = t }
    }

    // MARK: - From a history

    /// The world at instant `t` (every event at or before `t` applied), built from a history.
    public static func at(_ t: Int64, _ history: ProcessHistory) -> ProcessTable {
        var table = ProcessTable(source: history.states)
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
            p.hasRecordedStates = r.statesRecorded
            // Completed running stretches; the one in progress is counted by `cpuTime(at:)`.
            for iv in r.stateIntervals where iv.state == .running && iv.end <= t { p.cpuTime += iv.end - iv.start }
            if !r.statesRecorded { p.cpuTime = 0 }
            if r.statesRecorded {
                for iv in r.stateIntervals where iv.start <= t && t < iv.end {
                    p.threads[iv.tid ?? r.pid] = ThreadState(state: iv.state, since: iv.start, why: iv.why)
                }
            }
            let merged = r.processStates()
            if let cur = merged.last(where: { $0.start <= t && t < $0.end }) ?? merged.last(where: { $0.start <= t && $0.state == .terminated }) {
                p.state = cur.state; p.stateSince = cur.start
                if cur.state == .blocked { p.blockedOn = cur.why }
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
            if r.via == .spawn { table.rootPid = r.pid }
        }
        table.peakCount = table.processes.count
        return table
    }
}
