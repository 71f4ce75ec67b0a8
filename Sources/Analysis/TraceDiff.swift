import Lifecycle

/// Two runs of the same job, step by step (`proctrace diff A B`). Steps (exec'd processes)
/// are matched by their place in the tree (the commands of their exec'd ancestors) and their
/// command line with noise normalized: numbers, temporary names and pids do not tell runs
/// apart. Look-alikes with one key are matched in birth order.
public struct TraceDiff: Sendable {
    public struct StepChange: Sendable {
        public var command: String
        public var key: String
        public var a: TraceAnalysis.Step
        public var b: TraceAnalysis.Step
        /// b's life minus a's.
        public var delta: Int64 { b.life - a.life }
    }

    public var a: TraceAnalysis
    public var b: TraceAnalysis
    /// Matched steps, largest change in life first.
    public var steps: [StepChange]
    public var onlyA: [TraceAnalysis.Step]
    public var onlyB: [TraceAnalysis.Step]

    public var matched: Int { steps.count }
    /// Matched steps over the larger run's steps.
    public var matchedShare: Double {
        let n = max(a.steps.count, b.steps.count)
        return n == 0 ? 1 : Double(matched) / Double(n)
    }

    public init(_ ha: ProcessHistory, _ hb: ProcessHistory, zombieThreshold: Int64 = TraceAnalysis.defaultZombieThreshold) {
        a = TraceAnalysis(ha, zombieThreshold: zombieThreshold)
        b = TraceAnalysis(hb, zombieThreshold: zombieThreshold)
        let ka = Self.keys(ha, a.steps), kb = Self.keys(hb, b.steps)
        var pool: [String: [TraceAnalysis.Step]] = [:]
        for s in b.steps.sorted(by: { ($0.start, $0.id) < ($1.start, $1.id) }) { pool[kb[s.id]!, default: []].append(s) }
        var changes: [StepChange] = []
        var onlyA: [TraceAnalysis.Step] = []
        for s in a.steps.sorted(by: { ($0.start, $0.id) < ($1.start, $1.id) }) {
            let k = ka[s.id]!
            if var list = pool[k], !list.isEmpty {
                let m = list.removeFirst()
                pool[k] = list
                changes.append(StepChange(command: s.command, key: k, a: s, b: m))
            } else {
                onlyA.append(s)
            }
        }
        steps = changes.sorted { (abs($0.delta), $1.a.start) > (abs($1.delta), $0.a.start) }
        self.onlyA = onlyA
        onlyB = pool.values.flatMap { $0 }.sorted { ($0.start, $0.id) < ($1.start, $1.id) }
    }

    /// Each step's matching key: its exec'd ancestors' commands and its normalized argv.
    static func keys(_ h: ProcessHistory, _ steps: [TraceAnalysis.Step]) -> [ProcessID: String] {
        var out: [ProcessID: String] = [:]
        for s in steps {
            var chain: [String] = []
            var cur = h.record(for: s.id)?.parent
            while let c = cur, let r = h.record(for: c) {
                if !r.execs.isEmpty { chain.append(r.command) }
                cur = r.parent
            }
            out[s.id] = chain.reversed().joined(separator: ">") + "|" + s.argv.map(normalize).joined(separator: " ")
        }
        return out
    }

    /// An argument with run-to-run noise removed: digits become `#`, and a path component that
    /// looks generated (mixed case, as mkstemp's `ccAbC12x`) becomes `*`.
    public static func normalize(_ arg: String) -> String {
        arg.split(separator: "/", omittingEmptySubsequences: false).map { comp -> String in
            let stem = comp.split(separator: ".").first.map(String.init) ?? String(comp)
            let hasUpper = stem.contains { $0.isUppercase }, hasLower = stem.contains { $0.isLowercase }
            let digits = stem.contains { $0.isNumber }
            if stem.count >= 6 && ((hasUpper && hasLower) || (digits && (hasUpper || hasLower)) && stem.count >= 8) { return "*" }
            var s = ""
            var lastDigit = false
            for ch in comp {
                if ch.isNumber { if !lastDigit { s.append("#") }; lastDigit = true } else { s.append(ch); lastDigit = false }
            }
            return s
        }.joined(separator: "/")
    }

    // MARK: - Output

