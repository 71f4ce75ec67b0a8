/// The `end` line of a complete trace.
public struct TraceEnd: Equatable, Sendable {
    public var t: Int64
    /// nil when proctrace detached from a root still running.
    public var status: ExitStatus?
    public var events: Int
    public var lost: Int
    public init(t: Int64, status: ExitStatus?, events: Int, lost: Int) { self.t = t; self.status = status; self.events = events; self.lost = lost }
}

/// A whole trace folded into one record per process. This is what the tree, stats, render
/// and export views read; it is lenient (events about unknown pids create a record rather
/// than fail) because `validate` is where contract violations are reported.
public struct ProcessHistory: Sendable {
    /// The file it was read from, if any.
    public var path: String?
    /// The `trace` header's fields (empty if the trace had none).
    public var header: JSONObject = JSONObject()
    /// The `end` event, or nil when the trace is incomplete.
    public var end: TraceEnd?
    /// Traces start at 0 by definition.
    public var startTime: Int64 { 0 }
    /// Time of the last event.
    public var endTime: Int64 = 0
    /// Where the states came from (the header's `states`; `none` when absent).
    public var states: StateSource = .none
    /// Every process, in tree order: roots in birth order, each followed by its subtree (DFS,
    /// children in fork order).
    public var processes: [ProcessRecord] = []
    /// Number of events (lines) read, header and end included.
    public var eventCount = 0
    /// How many events of each `type` the trace holds.
    public var eventCounts: [String: Int] = [:]
    /// The pid that reaped the root (proctrace itself), if seen.
    public var tracerPid: Int?
    /// A cut-off final line that was skipped, if any.
    public var truncatedLine: Int?

    private var index: [ProcessID: Int] = [:]
    /// Every incarnation of a pid, by position in `processes`, oldest first: readers look a
    /// pid up per event (who reaped, who adopted), so this must not scan all processes.
    private var byPid: [Int: [Int]] = [:]

    /// True when the trace has no `end` line (the recording was cut short).
    public var incomplete: Bool { end == nil }

    /// Reads and folds a trace file (streaming; memory grows with processes, not lines).
    public init(path: String) throws(TraceReadError) {
        let reader = try TraceReader(path: path)
        var b = HistoryBuilder()
        while let e = try reader.next() { b.apply(e, line: reader.line) }
        self = b.finish()
        self.path = path
        self.truncatedLine = reader.truncatedLine
    }

    /// Reads and folds a trace file, handing each event (and its line) to `observe` as it
    /// goes: one pass for a view that needs both the history and the event stream (the HTML
    /// viewer replays the stream through `ProcessTable`, as `replay --at` does).
    public init(path: String, observe: (TraceEvent, Int) -> Void) throws(TraceReadError) {
        let reader = try TraceReader(path: path)
        var b = HistoryBuilder()
        while let e = try reader.next() {
            b.apply(e, line: reader.line)
            observe(e, reader.line)
        }
        self = b.finish()
        self.path = path
        self.truncatedLine = reader.truncatedLine
    }

    /// Folds events already in memory (line numbers are their 1-based positions).
    public init(events: [TraceEvent]) {
        var b = HistoryBuilder()
        for (i, e) in events.enumerated() { b.apply(e, line: i + 1) }
        self = b.finish()
    }

    init(building processes: [ProcessRecord]) {
        self.processes = processes
        for i in processes.indices { index[processes[i].id] = i; byPid[processes[i].pid, default: []].append(i) }
        for (pid, list) in byPid where list.count > 1 {
            byPid[pid] = list.sorted { processes[$0].id.generation < processes[$1].id.generation }
        }
    }

