/// The whole history as a text tree, like `pstree -p`: each process with its exec chain,
/// lifetime, exit status or killing signal, zombie time and markers for orphans and
/// auto-reaped children. Processes sit under their real parent at fork; a reparent is shown
/// as a marker rather than by moving the process.
public enum TreeView {
    public static func render(_ h: ProcessHistory, style: Style = Style(enabled: false)) -> String {
        var out = ""
        let header = headerLine(h)
        out += style.bold(header) + "\n"
        var lines: [String] = []
        let hints = ArgvHints.hints(h, shown: Set(h.processes.map(\.id)), limit: 40)
        func walk(_ r: ProcessRecord, prefix: String, isLast: Bool, isRoot: Bool) {
            let branch = isRoot ? "" : (isLast ? "└─" : "├─")
            lines.append(style.dim(prefix + branch) + describe(r, h, style, hint: hints[r.id]))
            let kids = h.children(of: r.id)
            let childPrefix = isRoot ? "" : prefix + (isLast ? "  " : "│ ")
            for (i, c) in kids.enumerated() { walk(c, prefix: childPrefix, isLast: i == kids.count - 1, isRoot: false) }
        }
        for r in h.roots { walk(r, prefix: "", isLast: true, isRoot: true) }
        out += lines.joined(separator: "\n")
        if !lines.isEmpty { out += "\n" }
        let unknown = h.processes.filter { !$0.unknownStates.isEmpty }
        if let first = unknown.flatMap(\.unknownStates).min(by: { $0.t < $1.t }) {
            out += style.magenta("(states unknown: the state source stopped at \(TimeFormat.clock(first.t))s (\(first.reason)) for \(unknown.count) " +
                "process\(unknown.count == 1 ? "" : "es"), marked [states unknown]; their states from then on were not recorded)") + "\n"
        }
        if h.incomplete { out += style.yellow("(incomplete trace: no end line; processes still alive are shown as such)") + "\n" }
        return out
    }

    static func headerLine(_ h: ProcessHistory) -> String {
        var parts: [String] = []
        if let argv = h.header["argv"]?.array?.compactMap(\.string), !argv.isEmpty { parts.append(clip(TerminalText.escape(joining: argv), 60)) }
        parts.append("\(h.processes.count) processes")
        parts.append(TimeFormat.duration(h.endTime))
        parts.append("states: \(h.states.rawValue)")
        if let e = h.end { parts.append(e.status.map { "root \(TerminalText.escape($0.description))" } ?? "root still running (detached)") }
        return parts.joined(separator: " · ")
    }

    /// One process's line (without the tree branch). `hint`: the arguments that tell it from
    /// its look-alike siblings (`ArgvHints`), shown instead of its first arguments.
    /// The trace's text in it (commands, argv, paths, signal names) is escaped before it is
    /// coloured, so it cannot drive the terminal (`TerminalText`).
    public static func describe(_ r: ProcessRecord, _ h: ProcessHistory, _ style: Style, hint: String? = nil) -> String {
        // In a nested pid namespace, also the pid its own namespace knows it by.
        let esc = TerminalText.escape
        var s = style.bold(esc(r.command)) + "(" + r.id.description + (r.innerPid.map { ", ns pid \($0)" } ?? "") + ")"
        var parts: [String] = []
        // Exec chain: the image it was born with, then each exec.
        if !r.execs.isEmpty {
            var chain: [String] = []
            if let img = r.initialImage { chain.append(basename(img)) }
            chain += r.execs.map { basename($0.path) }
            if chain.count > 1 { parts.append(style.blue(esc(chain.joined(separator: " → ")))) }
            let args = TerminalText.escape(joining: r.argv.dropFirst())
            if let hint {
                // The words that tell it from its look-alike siblings; "… " when they are not
                // where its arguments begin.
                let hint = esc(hint)
                parts.append(style.dim(args.hasPrefix(String(hint.prefix { $0 != "…" })) ? hint : "… " + hint))
            } else if !args.isEmpty {
                parts.append(style.dim(clip(args, 40)))
            }
        }
        for run in r.failedExecRuns { parts.append(style.magenta("[" + esc(run.summary) + "]")) }
        if r.attached {
            parts.append(style.magenta("[already running at attach" + (r.ageAtAttach.map { ", for \(TimeFormat.duration($0))" } ?? "") + "]"))
        } else if r.via != .fork && r.via != .spawn { parts.append(style.dim("via \(esc(r.via.rawValue))")) }
        if let st = r.exitStatus {
            // An attached process lived longer than the trace saw of it.
            parts.append(style.dim((r.attached ? "traced for " : "lived ") + TimeFormat.duration(r.exitTime! - r.birth)))
            switch st {
            case .exited(0): parts.append(style.green("exited 0"))
            case .exited(let c): parts.append(style.red("exited \(c)"))
            default: parts.append(style.red(esc(st.description)))
            }
        } else {
            parts.append(style.yellow("alive at end") + style.dim(" (since \(TimeFormat.clock(r.birth))s)"))
        }
        if let z = r.zombieDuration {
            var zs = "zombie \(TimeFormat.duration(z))"
            if let by = r.reapedBy, let how = r.reapHow {
                switch how {
                case .wait: zs += ", reaped by " + (by == h.tracerPid ? "proctrace(\(by))" : "\(by)")
                case .auto: zs += ", auto-reaped"
                default: zs += by == 0 ? ", reaped by an adopter outside the trace (unidentified)" : ", reaped by adopter \(by)"
                }
            }
            parts.append(z >= 1_000_000 ? style.yellow(zs) : style.dim(zs))
        } else if r.exitTime != nil {
            parts.append(style.yellow("zombie at end, never reaped"))
        }
        for rp in r.reparents {
            parts.append(style.magenta("[orphaned: \(rp.from)→\(rp.to) at \(TimeFormat.clock(rp.t))s]"))
        }
        if r.reapHow == .auto { parts.append(style.magenta("[auto-reaped]")) }
        // Waits a signal interrupted and the kernel restarted: each is one call (its EINTR, had
        // the program seen one, would be a wait of its own).
        let restarted = r.waits.filter { !$0.restarted.isEmpty }
        if restarted.count == 1, let w = restarted.first, let note = w.restartNote {
            parts.append(style.magenta("[\(w.call)(\(w.target)) \(note)]"))
        } else if restarted.count > 1 {
            let n = restarted.reduce(0) { $0 + $1.restarted.count }
            parts.append(style.magenta("[\(restarted.count) waits restarted after signals, \(n) times]"))
        }
        if r.reapUnobserved { parts.append(style.dim("[reap unobserved]")) }
        if let u = r.unknownStates.first {
            let span = r.unknownTime
            parts.append(style.magenta("[states unknown from " +
                "\(TimeFormat.clock(u.t))s" + (span > 0 ? " for \(TimeFormat.duration(span))" : "") + ": \(u.reason)]"))
        }
        if r.threads.count > 1 { parts.append(style.dim("\(r.threads.count) threads")) }
        if !parts.isEmpty { s += "  " + parts.joined(separator: "  ") }
        return s
    }
}
