@preconcurrency import Glibc
import Analysis
import ArgumentParser
import Lifecycle
import Render

extension ProcTrace {
    struct Render: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "render",
            abstract: "Draw a trace: the process tree and the state timeline, through Graphviz.")

        @OptionGroup var source: TraceAndModel
        var trace: String { source.trace }
        @Flag(help: "Draw the process tree.") var tree = false
        @Flag(help: "Draw the timeline.") var timeline = false
        @Option(name: .shortAndLong, help: "Output format (dot: the DOT source). Default: the extension of -o FILE, else svg.")
        var format: Choice<OutputFormat>?
        @Option(name: .shortAndLong, help: "Output directory (existing, or ending in /), or a file when one picture is asked.")
        var output: String?
        @Flag(help: "Do not collapse identical sibling runs in the tree.") var noCollapse = false
        @Option(parsing: .unconditional, help: ArgumentHelp("Start of the timeline window in trace time, as replay --at: " +
            "seconds (0.2) or with a unit (190ms). Default: the root's spawn.")) var from: String?
        @Option(parsing: .unconditional, help: "End of the timeline window in trace time. Default: the last reap or event of any process.") var to: String?
        @Flag(help: "Draw the timeline's time axis linear, without cutting out long stretches where nothing happens.") var noBreak = false
        @Option(parsing: .unconditional, help: "Only these pids and their descendants (comma-separated).") var pids: String?
        @Option(help: "Only processes whose command or argv contains this text.") var match: String?
        @Flag(help: "Highlight the critical path (as proctrace analyze finds it) in the tree and the timeline.") var criticalPath = false

        func validate() throws {
            if let output, output.isEmpty { throw ValidationError("-o wants a file or directory name") }
            do { _ = try RenderFrontend.format(flag: format?.text, output: output) } catch { throw ValidationError(error.description) }
            try source.check()
            let f = try from.map { try OptionValue.instant("--from", $0) }
            let t = try to.map { try OptionValue.instant("--to", $0) }
            if let f, let t, t <= f { throw ValidationError("--to must be after --from") }
            _ = try pidList()
            if let match, match.isEmpty { throw ValidationError("--match wants some text to look for in commands and argv") }
            // Options of one picture given when only the other is drawn would be ignored.
            if tree && !timeline {
                for (name, given) in [("--from", from != nil), ("--to", to != nil), ("--model", source.model != nil), ("--no-break", noBreak)] where given {
                    throw ValidationError("\(name) applies to the timeline, and only --tree is asked (add --timeline)")
                }
            }
            if (try? RenderFrontend.format(flag: format?.text, output: output)) == .html {
                // The viewer shows both pictures, filters and collapses in the page itself.
                for (name, given) in [("--tree", tree), ("--timeline", timeline), ("--no-collapse", noCollapse), ("--no-break", noBreak),
                                      ("--pids", pids != nil), ("--match", match != nil)] where given {
                    throw ValidationError("\(name) does not apply to -f html: "
                                          + "the viewer shows the tree and the timeline together, and filters with its search box")
                }
            }
            if timeline && !tree && noCollapse {
                throw ValidationError("--no-collapse applies to the tree, and only --timeline is asked (add --tree)")
            }
        }

        /// The `--pids` list (empty without the option).
        func pidList() throws -> [Int] {
            guard let pids else { return [] }
            let items = pids.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingCharacters(in: " ") }
            guard !items.isEmpty, items.allSatisfy({ Int($0).map { $0 > 0 } ?? false }) else {
                throw ValidationError("--pids wants comma-separated pids (positive whole numbers: 4100,4102), not \"\(TerminalText.escape(pids))\"")
            }
            return items.compactMap { Int($0) }
        }

        func run() throws {
            var req = RenderRequest(trace: trace)
            req.tree = tree || !timeline
            req.timeline = timeline || !tree
            req.format = try RenderFrontend.format(flag: format?.text, output: output)
            req.output = output
            let filter = ProcessFilter(pids: try pidList(), match: match)
            req.treeOptions = TreeOptions(collapse: !noCollapse, filter: filter)
            req.timelineOptions = TimelineOptions(
                model: source.stateModel,
                from: from.flatMap(Lifecycle.TimeFormat.parseInstant), to: to.flatMap(Lifecycle.TimeFormat.parseInstant), filter: filter)
            req.timelineOptions.breakAxis = !noBreak
            req.exitsAfter = true
            if req.format == .html { return try runViewer(req) }
            let history = try LifecycleCLI.loadHistory(trace)
            if criticalPath {
                let path = TraceAnalysis(history).criticalPath
                req.treeOptions.criticalPath = Set(path.map(\.id))
                req.timelineOptions.criticalPath = path.map { PathSegment(id: $0.id, start: $0.start, end: $0.end) }
            }
            let tty = isatty(2) != 0
            // What the trace lost, said after the pictures; the history itself goes to the
            // renderer, which lets it go before Graphviz lays out.
            let health = TraceHealth(history)
            do {
                let written = try RenderFrontend.run(req, history: consume history, progress: { line in
                    if tty { StandardError.write("\r\u{1B}[K" + line) }
                }, warning: { LifecycleCLI.stderr("proctrace render: warning: " + TerminalText.escape($0)) })
                if tty { StandardError.write("\r\u{1B}[K") }
                for p in written { print(TerminalText.escape(p)) }
                LifecycleCLI.warn(health)
            } catch let e as RenderFailure {
                if tty { StandardError.write("\r\u{1B}[K") }
                LifecycleCLI.warn(health)
                throw LifecycleCLI.fail("render", e.description, code: e.exitCode)
            }
        }
    }
}

extension ProcTrace.Render {
    /// `-f html`: the trace read once, folded into the history and, event by event, into the
    /// world `replay --at` shows; the critical path as `analyze` finds it.
    func runViewer(_ request: RenderRequest) throws {
        var req = request
        req.tree = false; req.timeline = true
        var stream = ViewerStream()
        let history: ProcessHistory
        do { history = try ProcessHistory(path: trace) { e, line in stream.observe(e, line: line) } } catch { throw LifecycleCLI.fail(error) }
        var options = ViewerOptions()
        options.model = source.stateModel
        options.from = req.timelineOptions.from
        options.to = req.timelineOptions.to
        options.highlightCriticalPath = criticalPath
        options.title = trace == TraceReader.stdinPath ? "stdin" : String(trace.split(separator: "/").last ?? Substring(trace))
        options.criticalPath = TraceAnalysis(history).criticalPath.map { PathSegment(id: $0.id, start: $0.start, end: $0.end) }
        let tty = isatty(2) != 0
        do {
            let written = try RenderFrontend.runViewer(req, history: history, stream: stream, options: options, progress: { line in
                if tty { fputs("\r\u{1B}[K" + line, stderr) }
            })
            if tty { fputs("\r\u{1B}[K", stderr) }
            for p in written { print(TerminalText.escape(p)) }
            LifecycleCLI.warn(history)
        } catch let e as RenderFailure {
            if tty { fputs("\r\u{1B}[K", stderr) }
            LifecycleCLI.warn(history)
            throw LifecycleCLI.fail("render", e.description, code: e.exitCode)
        }
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