    /// Processes with no traced parent, in birth order.
    public var roots: [ProcessRecord] { processes.filter { $0.parent == nil } }
    /// The children a process forked (real parent), in birth order.
    public func children(of id: ProcessID) -> [ProcessRecord] {
        guard let r = record(for: id) else { return [] }
        return r.children.compactMap { record(for: $0) }
    }
    /// The record of a process.
    public func record(for id: ProcessID) -> ProcessRecord? {
        index[id].map { processes[$0] }
    }
    /// Whether the history holds this process (without copying its record).
    public func contains(_ id: ProcessID) -> Bool { index[id] != nil }
    /// The position of a process in `processes`.
    public func index(of id: ProcessID) -> Int? { index[id] }
    /// Every incarnation of a pid, in order.
    public func records(pid: Int) -> [ProcessRecord] {
        (byPid[pid] ?? []).map { processes[$0] }
    }
    /// The process that had `pid` at instant `t` (born at or before `t`, not yet reaped).
    public func process(pid: Int, at t: Int64) -> ProcessRecord? {
        (byPid[pid] ?? []).last { processes[$0].birth <= t && (processes[$0].reapTime ?? Int64.max) >= t }.map { processes[$0] }
    }
    /// Depth of a process in the tree (roots are 0).
    public func depth(of id: ProcessID) -> Int {
        var d = 0
        var cur = record(for: id)?.parent
        while let c = cur { d += 1; cur = record(for: c)?.parent }
        return d
    }
}

/// Folds events into process records. Tolerant of contract violations.
struct HistoryBuilder {
    var records: [ProcessRecord] = []
    /// Index in `records` of the current incarnation of each pid.
    var current: [Int: Int] = [:]
    var generations: [Int: Int] = [:]
    var header = JSONObject()
    var end: TraceEnd?
    var source: StateSource = .none
    var lastT: Int64 = 0
    var count = 0
    var counts: [String: Int] = [:]
    var tracerPid: Int?
    /// Open state per (record, tid): since when, in which state, why.
    var openStates: [Int: [Int: (state: ProcState, since: Int64, why: String?)]] = [:]
    /// Open waits per (record, tid key): index into the record's waits.
    var openWaits: [Int: [Int: [Int]]] = [:]
    /// Whether events carried tids (per-thread intervals).
    var statesHaveTids = false

    mutating func newRecord(pid: Int, parentPid: Int, creatorPid: Int?, via: ProcessOrigin, t: Int64, line: Int, argv: [String]) -> Int {
        let gen = (generations[pid] ?? 0) + 1
        generations[pid] = gen
        let parentIdx = current[parentPid]
        let creatorIdx = creatorPid.flatMap { current[$0] }
        var r = ProcessRecord(id: ProcessID(pid: pid, generation: gen), parent: parentIdx.map { records[$0].id },
                              parentPid: parentPid, creator: creatorIdx.map { records[$0].id }, via: via,
                              birth: t, birthLine: line, initialArgv: argv)
        if let p = creatorIdx ?? parentIdx { r.initialImage = records[p].image ?? records[p].initialArgv.first }
        if let p = parentIdx {
            let g = records[p].group(at: t)
            r.initialPgid = g.pgid; r.initialSid = g.sid
        }
        records.append(r)
        let idx = records.count - 1
        if let p = parentIdx { records[p].children.append(r.id) }
        current[pid] = idx
        return idx
    }

    /// The record for an event's pid, creating an "unseen" one if the birth was not recorded.
    mutating func recordIndex(_ pid: Int, t: Int64, line: Int) -> Int {
        if let i = current[pid] { return i }
        return newRecord(pid: pid, parentPid: 0, creatorPid: nil, via: .unseen, t: t, line: 0, argv: [])
    }

