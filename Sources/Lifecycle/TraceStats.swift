/// Numbers about a whole trace: what `proctrace stats` prints (as text or JSON).
public struct TraceStats: Sendable {
    public struct Zombie: Sendable {
        public var id: ProcessID
        public var command: String
        public var duration: Int64
        public var exitTime: Int64
        /// The parent while it was a zombie: the one that failed to reap it promptly.
        public var parent: Int
        public var parentCommand: String?
        public var reapedBy: Int?
        public var how: String?
    }
    public struct Wait: Sendable {
        public var id: ProcessID
        public var command: String
        public var call: WaitCall
        public var target: Int
        public var begin: Int64
        public var duration: Int64
        public var result: WaitResult?
        public var returned: Bool
        /// When a signal interrupted it and the kernel restarted it (one call all along).
        public var restarted: [Int64] = []
    }
    public struct Orphan: Sendable {
        public var id: ProcessID
        public var command: String
        public var t: Int64
        public var from: Int
        public var to: Int
        public var adopterCommand: String?
    }
    public struct PerProcess: Sendable {
        public var id: ProcessID
        public var command: String
        public var lifetime: Int64
        public var states: [ProcState: Int64]
        /// The latest argv (the last exec's, else the one it was born with).
        public var argv: [String] = []
        /// The real parent's pid at fork (0 when unknown).
        public var ppid: Int = 0
        /// Birth (fork or spawn) and exit, in trace nanoseconds (exit nil: alive at the end).
        public var start: Int64 = 0
        public var end: Int64?
        public var exit: ExitStatus?
    }

    public var states: StateSource
    public var duration: Int64
    public var incomplete: Bool
    public var eventCounts: [(type: String, count: Int)]
    public var totalEvents: Int
    public var processCount: Int
    /// Fate → number of processes: "exited 0", "exited non-zero", "killed by SIGKILL", "alive at end".
    public var fates: [(fate: String, count: Int)]
    /// Reap kind → count: wait, auto, adopted, never.
    public var reaps: [(how: String, count: Int)]
    /// Most processes existing at once (zombies included), and when first reached.
    public var peakConcurrency: Int
    public var peakAt: Int64
    /// Most processes alive (not zombies) at once.
    public var peakAlive: Int
    public var totalStates: [ProcState: Int64]
    public var perProcess: [PerProcess]
    public var zombies: [Zombie]
    public var waits: [Wait]
    public var orphans: [Orphan]
    /// For `states: sched`: total time spent ready (runnable but waiting for a CPU).
    public var readyTime: Int64?
    /// proctrace's own pid (the root's reaper), if seen.
    public var tracerPid: Int?
    /// Where the state source stopped: one entry per `unknown` event.
    public var unknownSpans: [UnknownSpan]
    /// `end.lost` (nil for an incomplete trace).
    public var lost: Int?
    /// Successful execs, and failed ones (`exec` with `error`) by errno name, most first.
    public var execsSucceeded = 0
    /// Wait calls in all: how many a signal interrupted and the kernel restarted (and how many
    /// restarts in all), how many ended with EINTR (the program saw the interruption).
    public var waitCalls = 0, waitsRestarted = 0, waitRestarts = 0, waitsEINTR = 0
    public var execsFailed: [(error: String, count: Int)] = []
    public var execsFailedTotal: Int { execsFailed.reduce(0) { $0 + $1.count } }

    /// A task whose state became unknown at `t`, for `duration` (until its next state or exit).
    public struct UnknownSpan: Sendable {
        public var id: ProcessID
        public var tid: Int?
        public var command: String
        public var t: Int64
        public var duration: Int64
        public var reason: String
    }

