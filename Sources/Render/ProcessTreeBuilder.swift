import Lifecycle

/// Builds the process tree's DOT in one walk over the shown processes, in tree order.
///
/// What it decides, in one place each: which siblings collapse into one node (`units(of:)`),
/// when a wide fan of siblings folds into rows (`walk`), which legend entries the picture
/// uses (`present`). Nodes, edges and the legend are collected separately and put together
/// by `build()`, so the header can say what the body needed (iteration limits, `compound`).
struct ProcessTreeBuilder {
    /// The entries of the legend; only those the picture uses are listed.
    enum LegendEntry: CaseIterable {
        case exitedOK, nonZero, killed, alive, reapedByWait, orphaned, autoReaped, unreaped, collapsed, mixed, fan, critical
    }

    /// What a group of siblings is drawn as: one process (with its subtree), a run of
    /// identical leaves (`4*[gcc]`), or a run that differs only in exit statuses (striped).
    enum Unit {
        case process(ProcessRecord)
        case run([ProcessRecord])
        case mixedRun([ProcessRecord])

        var first: ProcessRecord {
            switch self {
            case .process(let r): return r
            case .run(let rs), .mixedRun(let rs): return rs[0]
            }
        }
    }

    /// The size of a drawn subtree, to decide how a fan folds: its width in points and its
    /// height in ranks.
    struct Extent {
        var width: Double
        var ranks: Int
    }

    /// A fan of this many sibling nodes or more folds into rows (fewer stay on one rank).
    static let foldMinimum = 24
    /// A node's height plus the gap to the next rank, in points (10 pt text, 4 lines).
    static let rankHeight = 90.0
    /// The widest a folded fan should be for its height: rows are added until it is no wider.
    static let fanAspect = 2.0

    let history: ProcessHistory
    let options: TreeOptions
    let shown: Set<ProcessID>
    let span: Int64
    let hints: [ProcessID: String]

    private var nodes = ""
    private var edges = ""
    private var nodeOf: [ProcessID: String] = [:]
    private var nodeCount = 0
    private var folded = false
    private(set) var present = Set<LegendEntry>()

    init(_ history: ProcessHistory, options: TreeOptions) {
        self.history = history
        self.options = options
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
        self.shown = shown
        span = max(history.endTime, 1)
        hints = ArgvHints.hints(history, shown: shown)
        nodes.reserveCapacity(history.processes.count * 400 + 4000)
    }

    /// The whole DOT source.
    mutating func build() -> String {
        for r in history.processes where r.parent == nil && shown.contains(r.id) {
            walk(r)
        }
        // Processes whose parent is known but not shown (filtered out) become roots too.
        for r in history.processes where nodeOf[r.id] == nil && shown.contains(r.id) {
            if let p = r.parent, nodeOf[p] != nil { continue }
            walk(r)
        }
        emitAdoptions()
        if !options.criticalPath.isEmpty { present.insert(.critical) }

        // Big trees: cap dot's crossing-minimization and network-simplex iterations (a tree
        // has few crossings to remove); this made a 10,000-node tree about 4x faster.
        let limits = nodeCount > 1000 ? " mclimit=0.05, nslimit=0.5, nslimit1=0.5, searchsize=5, remincross=false," : ""
        var out = "digraph proctree {\n"
        out += "  graph [rankdir=TB, ordering=out, nodesep=0.25, ranksep=0.45, fontname=\"DejaVu Sans\", fontsize=11, bgcolor=white, pad=0.2,"
        out += limits + (folded ? " compound=true," : "") + "\n"
        out += "         label=\(DOTText.label(ProcessTreeDOT.title(history))), labelloc=t, labeljust=l];\n"
        out += "  node [shape=box, style=\"rounded,filled\", fontname=\"DejaVu Sans\", fontsize=10, fillcolor=\"\(Palette.exitedOK)\", "
        out += "color=\"#455a64\", penwidth=1.2, margin=\"0.12,0.05\"];\n"
        out += "  edge [color=\"#455a64\", arrowsize=0.7, fontname=\"DejaVu Sans\", fontsize=9];\n"
        out += nodes
        out += edges
        out += legend()
        out += "}\n"
        return out
    }

    // MARK: Walking the tree

    private func nodeID(_ id: ProcessID) -> String { "p\(id.pid)_\(id.generation)" }

    private func shownChildren(_ r: ProcessRecord) -> [ProcessRecord] {
        history.children(of: r.id).filter { shown.contains($0.id) }
    }