    mutating func apply(_ e: TraceEvent, line: Int) {
        count += 1
        counts[e.kind.typeName, default: 0] += 1
        if e.t > lastT { lastT = e.t }
        let t = e.t
        switch e.kind {
        case .trace:
            header = e.jsonObject
            if case let .trace(_, _, _, _, _, _, states, _, _, _, _) = e.kind { source = states }
        case let .spawn(pid, argv, ppid, pgid, sid):
            let i = newRecord(pid: pid, parentPid: ppid ?? 0, creatorPid: nil, via: .spawn, t: t, line: line, argv: argv)
            if records[i].parent != nil { records[i].parent = nil }
            records[i].initialPgid = pgid
            records[i].initialSid = sid
        case let .attach(pid, ppid, argv, exe, state, _, ageNs, threads, pgid, sid):
            if let old = current[pid], records[old].reapTime == nil { current[pid] = nil }
            let i = newRecord(pid: pid, parentPid: ppid, creatorPid: nil, via: .attach, t: t, line: line, argv: argv)
            records[i].initialImage = exe ?? argv.first
            records[i].ageAtAttach = ageNs.map { Int64($0) }
            if let pgid { records[i].initialPgid = pgid }
            if let sid { records[i].initialSid = sid }
            for tid in threads ?? [] where tid != pid { records[i].threads.append(ThreadRecord(tid: tid, start: t)) }
            // Its state until the source first reports it (not with a trace without states).
            if source != .none {
                let initial = ProcState.atAttach(procState: state)
                for tid in threads ?? [pid] { openStates[i, default: [:]][tid] = (initial.state, t, initial.why) }
                records[i].statesRecorded = true
                if records[i].firstStateEvent == nil { records[i].firstStateEvent = t }
            }
        case let .fork(pid, child, parent, via, _, nspid):
            if let old = current[child], records[old].reapTime == nil {
                // The pid is reused before its reap was seen: close the old one here.
                current[child] = nil
                _ = old
            }
            let i = newRecord(pid: child, parentPid: parent, creatorPid: pid, via: ProcessOrigin(via), t: t, line: line,
                              argv: current[pid].map { records[$0].argv } ?? [])
            records[i].nspid = nspid
        case let .thread(pid, tid, phase, _):
            let i = recordIndex(pid, t: t, line: line)
            if phase == .start {
                records[i].threads.append(ThreadRecord(tid: tid, start: t))
            } else {
                if let k = records[i].threads.lastIndex(where: { $0.tid == tid && $0.end == nil }) { records[i].threads[k].end = t }
                closeState(i, tid: tid, at: t)
            }
        case let .exec(pid, path, argv, _, _, _, error?, _, _, _, _, _, _, _, dirfdPath, _):
            // A failed exec (an `error` errno name): the process goes on running its old image.
            let i = recordIndex(pid, t: t, line: line)
            // An execveat given a descriptor and an empty path (AT_EMPTY_PATH) tried the file it names.
            let tried = path.isEmpty ? (dirfdPath ?? path) : path
            records[i].failedExecs.append(FailedExec(t: t, path: tried, argv: argv, error: error))
        case let .exec(pid, path, argv, exe, elf, formerTid, nil, _, _, _, _, _, _, _, _, _):
            let i = recordIndex(pid, t: t, line: line)
            records[i].execs.append(ExecRecord(t: t, path: path, argv: argv, exe: exe, elf: elf))
            // Exec kills every other thread; a non-leader that execs takes the leader's tid.
            for k in records[i].threads.indices where records[i].threads[k].end == nil && records[i].threads[k].tid != pid {
                records[i].threads[k].end = t
                let tid = records[i].threads[k].tid
                if tid != formerTid || openStates[i]?[pid] != nil { closeState(i, tid: tid, at: t) }
            }
            // The kernel swaps the tids before the exec is reported, so the leader's own
            // state stream (when the trace has one) already follows the exec'ing thread;
            // otherwise the former thread's open state carries over to the leader's tid.
            if let f = formerTid, f != pid, openStates[i]?[pid] == nil, let st = openStates[i]?[f] {
                openStates[i]?[f] = nil
                openStates[i, default: [:]][pid] = st
            }
        case let .waitBegin(pid, call, target, options, tid):
            let i = recordIndex(pid, t: t, line: line)
            records[i].waits.append(WaitRecord(tid: tid, begin: t, call: call, target: target, options: options))
            openWaits[i, default: [:]][tid ?? pid, default: []].append(records[i].waits.count - 1)
        case let .waitEnd(pid, call, target, options, result, status, tid, restarted):
            let i = recordIndex(pid, t: t, line: line)
            if let k = openWaits[i]?[tid ?? pid]?.popLast() {
                records[i].waits[k].end = t
                records[i].waits[k].result = result
                records[i].waits[k].status = status
                records[i].waits[k].restarted = restarted ?? []
            } else {
                records[i].waits.append(WaitRecord(tid: tid, begin: t, end: t, call: call, target: target, options: options,
                                                   result: result, status: status, restarted: restarted ?? []))
            }
        case let .exit(pid, status, _):
            let i = recordIndex(pid, t: t, line: line)
            records[i].exitTime = t
            records[i].exitStatus = status
            for k in records[i].threads.indices where records[i].threads[k].end == nil { records[i].threads[k].end = t }
            // Every thread stops; the process is a zombie (terminated) until its reap.
            if let open = openStates[i] {
                let mainTid = pid
                if open[mainTid]?.state != .terminated {
                    for tid in open.keys { closeState(i, tid: tid, at: t) }
                    openStates[i] = [mainTid: (.terminated, t, nil)]
                } else {
                    for tid in open.keys where tid != mainTid { closeState(i, tid: tid, at: t) }
                }
            }
        case let .reap(pid, by, how, unobserved):
            guard let i = current[pid] else { break }
            records[i].reapTime = t
            records[i].reapedBy = by
            records[i].reapHow = how
            records[i].reapUnobserved = unobserved
            if records[i].parent == nil && records[i].via == .spawn { tracerPid = by }
            if let open = openStates[i] { for tid in open.keys { closeState(i, tid: tid, at: t) } }
            openStates[i] = nil
            openWaits[i] = nil
            current[pid] = nil
        case let .reparent(pid, from, to):
            let i = recordIndex(pid, t: t, line: line)
            records[i].reparents.append(Reparent(t: t, from: from, to: to))
        case let .signal(pid, sig, from, code, _):
            let i = recordIndex(pid, t: t, line: line)
            records[i].signals.append(SignalRecord(t: t, sig: sig, from: from, code: code))
        case let .state(pid, tid, from, to, why):
            let i = recordIndex(pid, t: t, line: line)
            records[i].statesRecorded = true
            if records[i].firstStateEvent == nil { records[i].firstStateEvent = t }
            if tid != nil { statesHaveTids = true }
            let key = tid ?? pid
            if to == .terminated, openStates[i]?[pid]?.state == .terminated { break }
            var open = openStates.removeValue(forKey: i) ?? [:]
            let since: Int64
            if let cur = open[key] {
                since = cur.since
                appendInterval(i, tid: tid ?? (statesHaveTids ? key : nil), state: cur.state, start: since, end: t, why: cur.why)
            } else if let closed = records[i].stateIntervals.last(where: { ($0.tid ?? pid) == key })?.end {
                // The task's states were closed already (its thread exit came first at the same
                // instant): go on from there, never again from the thread's start.
                since = closed
                if t > since { appendInterval(i, tid: tid ?? (statesHaveTids ? key : nil), state: from, start: since, end: t, why: nil) }
            } else {
                since = records[i].threads.last(where: { $0.tid == key })?.start ?? records[i].birth
                appendInterval(i, tid: tid ?? (statesHaveTids ? key : nil), state: from, start: since, end: t, why: nil)
            }
            open[key] = (to, t, to == .blocked ? why : (to == .ready || to == .running ? nil : why))
            openStates[i] = open
        case let .stateUnknown(pid, tid, reason):
            let i = recordIndex(pid, t: t, line: line)
            // A zombie's state stays known (terminated); a repeat changes nothing.
            if records[i].exitTime != nil { break }
            records[i].statesRecorded = true
            if records[i].firstStateEvent == nil { records[i].firstStateEvent = t }
            records[i].unknownStates.append(UnknownState(tid: tid, t: t, reason: reason))
            if tid != nil { statesHaveTids = true }
            let key = tid ?? pid
            var open = openStates.removeValue(forKey: i) ?? [:]
            if let cur = open[key] {
                if cur.state == .unknown { openStates[i] = open; break }
                appendInterval(i, tid: tid ?? (statesHaveTids ? key : nil), state: cur.state, start: cur.since, end: t, why: cur.why)
            } else {
                // No state event yet: the task was new (as far as the source said) until now.
                let since = records[i].threads.last(where: { $0.tid == key })?.start ?? records[i].birth
                appendInterval(i, tid: tid ?? (statesHaveTids ? key : nil), state: .new, start: since, end: t, why: nil)
            }
            open[key] = (.unknown, t, reason)
            openStates[i] = open
        case let .group(pid, pgid, sid, call, by):
            let i = recordIndex(pid, t: t, line: line)
            records[i].groups.append(GroupChange(t: t, pgid: pgid, sid: sid, call: call, by: by))
        case let .end(status, events, lost, _, _, _):
            end = TraceEnd(t: t, status: status, events: events, lost: lost)
        case .unknown:
            break
        }
    }

