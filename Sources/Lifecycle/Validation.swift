/// The outcome of checking a trace against the proctrace/1 contract and the lifecycle model.
public struct ValidationReport: Sendable {
    public var path: String
    /// Every problem found, in line order.
    public var violations: [ModelViolation] = []
    /// Lines read (malformed ones included).
    public var lines = 0
    /// Processes seen (every incarnation counted).
    public var processes = 0
    /// The trace has no `end` line.
    public var incomplete = false
    /// Losses, unknown stretches, a missing end: told as warnings, not violations (a trace
    /// that counts its losses honestly keeps the contract).
    public var health: TraceHealth
    public var isClean: Bool { violations.isEmpty }

    /// `FILE:LINE: problem` for each violation (`FILE: problem` for whole-file ones).
    public var formatted: [String] {
        violations.map { TerminalText.escape($0.line > 0 ? "\(path):\($0.line): \($0.message)" : "\(path): \($0.message)") }
    }
}

/// Checks a trace line by line in one streaming pass (memory grows with the processes alive
/// at once, not with the trace's length).
public enum TraceValidator {
    /// Full validation: the file contract (header first, `end` last with the right count,
    /// well-formed lines) plus every model invariant `ProcessTable.apply` checks, plus "every
    /// process is reaped exactly once" for a complete trace. Throws only when the file
    /// cannot be opened or read; malformed lines are violations.
    public static func validate(path: String) throws(TraceReadError) -> ValidationReport {
        try run(TraceReader(path: path), contract: true)
    }

    /// The model replay of `replay --check`: only disagreements between recorded events and
    /// the lifecycle model (no file-format checks). A malformed line is not skipped: it throws,
    /// since a check that cannot read every event cannot say "no disagreement".
    public static func check(path: String) throws(TraceReadError) -> ValidationReport {
        try run(TraceReader(path: path), contract: false)
    }

    /// Runs the checks over any reader (tests use in-memory ones).
    public static func run(_ reader: TraceReader, contract: Bool) throws(TraceReadError) -> ValidationReport {
        var report = ValidationReport(path: reader.path, health: TraceHealth(name: reader.path))
        var table = ProcessTable()
        var endLine: Int?
        var firstType: String?
        var births = 0
        /// Processes the recorder detached from, left running (`end.detached`).
        var detached: Set<Int> = []
        while true {
            let event: TraceEvent
            do {
                guard let e = try reader.next() else { break }
                event = e
            } catch {
                if error.isFileError || error.notATrace || !contract { throw error }
                if contract { report.violations.append(ModelViolation(line: error.line, error.message)) }
                continue
            }
            let line = reader.line
            report.health.observe(event, line: line)
            let type = event.kind.typeName
            if contract {
                if firstType == nil {
                    firstType = type
                    if type != "trace" { report.violations.append(ModelViolation(line: line, "the first line must be the trace header, found \"\(type)\"")) }
                } else if type == "trace" {
                    report.violations.append(ModelViolation(line: line, "a second trace header"))
                }
                if let el = endLine { report.violations.append(ModelViolation(line: line, "\"\(type)\" after the end line (line \(el)): end must be last")) }
                if case let .end(_, events, _, _, detachedPids, _) = event.kind {
                    if endLine == nil { endLine = line }
                    detached = Set(detachedPids ?? [])
                    // end.events counts every line of the trace: the header and the end included.
                    if events != line {
                        report.violations.append(ModelViolation(line: line, "end.events is \(events) but the trace has \(line) lines up to its end"))
                    }
                }
            }
            switch event.kind { case .spawn, .fork, .attach: births += 1; default: break }
            let v = table.apply(event, line: line)
            if !v.isEmpty { report.violations.append(contentsOf: v) }
        }
        report.lines = reader.line
        report.health.finish(reader)
        report.processes = births
        report.incomplete = endLine == nil
        if contract {
            if let cut = reader.truncatedLine {
                report.violations.append(ModelViolation(line: cut, "cut-off last line (no newline, not valid JSON): the recording was interrupted"))
            }
            if reader.line == 0 && reader.truncatedLine == nil {
                report.violations.append(ModelViolation(line: 0, "empty file: a trace starts with its trace header"))
            } else if endLine == nil {
                report.violations.append(ModelViolation(line: reader.line, "incomplete trace: no end line after the last event (the recording was cut short)"))
            } else {
                // A process left running at a detach, and a zombie whose parent was, end
                // without a reap: the end line says so.
                let open = table.processes.values.filter { !detached.contains($0.pid) && !($0.isZombie && detached.contains($0.ppid)) }
                for p in open.sorted(by: { $0.birthLine < $1.birthLine }) {
                    let what = p.isZombie ? "exited but was never reaped" : "never exited nor was reaped"
                    report.violations.append(ModelViolation(line: p.birthLine, "pid \(p.pid) (born here) \(what) before " +
                        "the end: every process ends with exactly one reap"))
                }
            }
        }
        report.violations.sort { $0.line < $1.line }
        return report
    }
}