    private func isLeaf(_ r: ProcessRecord) -> Bool { ProcessTreeDOT.isLeaf(r, history, shown) }
    private func critical(_ r: ProcessRecord) -> Bool { options.criticalPath.contains(r.id) }

    /// Groups siblings into what is drawn: a long run of leaves that differ only in their exit
    /// status (burst: child I exits I) becomes one striped node with a status summary;
    /// otherwise only identical leaves merge, so no status is ever hidden. Processes on the
    /// critical path are never merged.
    func units(of kids: [ProcessRecord]) -> [Unit] {
        var out: [Unit] = []
        var i = 0
        while i < kids.count {
            var j = i + 1
            if options.collapse && isLeaf(kids[i]) && !critical(kids[i]) {
                let loose = ProcessTreeDOT.looseSignature(kids[i])
                var m = i + 1
                while m < kids.count && isLeaf(kids[m]) && ProcessTreeDOT.looseSignature(kids[m]) == loose && !critical(kids[m]) { m += 1 }
                let sig = ProcessTreeDOT.signature(kids[i])
                if m - i >= ProcessTreeDOT.mixedRunMinimum && kids[i..<m].contains(where: { ProcessTreeDOT.signature($0) != sig }) {
                    j = m
                } else {
                    while j < kids.count && isLeaf(kids[j]) && ProcessTreeDOT.signature(kids[j]) == sig && !critical(kids[j]) { j += 1 }
                }
            }
            let group = Array(kids[i..<j])
            if group.count == 1 {
                out.append(.process(group[0]))
            } else if group.contains(where: { ProcessTreeDOT.signature($0) != ProcessTreeDOT.signature(group[0]) }) {
                out.append(.mixedRun(group))
            } else {
                out.append(.run(group))
            }
            i = j
        }
        return out
    }

    /// Draws `r`, then its children: each unit under it in fork order, on one rank, or, for a
    /// wide fan, wrapped into rows inside a frame that says whose children they are. Returns
    /// the size of what was drawn.
    @discardableResult
    private mutating func walk(_ r: ProcessRecord) -> Extent {
        let own = emitProcess(r)
        let units = units(of: shownChildren(r))
        guard !units.isEmpty else { return Extent(width: own, ranks: 1) }
        let fold = units.count >= Self.foldMinimum
        let fanID = "fan_" + nodeID(r.id)
        if fold {
            folded = true
            present.insert(.fan)
            let count = units.reduce(0) { $0 + unitSize($1) }
            let label = "\(count) children of \(r.id) in fork order, left to right, row by row"
            nodes += "  subgraph cluster_\(fanID) {\n"
            nodes += "  graph [id=\"\(fanID)\", class=\"fan\", label=\(DOTText.label(label)), labeljust=l, labelloc=t, "
            nodes += "style=\"rounded,dashed\", color=\"#90a4ae\", fontcolor=\"#546e7a\", fontsize=10];\n"
        }
        var heads: [(id: String, unit: Unit, extent: Extent)] = []
        for u in units {
            let extent: Extent
            switch u {
            case .process(let k): extent = walk(k)
            case .run(let rs): extent = Extent(width: emitRun(rs), ranks: 1)
            case .mixedRun(let rs): extent = Extent(width: emitMixedRun(rs), ranks: 1)
            }
            heads.append((nodeOf[u.first.id]!, u, extent))
        }
        let parent = nodeOf[r.id]!
        guard fold else {
            for h in heads { edge(parent, h.id, critical: critical(r) && critical(h.unit.first)) }
            let width = heads.reduce(0) { $0 + $1.extent.width }
            return Extent(width: max(own, width), ranks: 1 + (heads.map(\.extent.ranks).max() ?? 0))
        }
        // Columns: as many as keep the fan about `fanAspect` times as wide as it is tall.
        let n = Double(heads.count)
        let meanWidth = heads.reduce(0) { $0 + $1.extent.width } / n
        let meanHeight = Double(heads.reduce(0) { $0 + $1.extent.ranks }) / n * Self.rankHeight
        let columns = max(4, min(heads.count, Int((Self.fanAspect * n * meanHeight / meanWidth).squareRoot().rounded())))
        // Each row on one rank, in fork order left to right (invisible flat edges keep it).
        for start in stride(from: 0, to: heads.count, by: columns) {
            let row = heads[start..<min(start + columns, heads.count)].map(\.id)
            nodes += "  { rank=same; " + row.joined(separator: "; ") + "; " + row.joined(separator: " -> ") + " [style=invis]; }\n"
        }
        nodes += "  }\n"
        // One arrow into the frame; invisible edges put the first row under the parent and
        // each next row under the deepest subtree of the row above.
        edges += "  \(parent) -> \(heads[0].id) [class=\"fan\", lhead=\"cluster_\(fanID)\", "
        edges += "tooltip=\(DOTText.tooltip(["\(r.id) forked these \(heads.count) nodes' processes, in fork order"]))];\n"
        for h in heads[1..<min(columns, heads.count)] { edges += "  \(parent) -> \(h.id) [style=invis];\n" }
        var rows: [Int] = []
        var widest = 0.0
        for start in stride(from: 0, to: heads.count, by: columns) {
            let row = heads[start..<min(start + columns, heads.count)]
            let ranks = row.map(\.extent.ranks).max() ?? 1
            rows.append(ranks)
            widest = max(widest, row.reduce(0) { $0 + $1.extent.width })
            for (k, h) in row.enumerated() where start + columns + k < heads.count {
                edges += "  \(h.id) -> \(heads[start + columns + k].id) [style=invis, minlen=\(ranks)];\n"
            }
        }
        // Processes on the critical path keep their own (highlighted) arrow from the parent.
        for h in heads where critical(r) && critical(h.unit.first) {
            edges += "  \(parent) -> \(h.id) [class=\"critical\", color=\"\(Palette.criticalPath)\", penwidth=3, constraint=false];\n"
        }
        return Extent(width: max(own, widest), ranks: 1 + rows.reduce(0, +))
    }