    mutating func appendInterval(_ i: Int, tid: Int?, state: ProcState, start: Int64, end: Int64, why: String?) {
        records[i].stateIntervals.append(StateInterval(tid: tid, state: state, start: start, end: end, why: why))
    }

    mutating func closeState(_ i: Int, tid: Int, at t: Int64) {
        guard let cur = openStates[i]?[tid] else { return }
        appendInterval(i, tid: statesHaveTids ? tid : nil, state: cur.state, start: cur.since, end: t, why: cur.why)
        openStates[i]?[tid] = nil
    }

    mutating func finish() -> ProcessHistory {
        for (i, open) in openStates { for tid in open.keys { closeState(i, tid: tid, at: lastT) } }
        for i in records.indices {
            records[i].lastSeen = records[i].reapTime ?? lastT
            if !records[i].statesRecorded {
                // With a state source, a process it never reported on (its birth fell in a
                // loss) has unknown states, not the coarse guess of a trace without one.
                records[i].stateIntervals = source == .none ? HistoryBuilder.coarseStates(records[i], until: lastT)
                    : HistoryBuilder.unreportedStates(records[i], until: lastT)
            }
            else { records[i].stateIntervals.sort { ($0.start, $0.tid ?? 0) < ($1.start, $1.tid ?? 0) } }
        }
        // Tree order: DFS from each root, children in birth order.
        var ordered: [ProcessRecord] = []
        ordered.reserveCapacity(records.count)
        var pos: [ProcessID: Int] = [:]
        // (By position: binding each record to a name would copy it, a few dozen retains.)
        for i in records.indices { pos[records[i].id] = i }
        var stack: [Int] = []
        for i in records.indices.reversed() where records[i].parent.map({ pos[$0] == nil }) ?? true { stack.append(i) }
        var seen = Set<Int>()
        while let i = stack.popLast() {
            guard seen.insert(i).inserted else { continue }
            ordered.append(records[i])
            for c in records[i].children.reversed() { if let ci = pos[c] { stack.append(ci) } }
        }
        var h = ProcessHistory(building: ordered)
        h.header = header
        h.end = end
        h.endTime = lastT
        h.states = source
        h.eventCount = count
        h.eventCounts = counts
        h.tracerPid = tracerPid
        return h
    }

