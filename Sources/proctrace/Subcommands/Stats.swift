import ArgumentParser
import Lifecycle

extension ProcTrace {
    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "stats",
            abstract: "Counts, process fates, peak concurrency, time in each state, zombies, waits and orphans.",
            discussion: "With --json the same numbers are printed as one JSON object (times in nanoseconds)."
        )
        @OptionGroup var source: TraceAndModel
        @Flag(help: "Print JSON instead of text.") var json = false
        @Option(parsing: .unconditional, help: "How many of the longest zombies and waits to list.") var top: String = "10"

        func validate() throws {
            try source.check()
            _ = try OptionValue.integer("--top", top, in: 0...1_000_000)
        }

        func run() throws {
            let h = try LifecycleCLI.loadHistory(source.trace)
            let top = try OptionValue.integer("--top", top, in: 0...1_000_000)
            let stats = TraceStats(h, top: top)
            let m = source.stateModel
            if json {
                print(TerminalText.escapeJSON(stats.json(model: m).jsonText))
            } else {
                LifecycleCLI.write(stats.text(model: m, style: Style(enabled: LifecycleCLI.colorByDefault)))
            }
            LifecycleCLI.warn(h)
        }
    }
}
