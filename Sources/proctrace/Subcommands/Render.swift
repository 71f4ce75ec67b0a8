@preconcurrency import Glibc
import ArgumentParser
import Lifecycle
import Render

extension ProcTrace {
    struct Render: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Draw a trace: the process tree and the state timeline, through Graphviz.")

        @Argument(help: "The trace file.") var trace: String
        @Flag(help: "Draw the process tree.") var tree = false
        @Flag(help: "Draw the timeline.") var timeline = false
        @Option(name: .shortAndLong, help: "Output format: svg, png, pdf or dot (the DOT source).")
        var format: String = "svg"
        @Option(name: .shortAndLong, help: "Output directory (existing, or ending in /), or a file when one picture is asked.")
        var output: String?
        @Option(help: "State model of the timeline: five or three.") var model: String = "five"
        @Flag(help: "Do not collapse identical sibling runs in the tree.") var noCollapse = false
        @Option(help: "Start of the timeline window in trace time, as replay --at: seconds (0.2) or with a unit (190ms). Default: the root's spawn.") var from: String?
        @Option(help: "End of the timeline window in trace time. Default: the last reap or event of any process.") var to: String?
        @Flag(help: "Draw the timeline's time axis linear, without cutting out long stretches where nothing happens.") var noBreak = false
        @Option(help: "Only these pids and their descendants (comma-separated).") var pids: String?
        @Option(help: "Only processes whose command or argv contains this text.") var match: String?

        func validate() throws {
            guard OutputFormat(rawValue: format) != nil else { throw ValidationError("-f must be svg, png, pdf or dot") }
            guard StateModel(rawValue: model) != nil else { throw ValidationError("--model must be three or five") }
            for (name, v) in [("--from", from), ("--to", to)] {
                if let v, Lifecycle.TimeFormat.parseInstant(v) == nil { throw ValidationError("\(name) wants seconds (1.5) or a time with a unit (31ms)") }
            }
            if let f = from.flatMap(Lifecycle.TimeFormat.parseInstant), let t = to.flatMap(Lifecycle.TimeFormat.parseInstant), t <= f {
                throw ValidationError("--to must be after --from")
            }
            if let p = pids, p.split(separator: ",").contains(where: { Int(String($0).trimmingCharacters(in: " ")) == nil }) {
                throw ValidationError("--pids takes comma-separated pids")
            }
        }

        func run() throws {
            var req = RenderRequest(trace: trace)
            req.tree = tree || !timeline
            req.timeline = timeline || !tree
            req.format = OutputFormat(rawValue: format)!
            req.output = output
            let filter = ProcessFilter(
                pids: (pids ?? "").split(separator: ",").compactMap { Int(String($0).trimmingCharacters(in: " ")) },
                match: match)
            req.treeOptions = TreeOptions(collapse: !noCollapse, filter: filter)
            req.timelineOptions = TimelineOptions(
                model: StateModel(rawValue: model)!,
                from: from.flatMap(Lifecycle.TimeFormat.parseInstant), to: to.flatMap(Lifecycle.TimeFormat.parseInstant), filter: filter)
            req.timelineOptions.breakAxis = !noBreak
            let tty = isatty(2) != 0
            do {
                let written = try RenderFrontend.run(req) { line in
                    if tty { fputs("\r\u{1B}[K" + line, stderr) }
                }
                if tty { fputs("\r\u{1B}[K", stderr) }
                for p in written { print(p) }
            } catch let e as RenderFailure {
                if tty { fputs("\r\u{1B}[K", stderr) }
                fputs("proctrace render: \(e.description)\n", stderr)
                throw ExitCode(1)
            }
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
