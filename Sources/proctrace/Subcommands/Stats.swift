import ArgumentParser
import Lifecycle

extension ProcTrace {
    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Counts, process fates, peak concurrency, time in each state, zombies, waits and orphans.",
            discussion: "With --json the same numbers are printed as one JSON object (times in nanoseconds)."
        )
        @Argument(help: "The trace file (- for standard input).") var trace: String
        @Flag(help: "Print JSON instead of text.") var json = false
        @Option(help: "State vocabulary: three or five.") var model: String = "five"
        @Option(parsing: .unconditional, help: "How many of the longest zombies and waits to list.") var top: String = "10"

        func validate() throws {
            _ = try OptionValue.choice("--model", model, StateModel.self, ["three", "five"])
            _ = try OptionValue.integer("--top", top, in: 0...1_000_000)
        }

        func run() throws {
            let h = try LifecycleCLI.loadHistory(trace)
            let top = try OptionValue.integer("--top", top, in: 0...1_000_000)
            let stats = TraceStats(h, top: top)
            let m = StateModel(rawValue: model) ?? .five
            if json {
                print(TerminalText.escapeJSON(stats.json(model: m).jsonText))
            } else {
                LifecycleCLI.write(stats.text(model: m, style: Style(enabled: LifecycleCLI.colorByDefault)))
            }
            LifecycleCLI.warn(h)
        }
    }
}