    /// A process the trace's state source never reported on: unknown while alive, then
    /// terminated from exit to reap.
    static func unreportedStates(_ r: ProcessRecord, until traceEnd: Int64) -> [StateInterval] {
        var out: [StateInterval] = []
        let aliveEnd = r.exitTime ?? r.lastSeen
        if aliveEnd > r.birth {
            out.append(StateInterval(tid: nil, state: .unknown, start: r.birth, end: aliveEnd, why: "no state was recorded for it"))
        }
        if let x = r.exitTime {
            out.append(StateInterval(tid: nil, state: .terminated, start: x, end: r.reapTime ?? traceEnd))
        }
        return out
    }

    /// Coarse states when the trace has none: running while alive, blocked during each wait
    /// call, terminated from exit to reap. Views must not present "running" here as more
    /// than "alive and not waiting" (`StateSource.none` says so).
    static func coarseStates(_ r: ProcessRecord, until traceEnd: Int64) -> [StateInterval] {
        var out: [StateInterval] = []
        let aliveEnd = r.exitTime ?? r.lastSeen
        var t = r.birth
        // Waits of all threads, merged, in time order.
        let waits = r.waits.map { (b: $0.begin, e: $0.end ?? aliveEnd, why: $0.call.rawValue) }.sorted { $0.b < $1.b }
        for w in waits {
            let b = max(w.b, t), e = min(w.e, aliveEnd)
            guard e > b else { continue }
            if b > t { out.append(StateInterval(tid: nil, state: .running, start: t, end: b)) }
            out.append(StateInterval(tid: nil, state: .blocked, start: b, end: e, why: w.why))
            t = e
        }
        if aliveEnd > t { out.append(StateInterval(tid: nil, state: .running, start: t, end: aliveEnd)) }
        if let x = r.exitTime {
            out.append(StateInterval(tid: nil, state: .terminated, start: x, end: r.reapTime ?? traceEnd))
        }
        return out
    }
}