    private func unitSize(_ u: Unit) -> Int {
        switch u {
        case .process: return 1
        case .run(let rs), .mixedRun(let rs): return rs.count
        }
    }

    private mutating func edge(_ a: String, _ b: String, critical: Bool) {
        edges += critical ? "  \(a) -> \(b) [class=\"critical\", color=\"\(Palette.criticalPath)\", penwidth=3];\n" : "  \(a) -> \(b);\n"
    }

    /// The width in points of a node showing `lines` (10 pt text, the node's margins, the gap
    /// to the next node).
    private static func width(_ lines: [String]) -> Double {
        (lines.map { TimelineDOT.textWidth($0, 10) }.max() ?? 0) + 17 + 18
    }

    // MARK: Nodes

    /// One process; returns its width.
    private mutating func emitProcess(_ r: ProcessRecord) -> Double {
        let id = nodeID(r.id)
        nodeOf[r.id] = id
        nodeCount += 1
        note(r)
        let critical = critical(r)
        let cls = ProcessTreeDOT.classes(r) + (critical ? ["critical"] : [])
        let mark = critical ? ", color=\"\(Palette.criticalPath)\", penwidth=3.2" : ""
        let lines = ProcessTreeDOT.withHint(ProcessTreeDOT.label(r, span: span), hints[r.id])
        nodes += "  \(id) [id=\(DOTText.quoted(id)), class=\(DOTText.quoted(cls.joined(separator: " "))), \(ProcessTreeDOT.style(r))\(mark), "
        nodes += "label=\(DOTText.label(lines)), tooltip=\(DOTText.tooltip(ProcessTreeDOT.tooltip(r, span: span)))];\n"
        return Self.width(lines)
    }

    /// The legend entries a process's look calls for.
    private mutating func note(_ r: ProcessRecord) {
        present.insert(r.wasKilled ? .killed : r.exitedNonZero ? .nonZero : r.exitStatus == nil ? .alive : .exitedOK)
        if r.isOrphaned { present.insert(.orphaned) }
        else if r.reapHow == .wait { present.insert(.reapedByWait) }
        if r.autoReaped { present.insert(.autoReaped) }
        if r.exitTime != nil && r.reapTime == nil { present.insert(.unreaped) }
    }

    /// The run's hint when all its members share one.
    private func runHint(_ run: [ProcessRecord]) -> String? {
        let hs = Set(run.map { hints[$0.id] })
        return hs.count == 1 ? hs.first! : nil
    }

    /// The node id of a collapsed run (its first member's), and the label lines every run
    /// starts with: the count and program, the shared argv hint, the pids, the lifetimes.
    private mutating func runHead(_ run: [ProcessRecord]) -> (id: String, lines: [String]) {
        let first = run[0]
        let id = nodeID(first.id)
        for r in run { nodeOf[r.id] = id }
        nodeCount += 1
        var lines = ["\(run.count)*[\(DOTText.truncated(first.execChain.joined(separator: " → "), to: 40))]"]
        if let h = runHint(run) { lines.append(h) }
        lines.append("pids " + ProcessTreeDOT.pidList(run.map(\.pid)))
        let lifetimes = run.map(\.lifetime)
        let lo = lifetimes.min()!, hi = lifetimes.max()!
        lines.append(lo == hi ? "each lived \(TimeFormat.labelDuration(lo))" : "lived \(TimeFormat.labelDuration(lo))–\(TimeFormat.labelDuration(hi))")
        return (id, lines)
    }