    /// Computes the statistics of a history. `top` bounds the zombie and wait lists.
    public init(_ h: ProcessHistory, top: Int = 10) {
        states = h.states
        duration = h.endTime
        incomplete = h.incomplete
        eventCounts = h.eventCounts.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map { ($0.key, $0.value) }
        totalEvents = h.eventCount
        processCount = h.processes.count

        var fateCounts: [String: Int] = [:]
        var reapCounts: [String: Int] = [:]
        for r in h.processes {
            let fate: String
            switch r.exitStatus {
            case .exited(0)?: fate = "exited 0"
            case .exited?: fate = "exited non-zero"
            case .signaled(let s, _)?: fate = "killed by \(s)"
            case nil: fate = "alive at end"
            default: fate = "other"
            }
            fateCounts[fate, default: 0] += 1
            reapCounts[r.reapHow?.rawValue ?? "never", default: 0] += 1
        }
        var failed: [String: Int] = [:]
        for r in h.processes {
            execsSucceeded += r.execs.count
            for f in r.failedExecs { failed[f.error, default: 0] += 1 }
        }
        execsFailed = failed.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map { ($0.key, $0.value) }
        fates = fateCounts.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map { ($0.key, $0.value) }
        reaps = reapCounts.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map { ($0.key, $0.value) }

        // Peak concurrency: sweep births (+1), exits (-1 alive) and reaps (-1 existing).
        var deltas: [(t: Int64, exist: Int, alive: Int)] = []
        deltas.reserveCapacity(h.processes.count * 3)
        for r in h.processes {
            deltas.append((r.birth, 1, 1))
            if let x = r.exitTime { deltas.append((x, 0, -1)) }
            if let rp = r.reapTime { deltas.append((rp, -1, 0)) }
        }
        // At equal times apply removals first so a reap and a fork at the same instant do not overlap.
        deltas.sort { $0.t != $1.t ? $0.t < $1.t : ($0.exist + $0.alive) < ($1.exist + $1.alive) }
        var exist = 0, alive = 0
        peakConcurrency = 0; peakAt = 0; peakAlive = 0
        for d in deltas {
            exist += d.exist; alive += d.alive
            if exist > peakConcurrency { peakConcurrency = exist; peakAt = d.t }
            peakAlive = max(peakAlive, alive)
        }

        var totals: [ProcState: Int64] = [:]
        var per: [PerProcess] = []
        per.reserveCapacity(h.processes.count)
        for r in h.processes {
            let t = r.timeInStates()
            for (k, v) in t { totals[k, default: 0].addSaturating(v) }
            per.append(PerProcess(id: r.id, command: r.command, lifetime: r.lifetime, states: t, argv: r.argv, ppid: r.parentPid,
                                  start: r.birth, end: r.exitTime, exit: r.exitStatus))
        }
        totalStates = totals
        perProcess = per
        readyTime = h.states == .sched ? (totals[.ready] ?? 0) : nil
        tracerPid = h.tracerPid
        lost = h.end?.lost
        var spans: [UnknownSpan] = []
        for r in h.processes {
            for u in r.unknownStates {
                let key = u.tid
                let end = r.stateIntervals.first { $0.state == .unknown && $0.start == u.t && ($0.tid == key || $0.tid == nil || key == nil) }?.end
                spans.append(UnknownSpan(id: r.id, tid: u.tid, command: r.command, t: u.t, duration: (end ?? u.t) - u.t, reason: u.reason))
            }
        }
        unknownSpans = spans.sorted { ($0.t, $0.id) < ($1.t, $1.id) }

        var zs: [Zombie] = []
        for r in h.processes {
            guard let x = r.exitTime else { continue }
            let d = r.zombieDuration ?? (h.endTime - x)
            let parent = r.parentPid(at: x)
            let pc = h.process(pid: parent, at: x)?.command
            zs.append(Zombie(id: r.id, command: r.command, duration: d, exitTime: x, parent: parent, parentCommand: pc,
                             reapedBy: r.reapedBy, how: r.reapHow?.rawValue))
        }
        zombies = Array(zs.sorted { ($0.duration, $1.id) > ($1.duration, $0.id) }.prefix(top))

        var ws: [Wait] = []
        for r in h.processes {
            for w in r.waits {
                let end = w.end ?? h.endTime
                ws.append(Wait(id: r.id, command: r.command, call: w.call, target: w.target, begin: w.begin,
                               duration: end - w.begin, result: w.result, returned: w.end != nil, restarted: w.restarted))
                waitCalls += 1
                if !w.restarted.isEmpty { waitsRestarted += 1; waitRestarts += w.restarted.count }
                if w.result == .error("EINTR") { waitsEINTR += 1 }
            }
        }
        waits = Array(ws.sorted { ($0.duration, $1.begin) > ($1.duration, $0.begin) }.prefix(top))

        var os: [Orphan] = []
        for r in h.processes {
            for rp in r.reparents {
                os.append(Orphan(id: r.id, command: r.command, t: rp.t, from: rp.from, to: rp.to,
                                 adopterCommand: h.process(pid: rp.to, at: rp.t)?.command))
            }
        }
        orphans = os
    }

