import Lifecycle

extension TraceAnalysis {
    /// A step's or segment's command with its arguments, for the JSON and the text.
    static func commandLine(_ argv: [String], _ command: String) -> String {
        argv.isEmpty ? command : argv.joined(separator: " ")
    }

    // MARK: - Text

    /// The report `proctrace analyze` prints. `top` bounds the steps listed.
    public func text(top: Int = 10, style: Style = Style(enabled: false)) -> String {
        var o = ""
        func line(_ s: String = "") { o += s + "\n" }
        // Rows hold the trace's own text (commands, arguments): escaped.
        func row(_ s: String) { o += TerminalText.escape(s) + "\n" }
        func pct(_ v: Double) -> String {
            v >= 0.0995 ? "\(Int((v * 100).rounded()))%" : v > 0 && v < 0.0005 ? "<0.1%" : "\(TimeFormat.fixed(v * 100, 1))%"
        }
        let total = max(duration, 1)

        line(style.bold("Trace") + ": \(TimeFormat.duration(duration)) (the root's life), states: \(states.rawValue)")
        for w in health.warnings { row("  note: " + w) }
        if parallelism.unknown > 0 {
            row("  note: \(TimeFormat.duration(parallelism.unknown)) of process time has unknown state: not counted as running, ready or blocked")
        }
        line()
        line(style.bold("Critical path") + " (the chain that set the end time: fork → exit → reap)")
        if criticalPath.isEmpty { row("  none (no root process)") }
        for s in criticalPath {
            row("  \(pad(TimeFormat.clock(s.start) + "s", 12)) \(pad(TimeFormat.duration(s.duration), 9)) " +
                "\(pad(pct(Double(s.duration) / Double(total)), 5)) \(s.command)(\(s.id))  \(clip(Self.commandLine(s.argv, s.command), 80))")
        }
        line()
        let shown = steps.prefix(top)
        line(style.bold("Steps") + " (exec'd processes, largest own time first" + (steps.count > shown.count ? ", \(shown.count) of \(steps.count)" : "") + ")")
        line("  own = life minus time in wait() for its children" + (states == .sched ? "; cpu = running, summed over threads; ready = waiting " +
            "for a CPU" : states == .sampled ? "; runnable = running or ready (sampled states cannot tell them apart)" : "; the trace has no scheduler " +
            "states: no CPU or ready times"))
        let timeCols = states == .sched ? ["CPU", "READY"] : states == .sampled ? ["RUNNABLE"] : []
        row("  " + pad("PID", 9) + pad("OWN", 9) + pad("LIFE", 9) + timeCols.map { pad($0, 9) }.joined() + pad("BLOCKED ON", 26) + "COMMAND")
        for s in shown {
            var cols: [String] = []
            if states == .sched { cols = [s.cpu, s.ready].map { $0.map(TimeFormat.duration) ?? "-" } }
            if states == .sampled { cols = [s.runnable.map(TimeFormat.duration) ?? "-"] }
            let blocked = s.blocked.prefix(2).map { "\($0.why) \(TimeFormat.duration($0.ns))" }.joined(separator: ", ")
            var cmd = s.command + (s.hint.map { " [\($0)]" } ?? "")
            if s.unknown > 0 { cmd += " (\(TimeFormat.duration(s.unknown)) unknown)" }
            row("  " + pad(s.id.description, 9) + pad(TimeFormat.duration(s.own), 9) + pad(TimeFormat.duration(s.life), 9)
                + cols.map { pad($0, 9) }.joined() + pad(blocked.isEmpty ? "-" : clip(blocked, 25), 26) + clip(cmd, 70))
        }
        if steps.isEmpty { row("  none (no process exec'd)") }
        line()
        let p = parallelism
        line(style.bold("Parallelism") + " (\(p.counts))")
        row("  mean \(TimeFormat.fixed(p.mean, 2)), max \(p.max)")
        row("  share of time at each level: " + p.share.enumerated().map { "\($0.offset): \(pct($0.element))" }.joined(separator: ", "))
        if p.jobsMax > 0 {
            row("  the root's children alive at once: mean \(TimeFormat.fixed(p.jobsMean, 2)), max \(p.jobsMax), all " +
                "\(p.jobsMax) alive \(pct(p.jobsShare.last ?? 0)) of the root's life")
        }
        line()
        line(style.bold("Findings") + " (zombies over \(TimeFormat.duration(zombieThreshold)), orphans, processes alive " +
            "at the end, kills, failed execs, ECHILD, busy-polling, SIGCHLD ignored)")
        if findings.isEmpty { row("  none") }
        for f in findings { row("  \(pad(f.kind.rawValue, 16)) \(f.message)") }
        return o
    }