    /// "zombie ≤ D" when any member of the run was a zombie for a while.
    private func zombieLine(_ run: [ProcessRecord]) -> [String] {
        guard let zmax = run.compactMap(\.zombieDuration).max(), zmax > 0 else { return [] }
        return ["zombie ≤ \(TimeFormat.labelDuration(zmax))"]
    }

    private func interval(_ r: ProcessRecord) -> String {
        "[\(TimeFormat.instant(r.birth, span: span)) → \(r.exitTime.map { TimeFormat.instant($0, span: span) } ?? "end")]"
    }

    /// A run of identical leaf siblings; returns its width.
    private mutating func emitRun(_ run: [ProcessRecord]) -> Double {
        let first = run[0]
        let (id, head) = runHead(run)
        var lines = head
        note(first)
        present.insert(.collapsed)
        lines.append(first.endSummary + (first.autoReaped ? ", auto-reaped" : ""))
        lines += zombieLine(run)
        var tip = ["\(run.count) identical siblings (collapsed; --no-collapse shows each)"]
        for r in run.prefix(50) { tip.append("\(r.id): " + ProcessRecord.shellQuoted(r.argv) + "  " + interval(r)) }
        if run.count > 50 { tip.append("… and \(run.count - 50) more") }
        let cls = (["collapsed"] + ProcessTreeDOT.classes(first)).joined(separator: " ")
        nodes += "  \(id) [id=\(DOTText.quoted(id)), class=\(DOTText.quoted(cls)), \(ProcessTreeDOT.style(first)), peripheries=2, "
        nodes += "label=\(DOTText.label(lines)), tooltip=\(DOTText.tooltip(tip))];\n"
        return Self.width(lines)
    }

    /// A run of siblings that differ only in their exit statuses, striped in proportion
    /// (exit 0, non-zero, killed, alive) and listing every status; returns its width.
    private mutating func emitMixedRun(_ run: [ProcessRecord]) -> Double {
        let first = run[0]
        let (id, head) = runHead(run)
        var lines = head
        present.insert(.mixed)
        lines += ProcessTreeDOT.statusSummary(run)
        if first.autoReaped { lines.append("all auto-reaped"); present.insert(.autoReaped) }
        else if let how = first.reapHow {
            lines.append(how == .wait ? "all reaped by wait" : "all reaped by \(first.reapedBy.map(String.init) ?? "?") (\(how))")
        }
        lines += zombieLine(run)
        var tip = ["\(run.count) siblings running the same program, with different exit statuses (collapsed; --no-collapse shows each)"]
        for r in run.prefix(60) { tip.append("\(r.id): \(r.endSummary)  " + ProcessRecord.shellQuoted(r.argv) + "  " + interval(r)) }
        if run.count > 60 { tip.append("… and \(run.count - 60) more") }
        let ok = run.filter { !$0.wasKilled && !$0.exitedNonZero && $0.exitStatus != nil }.count
        let nz = run.filter(\.exitedNonZero).count
        let kd = run.filter(\.wasKilled).count
        let al = run.count - ok - nz - kd
        // The stripes' colours are the legend's: each one drawn gets its entry.
        for (entry, n) in [(LegendEntry.exitedOK, ok), (.nonZero, nz), (.killed, kd), (.alive, al)] where n > 0 { present.insert(entry) }
        let stripes = [(Palette.exitedOK, ok), (Palette.nonZero, nz), (Palette.killed, kd), (Palette.alive, al)]
            .filter { $0.1 > 0 }
            .map { "\($0.0);\(TimeFormat.fixed(max(Double($0.1) / Double(run.count), 0.01), 3))" }
            .joined(separator: ":")
        var classes = ["process", "collapsed", "mixed"]
        if kd > 0 { classes.append("killed") }
        if nz > 0 { classes.append("nonzero") }
        if first.autoReaped { classes.append("autoreaped") }
        let border = kd > 0 ? "color=\"\(Palette.killedBorder)\", " : first.autoReaped ? "color=\"\(Palette.autoBorder)\", " : ""
        nodes += "  \(id) [id=\(DOTText.quoted(id)), class=\(DOTText.quoted(classes.joined(separator: " "))), shape=box, style=striped, \(border)"
        nodes += "fillcolor=\"\(stripes)\", peripheries=2, label=\(DOTText.label(lines)), tooltip=\(DOTText.tooltip(tip))];\n"
        return Self.width(lines)
    }

