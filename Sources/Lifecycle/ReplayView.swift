/// Text pictures of the world at one instant (for `replay`): a `pstree`-style tree with each
/// process's state, a `ps -ajx`-style table, and one line per event.
public struct ReplayView: Sendable {
    public var model: StateModel
    public var source: StateSource
    public var style: Style

    public init(model: StateModel = .five, source: StateSource, style: Style = Style(enabled: false)) {
        self.model = model; self.source = source; self.style = style
    }

    /// The state label of a live process in the chosen model ("zombie" for terminated).
    public func stateLabel(_ p: LiveProcess) -> String {
        if p.state == .terminated { return "zombie" }
        if p.isStopped { return "stopped" }
        return model.label(p.state, source: source)
    }

    /// `pstree -p` with states: `python3(4100) blocked on wait4(-1)`.
    public func tree(_ table: ProcessTable) -> [String] {
        var lines: [String] = []
        let order = table.treeOrder()
        // Which depth levels still have siblings below (to draw the │ rails).
        var lastAtDepth: [Bool] = []
        for (k, (depth, p)) in order.enumerated() {
            // Is this the last child of its parent? Look ahead for a sibling at the same depth
            // before the depth drops below it.
            var isLast = true
            var j = k + 1
            while j < order.count && order[j].depth >= depth {
                if order[j].depth == depth { isLast = false; break }
                j += 1
            }
            if lastAtDepth.count <= depth { lastAtDepth.append(contentsOf: repeatElement(false, count: depth + 1 - lastAtDepth.count)) }
            lastAtDepth[depth] = isLast
            var prefix = ""
            if depth > 0 {
                for d in 1..<depth { prefix += lastAtDepth[d] ? "  " : "│ " }
                prefix += isLast ? "└─" : "├─"
            }
            lines.append(style.dim(prefix) + describe(p))
        }
        return lines
    }

    /// One process in the `pstree` view: `python3(4100) blocked on wait4(-1)`.
    public func describe(_ p: LiveProcess) -> String {
        // The trace's text is escaped before colours are added (TerminalText).
        var s = style.bold(TerminalText.escape(p.command)) + "(\(p.id))"
        let label = stateLabel(p)
        var st = style.state(label, p.state)
        if p.isStopped, let why = p.blockedOn, why.hasPrefix("stopped:") {
            // "stopped by SIGTSTP", not "stopped on stopped:SIGTSTP".
            st += style.dim(" by \(TerminalText.escape(String(why.dropFirst("stopped:".count))))")
        } else if p.state == .blocked, let why = p.blockedOn {
            st += style.dim(" on \(TerminalText.escape(why))")
        }
        if p.state == .terminated, let x = p.exitStatus { st += style.dim(" (\(TerminalText.escape(x.description)))") }
        if p.state == .unknown {
            st += style.dim(" (state source stopped" + (p.unknownReason.map { ": \(TerminalText.escape($0))" } ?? "") + ")")
        }
        s += " " + st
        if p.isOrphaned { s += style.magenta(" [orphan, parent \(p.ppid)]") }
        if p.threadCount > 1 { s += style.dim(" \(p.threadCount) threads") }
        return s
    }

    /// `ps -ajx` columns: PPID PID PGID SID STAT TIME COMMAND. STAT uses the kernel's letters
    /// (R S D T Z, plus s for a session leader and l when multi-threaded). TIME is CPU time
    /// from the scheduler states, `-` when the trace has none.
    public func psTable(_ table: ProcessTable) -> [String] {
        var rows: [[String]] = [["PPID", "PID", "PGID", "SID", "STAT", "TIME", "COMMAND"]]
        for (_, p) in table.treeOrder() { rows.append(psColumns(p, at: table.now)) }
        var widths = [Int](repeating: 0, count: 6)
        for r in rows { for c in 0..<6 { widths[c] = max(widths[c], r[c].count) } }
        return rows.map { r in
            var line = ""
            for c in 0..<6 {
                let cell = r[c]
                let padding = String(repeating: " ", count: widths[c] - cell.count)
                // Numbers right-aligned like ps; STAT left-aligned.
                line += (c == 4 ? cell + padding : padding + cell) + " "
            }
            return line + r[6]
        }
    }

    /// One process's `ps -ajx` cells at instant `now`: PPID PID PGID SID STAT TIME COMMAND.
    public func psColumns(_ p: LiveProcess, at now: Int64) -> [String] {
        let cmd: String
        if p.isZombie { cmd = "[\(p.command)] <defunct>" } else { cmd = p.argv.isEmpty ? p.command : p.argv.joined(separator: " ") }
        return [String(p.ppid), p.id.description, p.pgid.map(String.init) ?? "-", p.sid.map(String.init) ?? "-",
                p.statLetters(source: source), source == .none ? "-" : TimeFormat.cpuTime(p.cpuTime(at: now)), clip(TerminalText.escape(cmd), 60)]
    }