    // MARK: - JSON

    /// The `analyze --json` object (docs/analyze.schema.json): times in trace nanoseconds.
    public func json(top: Int? = nil) -> JSONValue {
        func i(_ v: Int64) -> JSONValue { .int(v) }
        func n(_ v: Int) -> JSONValue { .int(Int64(v)) }
        func strs(_ a: [String]) -> JSONValue { .array(a.map { .string($0) }) }
        var o = JSONObject()
        o.append("trace", path.map { .string($0) } ?? .null)
        o.append("states", .string(states.rawValue))
        o.append("start", i(start))
        o.append("end", i(end))
        o.append("duration_ns", i(duration))
        o.append("complete", .bool(health.complete))
        o.append("lost", n(health.lost))
        o.append("unknown_stretches", n(health.unknownStretches))
        o.append("critical_path", .array(criticalPath.map { s in
            .object(JSONObject([("pid", n(s.id.pid)), ("generation", n(s.id.generation)), ("command", .string(s.command)),
                                ("argv", strs(s.argv)), ("start", i(s.start)), ("end", i(s.end)), ("duration_ns", i(s.duration))]))
        }))
        o.append("steps", .array(steps.prefix(top ?? steps.count).map { s in
            var so = JSONObject([("pid", n(s.id.pid)), ("generation", n(s.id.generation)), ("command", .string(s.command)),
                                 ("argv", strs(s.argv))])
            so.append("hint", s.hint.map { .string($0) } ?? .null)
            so.append("start", i(s.start)); so.append("end", i(s.end))
            so.append("exit", s.exit?.json ?? .null)
            so.append("life_ns", i(s.life)); so.append("own_ns", i(s.own)); so.append("waiting_for_children_ns", i(s.waitingForChildren))
            so.append("cpu_ns", s.cpu.map(i) ?? .null); so.append("ready_ns", s.ready.map(i) ?? .null)
            so.append("runnable_ns", s.runnable.map(i) ?? .null)
            so.append("blocked_ns", .object(JSONObject(s.blocked.map { ($0.why, i($0.ns)) })))
            so.append("unknown_ns", i(s.unknown))
            return .object(so)
        }))
        let p = parallelism
        o.append("parallelism", .object(JSONObject([
            ("mean", .double(p.mean)), ("max", n(p.max)), ("counts", .string(p.counts)),
            ("share", .array(p.share.map { .double($0) })), ("from", i(p.from)), ("to", i(p.to)), ("unknown_ns", i(p.unknown)),
            ("jobs", .object(JSONObject([("mean", .double(p.jobsMean)), ("max", n(p.jobsMax)), ("share", .array(p.jobsShare.map { .double($0) }))]))),
        ])))
        o.append("findings", .array(findings.map { f in
            var fo = JSONObject([("kind", .string(f.kind.rawValue)), ("pid", n(f.id.pid)), ("generation", n(f.id.generation)), ("t", i(f.t))])
            if let d = f.duration { fo.append("duration_ns", i(d)) }
            fo.append("message", .string(f.message))
            for (k, v) in zip(f.facts.keys, f.facts.values) { fo.append(k, v) }
            return .object(fo)
        }))
        return .object(o)
    }
}

func pad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count)
}

func clip(_ s: String, _ width: Int) -> String {
    s.count <= width ? s : String(s.prefix(width - 1)) + "…"
}