    public func text(top: Int = 15, style: Style = Style(enabled: false)) -> String {
        var o = ""
        func line(_ s: String = "") { o += s + "\n" }
        func row(_ s: String) { o += TerminalText.escape(s) + "\n" }
        func signed(_ d: Int64) -> String { (d > 0 ? "+" : "") + TimeFormat.duration(d) }
        func pct(_ a: Int64, _ b: Int64) -> String {
            a == 0 ? "" : " (\(b >= a ? "+" : "")\(TimeFormat.fixed(Double(b - a) * 100 / Double(a), 1))%)"
        }
        line(style.bold("Total") + ": \(TimeFormat.duration(a.duration)) → \(TimeFormat.duration(b.duration)), " +
            "\(signed(b.duration - a.duration))\(pct(a.duration, b.duration))")
        for (n, x) in [("A", a), ("B", b)] { for w in x.health.warnings { row("  note (\(n)): " + w) } }
        row("  steps matched: \(matched) (\(TimeFormat.fixed(matchedShare * 100, 0))% of the larger run), only in A: \(onlyA.count), only in B: \(onlyB.count)")
        line()
        line(style.bold("Parallelism") + ": mean \(TimeFormat.fixed(a.parallelism.mean, 2)) → " +
            "\(TimeFormat.fixed(b.parallelism.mean, 2)), max \(a.parallelism.max) → \(b.parallelism.max)")
        line()
        line(style.bold("Steps by change") + " (life, A → B" + (steps.count > top ? ", \(top) of \(steps.count)" : "") + ")")
        for c in steps.prefix(top) {
            row("  \(pad(signed(c.delta), 10)) \(pad(TimeFormat.duration(c.a.life), 9))→ " +
                "\(pad(TimeFormat.duration(c.b.life), 9)) \(clip(TraceAnalysis.commandLine(c.b.argv, c.command), 90))")
        }
        if steps.isEmpty { row("  none matched") }
        for (n, list) in [("A", onlyA), ("B", onlyB)] where !list.isEmpty {
            line()
            line(style.bold("Only in \(n)") + " (\(list.count))")
            for s in list.prefix(top) { row("  \(pad(TimeFormat.duration(s.life), 9)) \(s.command)(\(s.id)) " +
                "\(clip(TraceAnalysis.commandLine(s.argv, s.command), 90))") }
        }
        line()
        line(style.bold("Findings") + " (count by kind, A → B)")
        let fa = counts(a), fb = counts(b)
        var any = false
        for k in TraceAnalysis.FindingKind.allCases where fa[k] != nil || fb[k] != nil {
            any = true
            row("  \(pad(k.rawValue, 16)) \(fa[k] ?? 0) → \(fb[k] ?? 0)")
        }
        if !any { row("  none in either run") }
        return o
    }

    func counts(_ x: TraceAnalysis) -> [TraceAnalysis.FindingKind: Int] {
        var c: [TraceAnalysis.FindingKind: Int] = [:]
        for f in x.findings { c[f.kind, default: 0] += 1 }
        return c
    }

    /// The `diff --json` object (docs/analyze.md): times in nanoseconds.
    public func json() -> JSONValue {
        func i(_ v: Int64) -> JSONValue { .int(v) }
        func n(_ v: Int) -> JSONValue { .int(Int64(v)) }
        func run(_ x: TraceAnalysis) -> JSONValue {
            var fo = JSONObject()
            for (k, v) in counts(x).sorted(by: { $0.key.rawValue < $1.key.rawValue }) { fo.append(k.rawValue, n(v)) }
            return .object(JSONObject([
                ("trace", x.path.map { .string($0) } ?? .null), ("duration_ns", i(x.duration)), ("steps", n(x.steps.count)),
                ("parallelism", .object(JSONObject([("mean", .double(x.parallelism.mean)), ("max", n(x.parallelism.max))]))),
                ("findings", .object(fo)), ("lost", n(x.health.lost)), ("complete", .bool(x.health.complete)),
            ]))
        }
        func step(_ s: TraceAnalysis.Step) -> JSONValue {
            .object(JSONObject([("command", .string(s.command)), ("argv", .array(s.argv.map { .string($0) })), ("pid", n(s.id.pid)),
                                ("life_ns", i(s.life)), ("own_ns", i(s.own))]))
        }
        var o = JSONObject()
        o.append("a", run(a))
        o.append("b", run(b))
        o.append("duration_change_ns", i(b.duration - a.duration))
        o.append("matched", n(matched))
        o.append("matched_share", .double(matchedShare))
        o.append("only_a", .array(onlyA.map(step)))
        o.append("only_b", .array(onlyB.map(step)))
        o.append("steps", .array(steps.map { c in
            .object(JSONObject([("command", .string(c.command)), ("argv", .array(c.b.argv.map { .string($0) })), ("key", .string(c.key)),
                                ("a_pid", n(c.a.id.pid)), ("b_pid", n(c.b.id.pid)),
                                ("a_ns", i(c.a.life)), ("b_ns", i(c.b.life)), ("delta_ns", i(c.delta)),
                                ("a_own_ns", i(c.a.own)), ("b_own_ns", i(c.b.own))]))
        }))
        return .object(o)
    }
}