    /// The whole picture for `replay --at`.
    public func snapshot(_ table: ProcessTable, title: String? = nil) -> String {
        var o = style.bold(title ?? "At \(TimeFormat.clock(table.now))s") + style.dim(" (\(model.rawValue)-state model, states: \(source.rawValue))") + "\n"
        let t = tree(table)
        o += t.isEmpty ? "(no processes)\n" : t.joined(separator: "\n") + "\n"
        o += "\n" + psTable(table).joined(separator: "\n") + "\n"
        return o
    }

    /// One line describing an event, given the table *before* it is applied (for names).
    public func eventLine(_ e: TraceEvent, before table: ProcessTable) -> String {
        func name(_ pid: Int) -> String {
            if let p = table[pid] { return "\(p.command)(\(p.id))" }
            return "\(pid)"
        }
        let time = TimeFormat.clock(e.t)
        let type = e.kind.typeName
        var what: String
        switch e.kind {
        case let .trace(_, argv, _, _, _, _, states, _, _, _, _): what = "\(argv.joined(separator: " ")) (states: \(states))"
        case let .spawn(pid, argv, _, _, _): what = "\(pid) \(argv.joined(separator: " "))"
        case let .attach(pid, ppid, argv, _, _, _, _, _, _, _): what = "\(pid) \(argv.joined(separator: " ")) (already running, parent \(ppid))"
        case let .fork(pid, child, parent, via, _, _):
            what = "\(name(pid)) → \(child) via \(via)" + (parent != pid ? " (parent \(parent))" : "")
        case let .thread(pid, tid, phase, _): what = "\(name(pid)) thread \(tid) \(phase)"
        case let .exec(pid, path, argv, _, _, _, error, _, _, _, _, _, _, _, _, _):
            what = "\(name(pid)) \(path) \(clip(argv.dropFirst().joined(separator: " "), 50))" + (error.map { " failed: \($0)" } ?? "")
        case let .waitBegin(pid, call, target, options, _):
            what = "\(name(pid)) \(call)(\(([String(target)] + options).joined(separator: ", "))) begins"
        case let .waitEnd(pid, call, _, _, result, status, _, restarted):
            let r: String
            switch result { case .pid(let p): r = "\(p)"; case .nothing: r = "0"; case .error(let x): r = x }
            what = "\(name(pid)) \(call) returns \(r)" + (status.map { " (\($0))" } ?? "")
                + (WaitRecord.restartNote(restarted ?? []).map { ", " + $0 } ?? "")
        case let .exit(pid, status, _): what = "\(name(pid)) \(status) → zombie"
        case let .reap(pid, by, how, _): what = "\(name(pid)) reaped by \(by) (\(how))"
        case let .reparent(pid, from, to): what = "\(name(pid)) orphaned: parent \(from) → \(to)"
        case let .signal(pid, sig, from, _, _): what = "\(name(pid)) ← \(sig)" + (from.map { " from \($0)" } ?? "")
        case let .state(pid, tid, from, to, why):
            let f = model.label(from, source: source), t = model.label(to, source: source)
            what = "\(name(pid))" + (tid.map { $0 != pid ? " tid \($0)" : "" } ?? "") + " \(f) → \(t)" + (why.map { " (\($0))" } ?? "")
        case let .stateUnknown(pid, tid, reason):
            what = "\(name(pid))" + (tid.map { $0 != pid ? " tid \($0)" : "" } ?? "") + " state unknown from here (\(reason))"
        case let .group(pid, pgid, sid, call, _): what = "\(name(pid)) \(call): pgid \(pgid) sid \(sid)"
        case let .end(status, events, lost, _, _, _): what = (status.map { "root \($0)" } ?? "root still running (detached)") + ", \(events) events, " +
            "\(lost) lost"
        case .unknown: what = "(unknown event type)"
        }
        return TerminalText.escape("\(time) \(pad(type, 8))\(what)")
    }
}

/// Streams a trace into a `ProcessTable` up to an instant, without keeping the events.
extension ProcessTable {
    /// The world at instant `t` (every event at or before `t` applied), read from a file.
    public static func at(_ t: Int64, path: String) throws(TraceReadError) -> ProcessTable {
        try at(t, reader: TraceReader(path: path)).table
    }

    /// The world at instant `t`, and the whole trace's health: the rest of the trace is read
    /// too (a malformed line after `t` still fails, a loss recorded at the end is still told,
    /// and the caller learns when the trace ends).
    public static func at(_ t: Int64, reader: TraceReader) throws(TraceReadError) -> (table: ProcessTable, health: TraceHealth) {
        var table = ProcessTable()
        var health = TraceHealth(name: reader.path)
        var past = false
        while let e = try reader.next() {
            health.observe(e, line: reader.line)
            if e.t > t { past = true }
            if !past { table.apply(e, line: reader.line) }
        }
        health.finish(reader)
        table.advance(to: t)
        return (table, health)
    }
}
