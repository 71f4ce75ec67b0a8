import Lifecycle

/// Options for the process-tree picture.
public struct TreeOptions: Sendable {
    /// Collapse runs of identical leaf siblings into one `4*[gcc]` node (as pstree does).
    public var collapse: Bool = true
    /// Which processes to show; their ancestors are kept so the tree stays connected.
    public var filter: ProcessFilter = ProcessFilter()
    /// Processes on the critical path (`render --critical-path`): drawn with a thick border,
    /// never collapsed into a run, the edges between them highlighted.
    public var criticalPath: Set<ProcessID> = []
    public init(collapse: Bool = true, filter: ProcessFilter = ProcessFilter(), criticalPath: Set<ProcessID> = []) {
        self.collapse = collapse; self.filter = filter; self.criticalPath = criticalPath
    }
}

/// The process tree as DOT for the `dot` engine: one node per process (or per run of
/// identical siblings), parent→child edges in fork order, a dashed edge from the adopter to
/// each reparented process, and a legend.
public enum ProcessTreeDOT {
    /// What a node is drawn as, beyond its end status.
    struct Signature: Hashable {
        var chain: [String]
        var end: String
        var reapHow: ReapHow?
        var orphaned: Bool
        var threads: Int
    }

    /// The DOT source of the tree (laid out by the `dot` engine).
    public static func dot(_ history: ProcessHistory, options: TreeOptions = TreeOptions()) -> String {
        var builder = ProcessTreeBuilder(history, options: options)
        return builder.build()
    }

    static func title(_ h: ProcessHistory) -> String {
        var argv: [String] = []
        if case .array(let a)? = h.header["argv"] { argv = a.compactMap(\.string) }
        var t = "proctrace: " + DOTText.truncated(ProcessRecord.shellQuoted(argv), to: 100)
        t += "  —  \(h.processes.count) processes, \(TimeFormat.labelDuration(h.endTime))"
        if h.incomplete { t += "  (incomplete trace)" }
        return t
    }

    static func isLeaf(_ r: ProcessRecord, _ h: ProcessHistory, _ shown: Set<ProcessID>) -> Bool {
        !r.children.contains { shown.contains($0) } && !r.isOrphaned
    }

    /// Siblings this many or more that differ only in their exit status collapse into one
    /// node with a status summary (fewer are shown one by one: each status stays visible).
    static let mixedRunMinimum = 5

    /// Everything but the exit status: same program, same reaping, same kind of end.
    static func looseSignature(_ r: ProcessRecord) -> Signature {
        let kind = r.wasKilled ? "killed" : r.exitStatus == nil ? "alive" : "exited"
        return Signature(chain: r.execChain, end: kind, reapHow: r.reapHow, orphaned: r.isOrphaned, threads: r.threads.count)
    }

    /// Lines that say every exit status of a collapsed run: `exit codes 0–49, one each`, or
    /// `exited 0 ×40, exited 1 ×2`, or `killed by SIGKILL ×3`.
    static func statusSummary(_ run: [ProcessRecord]) -> [String] {
        var codes: [Int: Int] = [:]
        var others: [String: Int] = [:]
        var otherOrder: [String] = []
        for r in run {
            if case .exited(let c)? = r.exitStatus { codes[c, default: 0] += 1 }
            else {
                let s = r.endSummary
                if others[s] == nil { otherOrder.append(s) }
                others[s, default: 0] += 1
            }
        }
        var parts: [String] = []
        if !codes.isEmpty {
            let sorted = codes.keys.sorted()
            if codes.values.allSatisfy({ $0 == 1 }) && sorted.count > 2 {
                parts.append("exit codes " + pidList(sorted) + ", one each")
            } else {
                // Equal counts side by side share a range: exited 1–3 ×2.
                var groups: [(lo: Int, hi: Int, n: Int)] = []
                for c in sorted {
                    if let g = groups.last, g.hi == c - 1, g.n == codes[c]! { groups[groups.count - 1].hi = c }
                    else { groups.append((c, c, codes[c]!)) }
                }
                parts += groups.map { "exited \($0.lo == $0.hi ? "\($0.lo)" : "\($0.lo)–\($0.hi)") ×\($0.n)\($0.lo == $0.hi ? "" : " each")" }
            }
        }
        parts += otherOrder.map { "\($0) ×\(others[$0]!)" }
        // At most 4 lines of at most ~44 characters.
        var lines: [String] = []
        for p in parts {
            if let l = lines.last, l.count + p.count + 2 <= 44 { lines[lines.count - 1] = l + ", " + p }
            else { lines.append(p) }
        }
        if lines.count > 4 { lines = Array(lines.prefix(3)) + ["… \(parts.count) statuses in all (tooltip)"] }
        return lines
    }

    static func signature(_ r: ProcessRecord) -> Signature {
        Signature(chain: r.execChain, end: r.endSummary, reapHow: r.reapHow, orphaned: r.isOrphaned, threads: r.threads.count)
    }

    /// SVG classes: the facts a stylesheet or a test can select on.
    static func classes(_ r: ProcessRecord) -> [String] {
        var c = ["process"]
        if r.wasKilled { c.append("killed") }
        if r.exitedNonZero { c.append("nonzero") }
        if r.exitStatus == nil { c.append("alive") }
        if r.autoReaped { c.append("autoreaped") }
        if r.isOrphaned { c.append("orphaned") }
        if r.exitTime != nil && r.reapTime == nil { c.append("unreaped") }
        return c
    }

