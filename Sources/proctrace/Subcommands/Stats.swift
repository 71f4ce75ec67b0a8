import ArgumentParser
import Lifecycle

extension ProcTrace {
    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Counts, process fates, peak concurrency, time in each state, zombies, waits and orphans.",
            discussion: "With --json the same numbers are printed as one JSON object (times in nanoseconds)."
        )
        @Argument(help: "The trace file.") var trace: String
        @Flag(help: "Print JSON instead of text.") var json = false
        @Option(help: "State vocabulary: three or five.") var model: String = "five"
        @Option(help: "How many of the longest zombies and waits to list.") var top: Int = 10

        func validate() throws {
            guard StateModel(rawValue: model) != nil else { throw ValidationError("--model must be three or five") }
        }

        func run() throws {
            let h = try LifecycleCLI.loadHistory(trace)
            let stats = TraceStats(h, top: top)
            let m = StateModel(rawValue: model) ?? .five
            if json {
                print(stats.json(model: m).jsonText)
            } else {
                LifecycleCLI.write(stats.text(model: m, style: Style(enabled: LifecycleCLI.colorByDefault)))
            }
        }
    }
}