    // MARK: Adoptions and the legend

    /// A dashed edge from the adopter of each reparented process, which may be a process
    /// outside the trace (then drawn as a dashed "not traced" node).
    private mutating func emitAdoptions() {
        var outside: Set<Int> = []
        for r in history.processes where shown.contains(r.id) {
            for rp in r.reparents {
                guard let child = nodeOf[r.id] else { continue }
                let adopterNode: String
                if let rec = history.process(pid: rp.to, at: rp.t), let n = nodeOf[rec.id] {
                    adopterNode = n
                } else {
                    adopterNode = "ext\(rp.to)"
                    if outside.insert(rp.to).inserted {
                        let name = rp.to == 1 ? "pid 1 (init)" : "pid \(rp.to)"
                        nodes += "  \(adopterNode) [id=\(DOTText.quoted(adopterNode)), class=\"untraced\", "
                        nodes += "shape=box, style=\"dashed,rounded\", fillcolor=white, "
                        nodes += "color=\"#90a4ae\", fontcolor=\"#546e7a\", label=\(DOTText.label([name, "not traced"]))];\n"
                    }
                }
                let when = TimeFormat.instant(rp.t, span: span)
                edges += "  \(adopterNode) -> \(child) [class=\"adopted\", style=dashed, "
                edges += "color=\"\(Palette.orphanBorder)\", fontcolor=\"\(Palette.orphanBorder)\", "
                edges += "fontsize=9, constraint=false, label=\(DOTText.label("adopted \(when)")), "
                edges += "tooltip=\(DOTText.tooltip(["\(r.id) reparented from \(rp.from) to \(rp.to) at \(when)"]))];\n"
            }
        }
    }

    /// The legend, built from fixed strings only (so an HTML-like label is safe here), listing
    /// the entries this picture uses. It sits on the top rank, beside the roots, where no
    /// edge passes (edges go down from a rank's nodes).
    private func legend() -> String {
        func row(_ fill: String, _ border: String, _ text: String, dashed: Bool = false) -> String {
            "<TR><TD BGCOLOR=\"\(fill)\" COLOR=\"\(border)\" BORDER=\"2\"\(dashed ? " STYLE=\"dashed\"" : "") "
                + "WIDTH=\"28\"> </TD><TD ALIGN=\"LEFT\">\(text)</TD></TR>"
        }
        var rows = "<TR><TD COLSPAN=\"2\" ALIGN=\"LEFT\"><B>Legend</B></TD></TR>"
        for entry in LegendEntry.allCases where present.contains(entry) {
            switch entry {
            // The fill says only how a process ended; how it was reaped is its border's and
            // shape's (a green octagon was never waited for: "exited 0, reaped by its parent's
            // wait" here read as a lie beside sigchld_ignore's and orphan's children).
            case .exitedOK: rows += row(Palette.exitedOK, "#455a64", "exited 0")
            case .reapedByWait: rows += row("white", "#455a64", "solid border: reaped by its parent's wait")
            case .nonZero: rows += row(Palette.nonZero, "#455a64", "exited with a non-zero status")
            case .killed: rows += row(Palette.killed, Palette.killedBorder, "killed by a signal")
            case .alive: rows += row(Palette.alive, "#455a64", "still running when the trace ended")
            case .orphaned: rows += row("white", Palette.orphanBorder, "orphaned: reparented (dashed arrow from the adopter)", dashed: true)
            case .autoReaped: rows += row("white", Palette.autoBorder, "octagon: auto-reaped (SIGCHLD ignored), never a zombie")
            case .unreaped: rows += row("white", "#455a64", "double octagon: exited, never reaped (a zombie at the trace's end)")
            case .collapsed: rows += row("white", "#455a64", "double border: N*[cmd] identical siblings collapsed")
            case .mixed: rows += row(Palette.nonZero, "#455a64", "striped, double border: N*[cmd] siblings with different exit statuses (all listed)")
            case .fan: rows += row("white", "#90a4ae", "dashed frame: a wide fan of children, wrapped into rows (fork order)", dashed: true)
            case .critical: rows += row("white", Palette.criticalPath, "thick magenta border and edges: the critical path (proctrace analyze)")
            }
        }
        return "  { rank=min; legend [id=\"legend\", class=\"legend\", shape=plain, style=\"\", "
            + "label=<<TABLE BORDER=\"0\" CELLBORDER=\"0\" CELLSPACING=\"3\" CELLPADDING=\"2\">\(rows)</TABLE>>]; }\n"
    }
}
