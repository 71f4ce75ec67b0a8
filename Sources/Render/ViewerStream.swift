import Lifecycle

/// The world at every instant, as `replay --at` computes it, in a compact form the HTML
/// viewer embeds: the trace's events are folded through the same `ProcessTable` that
/// `replay --at` uses, and after each event the affected process's row (its `pstree` text,
/// its `ps -ajx` cells, its state) is kept whenever it changed. The page then only looks up
/// the last version at or before the cursor: it never re-implements the lifecycle rules.
///
/// The CPU time (`ps`'s TIME) grows between events with the number of running threads, so
/// each version keeps that count and the CPU time at its instant; the page extrapolates.
public struct ViewerStream {
    var table = ProcessTable()
    /// Interned strings (texts of rows, stats, commands).
    var strings = StringTable()
    /// The distinct looks (state text, STAT, running threads, band), interned.
    var looks: [Look] = []
    var lookIndex: [Look: Int] = [:]
    /// Per process (keyed by identity), in order of first appearance.
    var procs: [StreamProcess] = []
    var procIndex: [ProcessID: Int] = [:]
    /// The last event's time.
    var lastT: Int64 = 0

    public init() {}

    /// What a row shows apart from its identity, and how its lane is painted.
    struct Look: Hashable {
        var suffix5: Int   // the pstree text after `command(pid)`, five-state model
        var suffix3: Int   // the same in the three-state model
        var stat: Int
        var running: Int   // running threads: the slope of the CPU time
        var band: Int      // Band.rawValue
    }

    /// Who a row is: PPID, PGID, SID, `command(pid)`, COMMAND.
    struct Ident: Equatable {
        var t: Int64
        var ppid: Int, pgid: Int, sid: Int, head: Int, command: Int
        func same(_ o: Ident) -> Bool { ppid == o.ppid && pgid == o.pgid && sid == o.sid && head == o.head && command == o.command }
    }

    struct StreamProcess {
        var id: ProcessID
        var birth: Int64
        /// The reap (the instant it leaves the table), nil when never reaped.
        var end: Int64?
        var vt: [Int64] = []
        var vlook: [Int32] = []
        var vcpu: [Int64] = []
        var idents: [Ident] = []
    }

    /// Lane colours, as in the SVG timeline (the page maps each to the same palette).
    enum Band: Int {
        case new = 0, ready, running, blocked, wait, traced, stopped, zombie, unknown, runnable, alive
    }

    /// Folds one event (as `replay --at` applies it) and records what changed.
    public mutating func observe(_ e: TraceEvent, line: Int) {
        lastT = max(lastT, e.t)
        switch e.kind {
        case let .reap(pid, _, _, _):
            let before = table[pid]?.id
            table.apply(e, line: line)
            if let id = before, table[pid]?.id != id, let k = procIndex[id] { procs[k].end = e.t }
        case let .fork(_, child, _, _, _, _):
            let before = table[child]?.id
            table.apply(e, line: line)
            if let id = before, table[child]?.id != id, let k = procIndex[id] { procs[k].end = e.t }
            snapshot(child, e.t)
        case let .spawn(pid, _, _, _, _), let .attach(pid, _, _, _, _, _, _, _, _, _):
            let before = table[pid]?.id
            table.apply(e, line: line)
            if let id = before, table[pid]?.id != id, let k = procIndex[id] { procs[k].end = e.t }
            snapshot(pid, e.t)
        case .trace, .end, .unknown:
            table.apply(e, line: line)
        case let .thread(pid, _, _, _), let .exec(pid, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _), let .waitBegin(pid, _, _, _, _),
             let .waitEnd(pid, _, _, _, _, _, _, _), let .exit(pid, _, _), let .reparent(pid, _, _), let .signal(pid, _, _, _, _),
             let .state(pid, _, _, _, _), let .stateUnknown(pid, _, _), let .group(pid, _, _, _, _):
            table.apply(e, line: line)
            snapshot(pid, e.t)
        }
    }

    private mutating func snapshot(_ pid: Int, _ t: Int64) {
        guard let p = table[pid] else { return }
        let k: Int
        if let known = procIndex[p.id] { k = known } else {
            k = procs.count
            procIndex[p.id] = k
            procs.append(StreamProcess(id: p.id, birth: p.birth))
        }
        let five = ReplayView(model: .five, source: table.source)
        let three = ReplayView(model: .three, source: table.source)
        let head = TerminalText.escape(p.command) + "(\(p.id))"
        func suffix(_ d: String) -> String { d.hasPrefix(head) ? String(d.dropFirst(head.count)) : d }
        let cols = five.psColumns(p, at: t)
        let d5 = five.describe(p)
        let headIdx = strings.id(d5.hasPrefix(head) ? head : "")
        let ident = Ident(t: t, ppid: strings.id(cols[0]), pgid: strings.id(cols[2]), sid: strings.id(cols[3]),
                          head: headIdx, command: strings.id(cols[6]))
        let running = p.threads.values.filter { $0.state == .running }.count
        let look = Look(suffix5: strings.id(suffix(d5)), suffix3: strings.id(suffix(three.describe(p))),
                        stat: strings.id(cols[4]), running: running, band: Self.band(p, source: table.source).rawValue)
        let li: Int
        if let known = lookIndex[look] { li = known } else { li = looks.count; lookIndex[look] = li; looks.append(look) }
        let cpu = p.cpuTime(at: t)

        var sp = procs[k]
        if let last = sp.idents.last, last.same(ident) {} else if let last = sp.idents.last, last.t == t {
            sp.idents[sp.idents.count - 1] = ident
        } else { sp.idents.append(ident) }
        let n = sp.vt.count
        if n > 0 {
            let prevLook = looks[Int(sp.vlook[n - 1])]
            let predicted = sp.vcpu[n - 1] + Int64(prevLook.running) * (t - sp.vt[n - 1])
            if sp.vlook[n - 1] == Int32(li) && predicted == cpu {
                procs[k] = sp
                return
            }
            if sp.vt[n - 1] == t {
                sp.vlook[n - 1] = Int32(li); sp.vcpu[n - 1] = cpu
                procs[k] = sp
                return
            }
        }
        sp.vt.append(t); sp.vlook.append(Int32(li)); sp.vcpu.append(cpu)
        procs[k] = sp
    }

    static func band(_ p: LiveProcess, source: StateSource) -> Band {
        switch p.state {
        case .terminated: return .zombie
        case .unknown: return .unknown
        case .blocked:
            let w = p.blockedOn ?? ""
            if w.hasPrefix("stopped") { return .stopped }
            if w == "traced" { return .traced }
            if !p.pendingWaits.isEmpty && (w.hasPrefix("wait4") || w.hasPrefix("waitid")) { return .wait }
            return source == .none && !p.hasRecordedStates ? .wait : .blocked
        case .new, .ready, .running:
            if source == .none && !p.hasRecordedStates { return .alive }
            if source == .sampled && p.state != .new { return .runnable }
            return p.state == .new ? .new : (p.state == .ready ? .ready : .running)
        }
    }
}

/// Strings stored once, referred to by index.
struct StringTable {
    var list: [String] = []
    var index: [String: Int] = [:]
    mutating func id(_ s: String) -> Int {
        if let i = index[s] { return i }
        index[s] = list.count
        list.append(s)
        return list.count - 1
    }
}