    // MARK: - Text

    public func text(model: StateModel = .five, style: Style = Style(enabled: false)) -> String {
        var o = ""
        func line(_ s: String = "") { o += s + "\n" }
        // A row holds the trace's text (commands, event types, errnos) and no styling: escaped.
        func row(_ s: String) { o += TerminalText.escape(s) + "\n" }
        func label(_ s: ProcState) -> String { model.label(s, source: states) }
        line(style.bold("Trace") + ": \(TimeFormat.duration(duration)), \(totalEvents) events, \(processCount) " +
            "processes, states: \(states.rawValue)\(incomplete ? " (incomplete: no end line)" : "")")
        line()
        line(style.bold("Events"))
        for (t, c) in eventCounts { row("  \(pad(t, 12)) \(c)") }
        line()
        line(style.bold("Processes by fate"))
        for (f, c) in fates { row("  \(pad(f, 20)) \(c)") }
        row("  reaped by: " + reaps.map { "\($0.how) \($0.count)" }.joined(separator: ", "))
        row("  execs: \(execsSucceeded) succeeded, \(execsFailedTotal) failed" + (execsFailed.isEmpty ? "" : " (" + execsFailed.map { "\($0.error) " +
            "\($0.count)" }.joined(separator: ", ") + ")"))
        row("  peak concurrency: \(peakConcurrency) existing (zombies included) at \(TimeFormat.clock(peakAt))s, \(peakAlive) alive")
        line()
        let caveat = states.distinguishesReady ? "" : (states == .none ? "; no state events: coarse, derived from waits" : "; sampled: ready and running " +
            "are one")
        line(style.bold("Time in each state") + " (all processes, \(model.rawValue)-state model\(caveat))")
        for (k, v) in stateTotals(model) { row("  \(pad(k, 12)) \(TimeFormat.duration(v))") }
        if let r = readyTime { row("  time ready (waiting for a CPU): \(TimeFormat.duration(r))") }
        if !unknownSpans.isEmpty {
            line()
            let first = unknownSpans[0]
            let tasks = Set(unknownSpans.map { "\($0.id)/\($0.tid ?? $0.id.pid)" }).count
            let stops = Set(unknownSpans.map(\.t)).count
            line(style.magenta(style.bold("States unknown")) + TerminalText.escape(": the state source stopped \(stops == 1 ? "once" : "\(stops) times") for " +
                "\(tasks) task\(tasks == 1 ? "" : "s"), first at \(TimeFormat.clock(first.t))s " +
                "(\(first.reason))\(lost.map { "; \($0) events lost" } ?? ""). Those stretches count as unknown, not as any state."))
            for u in unknownSpans.prefix(10) {
                let who = u.command + "(" + u.id.description + (u.tid.map { $0 != u.id.pid ? " tid \($0)" : "" } ?? "") + ")"
                row("  \(pad(who, 24)) unknown from \(TimeFormat.clock(u.t))s for \(TimeFormat.duration(u.duration)): \(u.reason)")
            }
            if unknownSpans.count > 10 { line("  … and \(unknownSpans.count - 10) more") }
        }
        line()
        line(style.bold("Per process") + " (longest-lived first" + (perProcess.count > 20 ? ", 20 of \(perProcess.count)" : "") + ")")
        let shown = perProcess.sorted { ($0.lifetime, $1.id) > ($1.lifetime, $0.id) }.prefix(20)
        let cols = stateColumns(model)
        row("  " + pad("PID", 9) + pad("COMMAND", 16) + pad("LIFETIME", 10) + cols.map { pad($0.uppercased(), 11) }.joined())
        for p in shown {
            let byLabel = Self.fold(p.states, model: model, source: states)
            row("  " + pad(p.id.description, 9) + pad(clip(p.command, 15), 16) + pad(TimeFormat.duration(p.lifetime), 10)
                 + cols.map { pad(byLabel[$0].map(TimeFormat.duration) ?? "-", 11) }.joined())
        }
        line()
        line(style.bold("Longest zombies") + " (exit → reap; the parent is who failed to reap)")
        if zombies.isEmpty { row("  none") }
        for z in zombies {
            let who = z.parentCommand.map { "\($0)(\(z.parent))" } ?? (z.parent == tracerPid ? "proctrace(\(z.parent))" : "untraced \(z.parent)")
            let reaped = z.how.map { h in "reaped by \(z.reapedBy.map(String.init) ?? "?") (\(h))" } ?? "never reaped"
            row("  \(pad(z.command + "(" + z.id.description + ")", 24)) \(pad(TimeFormat.duration(z.duration), 9)) parent \(who), \(reaped)")
        }
        line()
        line(style.bold("Longest waits") + " (\(waitCalls) wait call\(waitCalls == 1 ? "" : "s"); \(waitsRestarted) " +
            "interrupted by a signal and restarted by the kernel (\(waitRestarts) restart\(waitRestarts == 1 ? "" : "s")), " +
            "\(waitsEINTR) ended with EINTR)")
        if waits.isEmpty { row("  none") }
        for w in waits {
            let res: String
            switch w.result {
            case .pid(let p)?: res = "→ \(p)"
            case .nothing?: res = "→ 0 (nothing ready)"
            case .error(let e)?: res = "→ \(e)"
            case nil: res = "still waiting at end"
            }
            let note = WaitRecord.restartNote(w.restarted).map { ", " + $0 } ?? ""
            row("  \(pad(w.command + "(" + w.id.description + ")", 24)) \(pad(TimeFormat.duration(w.duration), 9)) \(w.call)(\(w.target)) \(res)\(note)")
        }
        line()
        line(style.bold("Orphans and adopters"))
        if orphans.isEmpty { row("  none") }
        for x in orphans {
            let adopter = x.adopterCommand.map { "\($0)(\(x.to))" } ?? (x.to == 1 ? "init(1)" : "\(x.to)")
            row("  \(pad(x.command + "(" + x.id.description + ")", 24)) parent \(x.from) died at \(TimeFormat.clock(x.t))s → adopted by \(adopter)")
        }
        return o
    }

