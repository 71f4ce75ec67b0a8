/// What a trace says about its own completeness: events the recorder lost (`end.lost`),
/// stretches whose states are unknown (`unknown` events), and whether it has its `end` line.
/// Every command that reads a trace shows `warnings` on stderr, so a loss is told wherever a
/// trace is looked at (docs/guarantees.md, "Losses and failures").
public struct TraceHealth: Equatable, Sendable {
    /// The trace's name in messages (its path, `<stdin>`).
    public var name: String
    /// `end.lost`: events the kernel reported that the recorder could not record.
    public var lost = 0
    /// `unknown` events: a task's state could not be followed from then on until its next
    /// `state` event (the state source stalled, overran or was turned off).
    public var unknownStretches = 0
    /// The trace has its `end` line.
    public var complete = false
    /// Lines read.
    public var lines = 0
    /// The time of the last event read.
    public var lastTime: Int64 = 0
    /// A cut-off last line that was skipped (a killed recorder's half-written line).
    public var cutOffLine: Int?

    public init(name: String) { self.name = name }

    /// The health of a history read whole.
    public init(_ h: ProcessHistory) {
        name = h.path.map { $0 == TraceReader.stdinPath ? "<stdin>" : $0 } ?? "<memory>"
        lost = h.end?.lost ?? 0
        unknownStretches = h.eventCounts["unknown"] ?? 0
        complete = h.end != nil
        lines = h.eventCount
        lastTime = h.endTime
        cutOffLine = h.truncatedLine
    }

    /// Folds in one event as it is streamed.
    public mutating func observe(_ e: TraceEvent, line: Int) {
        lines = line
        lastTime = max(lastTime, e.t)
        switch e.kind {
        case let .end(_, _, l, _, _, _): complete = true; lost = l
        default: if e.kind.typeName == "unknown" { unknownStretches += 1 }
        }
    }

    /// Takes what only the reader knows (a cut-off last line) once it has reached the end.
    public mutating func finish(_ reader: TraceReader) {
        cutOffLine = reader.truncatedLine
        // The reader counts a cut-off last line; it holds no event.
        lines = max(lines, reader.truncatedLine.map { $0 - 1 } ?? reader.line)
    }

    /// True when nothing needs saying.
    public var isClean: Bool { lost == 0 && unknownStretches == 0 && complete }

    /// One sentence per problem, `FILE: warning: …`, each naming the trace and saying what it means for what is
    /// shown. Empty for a complete trace without losses.
    public var warnings: [String] {
        var out: [String] = []
        let file = TerminalText.escape(name) + ": warning"
        if lost > 0 {
            out.append("\(file): the recorder lost \(lost) event\(lost == 1 ? "" : "s") (counted in its end line): "
                       + "what is shown may miss processes, waits, signals or state changes, and states near the losses may be wrong")
        }
        if unknownStretches > 0 {
            out.append("\(file): \(unknownStretches) stretch\(unknownStretches == 1 ? "" : "es") of unknown state "
                       + "(the state source stopped following some tasks): shown as unknown, not as a state")
        }
        if !complete {
            var s = "\(file): incomplete trace: no end line after line \(lines) (t = \(TimeFormat.clock(lastTime))s)"
            if let cut = cutOffLine { s += ", and line \(cut) is cut off" }
            s += ": the recording was cut short, so processes still running then are shown as alive at the end and anything later is missing"
            out.append(s)
        }
        return out
    }
}
