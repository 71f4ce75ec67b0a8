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

    public static func dot(_ history: ProcessHistory, options: TreeOptions = TreeOptions()) -> String {
        var shown = Set(history.processes.map(\.id))
        if !options.filter.isEmpty {
            let selected = options.filter.select(history)
            shown = selected
            // Keep ancestors for context.
            for id in selected {
                var cur = history.record(for: id)?.parent
                while let c = cur, !shown.contains(c) { shown.insert(c); cur = history.record(for: c)?.parent }
            }
        }
        let span = max(history.endTime, 1)
        var out = ""
        out.reserveCapacity(history.processes.count * 400 + 4000)
        out += "digraph proctree {\n"
        out += "  graph [rankdir=TB, ordering=out, nodesep=0.25, ranksep=0.45, fontname=\"DejaVu Sans\", fontsize=11, bgcolor=white, pad=0.2,@LIMITS@\n"
        out += "         label=\(DOTText.label(title(history))), labelloc=t, labeljust=l];\n"
        out += "  node [shape=box, style=\"rounded,filled\", fontname=\"DejaVu Sans\", fontsize=10, " +
            "fillcolor=\"\(Palette.exitedOK)\", color=\"#455a64\", penwidth=1.2, margin=\"0.12,0.05\"];\n"
        out += "  edge [color=\"#455a64\", arrowsize=0.7, fontname=\"DejaVu Sans\", fontsize=9];\n"

        // Node ids: "p<pid>_<generation>" for a process, the first member's id for a run.
        var nodeOf: [ProcessID: String] = [:]
        var adopters: [(adopter: Int, child: ProcessID, t: Int64, from: Int)] = []
        var edges: [(String, String, critical: Bool)] = []

        func nodeID(_ id: ProcessID) -> String { "p\(id.pid)_\(id.generation)" }
        let hints = ArgvHints.hints(history, shown: shown)

        func emit(_ r: ProcessRecord) {
            let id = nodeID(r.id)
            nodeOf[r.id] = id
            let critical = options.criticalPath.contains(r.id)
            let cls = classes(r) + (critical ? ["critical"] : [])
            let mark = critical ? ", color=\"\(Palette.criticalPath)\", penwidth=3.2" : ""
            out += "  \(id) [id=\(DOTText.quoted(id)), class=\(DOTText.quoted(cls.joined(separator: " "))), \(style(r))\(mark), " +
                "label=\(DOTText.label(withHint(label(r, span: span), hints[r.id]))), tooltip=\(DOTText.tooltip(tooltip(r, span: span)))];\n"
        }
        /// The run's hint when all its members share one.
        func runHint(_ run: [ProcessRecord]) -> String? {
            let hs = Set(run.map { hints[$0.id] })
            return hs.count == 1 ? hs.first! : nil
        }

        /// The node id of a collapsed run, and the label lines every run starts with: the
        /// count and program, the shared argv hint, the pids, the lifetimes.
        func runHead(_ run: [ProcessRecord]) -> (id: String, lines: [String]) {
            let first = run[0]
            let id = nodeID(first.id)
            for r in run { nodeOf[r.id] = id }
            var lines = ["\(run.count)*[\(DOTText.truncated(first.execChain.joined(separator: " → "), to: 40))]"]
            if let h = runHint(run) { lines.append(h) }
            lines.append("pids " + pidList(run.map(\.pid)))
            let lifetimes = run.map(\.lifetime)
            let lo = lifetimes.min()!, hi = lifetimes.max()!
            lines.append(lo == hi ? "each lived \(TimeFormat.duration(lo))" : "lived \(TimeFormat.duration(lo))–\(TimeFormat.duration(hi))")
            return (id, lines)
        }

        /// "zombie ≤ D" when any member of the run was a zombie for a while.
        func zombieLine(_ run: [ProcessRecord]) -> [String] {
            guard let zmax = run.compactMap(\.zombieDuration).max(), zmax > 0 else { return [] }
            return ["zombie ≤ \(TimeFormat.duration(zmax))"]
        }

        func emitRun(_ run: [ProcessRecord]) {
            let first = run[0]
            let head = runHead(run)
            let id = head.id
            var lines = head.lines
            lines.append(first.endSummary + (first.autoReaped ? ", auto-reaped" : ""))
            lines += zombieLine(run)
            var tip = ["\(run.count) identical siblings (collapsed; --no-collapse shows each)"]
            for r in run.prefix(50) {
                tip.append("\(r.id): " + ProcessRecord.shellQuoted(r.argv) + "  [\(TimeFormat.instant(r.birth, span: span)) → " +
                    "\(r.exitTime.map { TimeFormat.instant($0, span: span) } ?? "end")]")
            }
            if run.count > 50 { tip.append("… and \(run.count - 50) more") }
            out += "  \(id) [id=\(DOTText.quoted(id)), class=\(DOTText.quoted((["collapsed"] + classes(first)).joined(separator: " "))), \(style(first)), " +
                "peripheries=2, label=\(DOTText.label(lines)), tooltip=\(DOTText.tooltip(tip))];\n"
        }

        func emitMixedRun(_ run: [ProcessRecord]) {
            let first = run[0]
            let head = runHead(run)
            let id = head.id
            var lines = head.lines
            lines += statusSummary(run)
            if first.autoReaped { lines.append("all auto-reaped") }
            else if let how = first.reapHow { lines.append(how == .wait ? "all reaped by wait" : "all reaped by " +
                "\(first.reapedBy.map(String.init) ?? "?") (\(how))") }
            lines += zombieLine(run)
            var tip = ["\(run.count) siblings running the same program, with different exit statuses (collapsed; --no-collapse shows each)"]
            for r in run.prefix(60) {
                tip.append("\(r.id): \(r.endSummary)  " + ProcessRecord.shellQuoted(r.argv) + "  [\(TimeFormat.instant(r.birth, span: span)) → " +
                    "\(r.exitTime.map { TimeFormat.instant($0, span: span) } ?? "end")]")
            }
            if run.count > 60 { tip.append("… and \(run.count - 60) more") }
            // Fill striped in proportion: exit 0, non-zero, killed, alive.
            let ok = run.filter { !$0.wasKilled && !$0.exitedNonZero && $0.exitStatus != nil }.count
            let nz = run.filter(\.exitedNonZero).count
            let kd = run.filter(\.wasKilled).count
            let al = run.count - ok - nz - kd
            let stripes = [(Palette.exitedOK, ok), (Palette.nonZero, nz), (Palette.killed, kd), (Palette.alive, al)]
                .filter { $0.1 > 0 }
                .map { "\($0.0);\(TimeFormat.fixed(max(Double($0.1) / Double(run.count), 0.01), 3))" }
                .joined(separator: ":")
            var classes = ["process", "collapsed", "mixed"]
            if kd > 0 { classes.append("killed") }
            if nz > 0 { classes.append("nonzero") }
            if first.autoReaped { classes.append("autoreaped") }
            let border = kd > 0 ? "color=\"\(Palette.killedBorder)\", " : first.autoReaped ? "color=\"\(Palette.autoBorder)\", " : ""
            out += "  \(id) [id=\(DOTText.quoted(id)), class=\(DOTText.quoted(classes.joined(separator: " "))), " +
                "shape=box, style=striped, \(border)fillcolor=\"\(stripes)\", peripheries=2, label=\(DOTText.label(lines)), tooltip=\(DOTText.tooltip(tip))];\n"
        }

        func walk(_ r: ProcessRecord) {
            emit(r)
            let kids = history.children(of: r.id).filter { shown.contains($0.id) }
            var i = 0
            while i < kids.count {
                var j = i + 1
                if options.collapse && isLeaf(kids[i], history, shown) && !options.criticalPath.contains(kids[i].id) {
                    // A long run of leaves that differ only in their exit status (burst: child
                    // I exits I) becomes one node with a status summary; otherwise only
                    // identical siblings merge, so no status is ever hidden.
                    let loose = looseSignature(kids[i])
                    var m = i + 1
                    while m < kids.count && isLeaf(kids[m], history, shown) && looseSignature(kids[m]) == loose
                            && !options.criticalPath.contains(kids[m].id) { m += 1 }
                    let sig = signature(kids[i])
                    if m - i >= mixedRunMinimum && kids[i..<m].contains(where: { signature($0) != sig }) {
                        j = m
                    } else {
                        while j < kids.count && isLeaf(kids[j], history, shown) && signature(kids[j]) == sig
                                && !options.criticalPath.contains(kids[j].id) { j += 1 }
                    }
                }
                if j - i >= 2 && kids[i..<j].contains(where: { signature($0) != signature(kids[i]) }) {
                    emitMixedRun(Array(kids[i..<j]))
                } else if j - i >= 2 {
                    emitRun(Array(kids[i..<j]))
                } else {
                    walk(kids[i])
                }
                edges.append((nodeOf[r.id]!, nodeOf[kids[i].id]!,
                              options.criticalPath.contains(r.id) && options.criticalPath.contains(kids[i].id)))
                i = j
            }
        }

        for r in history.processes where r.parent == nil && shown.contains(r.id) {
            walk(r)
        }
        // Processes whose parent is known but not shown (filtered out) become roots too.
        for r in history.processes where nodeOf[r.id] == nil && shown.contains(r.id) {
            if let p = r.parent, nodeOf[p] != nil { continue }
            walk(r)
        }
        for (a, b, critical) in edges {
            out += critical ? "  \(a) -> \(b) [class=\"critical\", color=\"\(Palette.criticalPath)\", penwidth=3];\n" : "  \(a) -> \(b);\n"
        }

        // Adoption: a dashed edge from the adopter, which may be a process outside the trace.
        for r in history.processes where shown.contains(r.id) {
            for rp in r.reparents { adopters.append((rp.to, r.id, rp.t, rp.from)) }
        }
        var outside: Set<Int> = []
        for a in adopters {
            guard let child = nodeOf[a.child] else { continue }
            let adopterNode: String
            if let rec = history.process(pid: a.adopter, at: a.t), let n = nodeOf[rec.id] {
                adopterNode = n
            } else {
                adopterNode = "ext\(a.adopter)"
                if outside.insert(a.adopter).inserted {
                    let name = a.adopter == 1 ? "pid 1 (init)" : "pid \(a.adopter)"
                    out += "  \(adopterNode) [id=\(DOTText.quoted(adopterNode)), class=\"untraced\", shape=box, " +
                        "style=\"dashed,rounded\", fillcolor=white, color=\"#90a4ae\", fontcolor=\"#546e7a\", label=\(DOTText.label([name, "not traced"]))];\n"
                }
            }
            out += "  \(adopterNode) -> \(child) [class=\"adopted\", style=dashed, color=\"\(Palette.orphanBorder)\", fontcolor=\"\(Palette.orphanBorder)\", " +
                "fontsize=9, constraint=false, label=\(DOTText.label("adopted \(TimeFormat.instant(a.t, span: span))")), " +
                "tooltip=\(DOTText.tooltip(["\(a.child) reparented from \(a.from) to \(a.adopter) at \(TimeFormat.instant(a.t, span: span))"]))];\n"
        }
        out += legend(criticalPath: !options.criticalPath.isEmpty)
        out += "}\n"
        // Big trees: cap dot's crossing-minimization and network-simplex iterations (a tree
        // has few crossings to remove); this made a 10,000-node tree about 4x faster.
        let limits = Set(nodeOf.values).count > 1000 ? " mclimit=0.05, nslimit=0.5, nslimit1=0.5, searchsize=5, remincross=false," : ""
        let marker = "@LIMITS@"
        if let i = out.firstIndex(of: "@"), out[i...].hasPrefix(marker) {
            out.replaceSubrange(i..<out.index(i, offsetBy: marker.count), with: limits)
        }
        return out
    }

    static func title(_ h: ProcessHistory) -> String {
        var argv: [String] = []
        if case .array(let a)? = h.header["argv"] { argv = a.compactMap(\.string) }
        var t = "proctrace: " + DOTText.truncated(ProcessRecord.shellQuoted(argv), to: 100)
        t += "  —  \(h.processes.count) processes, \(TimeFormat.duration(h.endTime))"
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
        lines.append("\(TimeFormat.instant(r.birth, span: span)) → \(end)  (\(TimeFormat.duration(r.lifetime)))")
        if r.attached { lines.append("already running at attach" + (r.ageAtAttach.map { " (for \(TimeFormat.duration($0)))" } ?? "")) }
        var fate = r.endSummary
        if r.autoReaped { fate += ", auto-reaped" }
        else if let by = r.reapedBy, r.reapHow == .adopted { fate += ", reaped by \(by)" }
        lines.append(fate)
        for run in r.failedExecRuns.prefix(2) { lines.append(DOTText.truncated(run.summary, to: 56)) }
        if r.failedExecRuns.count > 2 { lines.append("(\(r.failedExecRuns.count - 2) more runs of failed execs)") }
        if let z = r.zombieDuration, z > 0 { lines.append("zombie \(TimeFormat.duration(z))") }
        else if r.exitTime != nil && r.reapTime == nil { lines.append("zombie until trace end") }
        if r.threads.count > 1 { lines.append("\(r.threads.count) threads") }
        return lines
    }

    static func tooltip(_ r: ProcessRecord, span: Int64) -> [String] {
        var lines = [r.attached
            ? "pid \(r.id), parent \(r.parent.map(\.description) ?? String(r.parentPid)), already running when the " +
                "recording attached at \(TimeFormat.instant(r.birth, span: span))" + (r.ageAtAttach.map { " (running for \(TimeFormat.duration($0)))" } ?? "")
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

    /// A legend built from fixed strings only (so an HTML-like label is safe here).
    static func legend(criticalPath: Bool = false) -> String {
        func row(_ fill: String, _ border: String, _ text: String, dashed: Bool = false) -> String {
            "<TR><TD BGCOLOR=\"\(fill)\" COLOR=\"\(border)\" BORDER=\"2\"\(dashed ? " STYLE=\"dashed\"" : "") " +
            "WIDTH=\"28\"> </TD><TD ALIGN=\"LEFT\">\(text)</TD></TR>"
        }
        var rows = "<TR><TD COLSPAN=\"2\" ALIGN=\"LEFT\"><B>Legend</B></TD></TR>"
        rows += row(Palette.exitedOK, "#455a64", "exited 0, reaped by its parent's wait")
        rows += row(Palette.nonZero, "#455a64", "exited with a non-zero status")
        rows += row(Palette.killed, Palette.killedBorder, "killed by a signal")
        rows += row(Palette.alive, "#455a64", "still running when the trace ended")
        rows += row("white", Palette.orphanBorder, "orphaned: reparented (dashed arrow from the adopter)", dashed: true)
        rows += row("white", Palette.autoBorder, "octagon: auto-reaped (SIGCHLD ignored), never a zombie")
        rows += row("white", "#455a64", "double border: N*[cmd] identical siblings collapsed")
        rows += row(Palette.nonZero, "#455a64", "striped, double border: N*[cmd] siblings with different exit statuses (all listed)")
        if criticalPath { rows += row("white", Palette.criticalPath, "thick magenta border and edges: the critical path (proctrace analyze)") }
        return "  subgraph cluster_legend { graph [label=\"\", style=invis]; legend [id=\"legend\", class=\"legend\", " +
            "shape=plain, style=\"\", label=<<TABLE BORDER=\"0\" CELLBORDER=\"0\" CELLSPACING=\"3\" CELLPADDING=\"2\">\(rows)</TABLE>>]; }\n"
    }
}