    /// Fill by how it ended; border and shape by how it was reaped or adopted.
    static func style(_ r: ProcessRecord) -> String {
        var attrs: [String] = []
        let fill = r.wasKilled ? Palette.killed : r.exitedNonZero ? Palette.nonZero : r.exitStatus == nil ? Palette.alive : Palette.exitedOK
        attrs.append("fillcolor=\"\(fill)\"")
        var styles = ["rounded", "filled"]
        if r.wasKilled { attrs.append("color=\"\(Palette.killedBorder)\", penwidth=2.2") }
        if r.isOrphaned {
            styles.append("dashed")
            if !r.wasKilled { attrs.append("color=\"\(Palette.orphanBorder)\", penwidth=2") }
        }
        if r.autoReaped {
            attrs.append("shape=octagon")
            styles.removeAll { $0 == "rounded" }
            if !r.wasKilled { attrs.append("color=\"\(Palette.autoBorder)\"") }
        }
        if r.exitTime != nil && r.reapTime == nil { attrs.append("shape=doubleoctagon"); styles.removeAll { $0 == "rounded" } }
        attrs.append("style=\"\(styles.joined(separator: ","))\"")
        return attrs.joined(separator: ", ")
    }

    static func withHint(_ lines: [String], _ hint: String?) -> [String] {
        guard let hint else { return lines }
        var l = lines
        l.insert(hint, at: 1)
        return l
    }

    static func label(_ r: ProcessRecord, span: Int64) -> [String] {
        var chain = r.execChain
        if chain.count > 4 { chain = [chain[0], chain[1], "…(\(chain.count - 3))", chain[chain.count - 1]] }
        // In a nested pid namespace, also the pid it knows itself by (1: the namespace's init).
        let inner = r.innerPid.map { " (ns pid \($0))" } ?? ""
        var lines = ["\(r.id)\(inner) " + DOTText.truncated(chain.joined(separator: " → "), to: 48)]
        let end = r.exitTime.map { TimeFormat.instant($0, span: span) } ?? "…"
        lines.append("\(TimeFormat.instant(r.birth, span: span)) → \(end)  (\(TimeFormat.labelDuration(r.lifetime)))")
        if r.attached { lines.append("already running at attach" + (r.ageAtAttach.map { " (for \(TimeFormat.labelDuration($0)))" } ?? "")) }
        var fate = r.endSummary
        if r.autoReaped { fate += ", auto-reaped" }
        else if let by = r.reapedBy, r.reapHow == .adopted { fate += ", reaped by \(by)" }
        lines.append(fate)
        for run in r.failedExecRuns.prefix(2) { lines.append(DOTText.truncated(run.summary, to: 56)) }
        if r.failedExecRuns.count > 2 { lines.append("(\(r.failedExecRuns.count - 2) more runs of failed execs)") }
        if let z = r.zombieDuration, z > 0 { lines.append("zombie \(TimeFormat.labelDuration(z))") }
        else if r.exitTime != nil && r.reapTime == nil { lines.append("zombie until trace end") }
        if r.threads.count > 1 { lines.append("\(r.threads.count) threads") }
        return lines
    }

    static func tooltip(_ r: ProcessRecord, span: Int64) -> [String] {
        var lines = [r.attached
            ? "pid \(r.id), parent \(r.parent.map(\.description) ?? String(r.parentPid)), already running when the " +
                "recording attached at \(TimeFormat.instant(r.birth, span: span))"
                    + (r.ageAtAttach.map { " (running for \(TimeFormat.labelDuration($0)))" } ?? "")
            : "pid \(r.id), parent \(r.parent.map(\.description) ?? String(r.parentPid)), born by \(r.via) at \(TimeFormat.instant(r.birth, span: span))"]
        if r.execs.isEmpty {
            lines.append("argv (inherited): " + DOTText.truncated(ProcessRecord.shellQuoted(r.initialArgv), to: 2000))
        }
        for e in r.execs {
            lines.append("exec \(TimeFormat.instant(e.t, span: span)): " + DOTText.truncated(e.path, to: 500))
            lines.append("  argv: " + DOTText.truncated(ProcessRecord.shellQuoted(e.argv), to: 2000))
        }
        for f in r.failedExecs.prefix(40) {
            lines.append("failed exec \(TimeFormat.instant(f.t, span: span)) (\(f.error)): " + DOTText.truncated(f.path, to: 500))
        }
        if r.failedExecs.count > 40 { lines.append("… \(r.failedExecs.count - 40) more failed execs") }
        if let x = r.exitTime { lines.append("\(r.endSummary) at \(TimeFormat.instant(x, span: span))") }
        else { lines.append(r.endSummary) }
        if let t = r.reapTime { lines.append("reaped at \(TimeFormat.instant(t, span: span)) by " +
            "\(r.reapedBy.map(String.init) ?? "?") (\(r.reapHow?.rawValue ?? "?"))") }
        for rp in r.reparents { lines.append("reparented \(rp.from) → \(rp.to) at \(TimeFormat.instant(rp.t, span: span))") }
        for s in r.signals.prefix(20) { lines.append("signal \(s.sig)\(s.from.map { " from \($0)" } ?? "") at \(TimeFormat.instant(s.t, span: span))") }
        if r.threads.count > 1 {
            lines.append("threads: " + r.threads.prefix(20).map { "\($0.tid)" }.joined(separator: ", ") + (r.threads.count > 20 ? ", …" : ""))
        }
        return lines
    }

    static func pidList(_ pids: [Int]) -> String {
        // Runs of consecutive pids as ranges: 4102–4105, 4110.
        var parts: [String] = []
        var i = 0
        while i < pids.count {
            var j = i
            while j + 1 < pids.count && pids[j + 1] == pids[j] + 1 { j += 1 }
            parts.append(j > i ? "\(pids[i])–\(pids[j])" : "\(pids[i])")
            i = j + 1
        }
        return DOTText.truncated(parts.joined(separator: ", "), to: 60)
    }
}