    /// State totals keyed by the label the model and source allow (ready+running merge into
    /// "runnable" unless the states came from the scheduler).
    func stateTotals(_ model: StateModel) -> [(String, Int64)] {
        let f = Self.fold(totalStates, model: model, source: states)
        return stateColumns(model).compactMap { k in f[k].map { (k, $0) } }
    }

    func stateColumns(_ model: StateModel) -> [String] {
        var cols: [String] = []
        // `unknown` only when some state was unknown (a state source stopped).
        for s in ProcState.allCases where s != .unknown || (totalStates[.unknown] ?? 0) > 0 || !unknownSpans.isEmpty {
            let l = model.label(s, source: states)
            if !cols.contains(l) { cols.append(l) }
        }
        return cols
    }

    static func fold(_ t: [ProcState: Int64], model: StateModel, source: StateSource) -> [String: Int64] {
        var out: [String: Int64] = [:]
        for (k, v) in t { out[model.label(k, source: source), default: 0].addSaturating(v) }
        return out
    }

    // MARK: - JSON

    public func json(model: StateModel = .five) -> JSONValue {
        func i(_ v: Int64) -> JSONValue { .int(v) }
        func n(_ v: Int) -> JSONValue { .int(Int64(v)) }
        func statesObj(_ t: [ProcState: Int64]) -> JSONValue {
            let f = Self.fold(t, model: model, source: states)
            return .object(JSONObject(stateColumns(model).compactMap { k in f[k].map { (k, i($0)) } }))
        }
        var o = JSONObject()
        o.append("duration_ns", i(duration))
        o.append("states_source", .string(states.rawValue))
        o.append("model", .string(model.rawValue))
        o.append("incomplete", .bool(incomplete))
        o.append("events", n(totalEvents))
        o.append("event_counts", .object(JSONObject(eventCounts.map { ($0.type, n($0.count)) })))
        o.append("processes", n(processCount))
        o.append("fates", .object(JSONObject(fates.map { ($0.fate, n($0.count)) })))
        o.append("reaped", .object(JSONObject(reaps.map { ($0.how, n($0.count)) })))
        o.append("execs", .object(JSONObject([("succeeded", n(execsSucceeded)), ("failed", n(execsFailedTotal)),
                                              ("failed_by_error", .object(JSONObject(execsFailed.map { ($0.error, n($0.count)) })))])))
        o.append("peak_concurrency", n(peakConcurrency))
        o.append("peak_at_ns", i(peakAt))
        o.append("peak_alive", n(peakAlive))
        o.append("time_in_states_ns", statesObj(totalStates))
        if let r = readyTime { o.append("ready_time_ns", i(r)) }
        o.append("unknown_states", .array(unknownSpans.map { u in
            var uo = JSONObject([("pid", n(u.id.pid)), ("generation", n(u.id.generation))])
            if let tid = u.tid { uo.append("tid", n(tid)) }
            uo.append("command", .string(u.command)); uo.append("t_ns", i(u.t)); uo.append("duration_ns", i(u.duration))
            uo.append("reason", .string(u.reason))
            return .object(uo)
        }))
        o.append("per_process", .array(perProcess.map { p in
            .object(JSONObject([("pid", n(p.id.pid)), ("generation", n(p.id.generation)), ("command", .string(p.command)),
                                ("argv", .array(p.argv.map { .string($0) })), ("ppid", n(p.ppid)),
                                ("start_ns", i(p.start)), ("end_ns", p.end.map(i) ?? .null), ("exit", p.exit?.json ?? .null),
                                ("lifetime_ns", i(p.lifetime)), ("states_ns", statesObj(p.states))]))
        }))
        o.append("longest_zombies", .array(zombies.map { z in
            var zo = JSONObject([("pid", n(z.id.pid)), ("generation", n(z.id.generation)), ("command", .string(z.command)),
                                 ("zombie_ns", i(z.duration)), ("exit_ns", i(z.exitTime)), ("parent", n(z.parent))])
            if let c = z.parentCommand { zo.append("parent_command", .string(c)) }
            zo.append("reaped_by", z.reapedBy.map(n) ?? .null)
            zo.append("how", z.how.map { .string($0) } ?? .null)
            return .object(zo)
        }))
        o.append("longest_waits", .array(waits.map { w in
            .object(JSONObject([("pid", n(w.id.pid)), ("generation", n(w.id.generation)), ("command", .string(w.command)),
                                ("call", .string(w.call.rawValue)), ("target", n(w.target)), ("begin_ns", i(w.begin)),
                                ("duration_ns", i(w.duration)), ("returned", .bool(w.returned)),
                                ("result", w.result?.json ?? .null), ("restarted", .array(w.restarted.map(i)))]))
        }))
        o.append("waits", .object(JSONObject([("calls", n(waitCalls)), ("restarted", n(waitsRestarted)), ("restarts", n(waitRestarts)),
                                              ("eintr", n(waitsEINTR))])))
        o.append("orphans", .array(orphans.map { x in
            var xo = JSONObject([("pid", n(x.id.pid)), ("generation", n(x.id.generation)), ("command", .string(x.command)),
                                 ("t_ns", i(x.t)), ("from", n(x.from)), ("to", n(x.to))])
            if let c = x.adopterCommand { xo.append("adopter_command", .string(c)) }
            return .object(xo)
        }))
        return .object(o)
    }
}

func pad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count)
}
