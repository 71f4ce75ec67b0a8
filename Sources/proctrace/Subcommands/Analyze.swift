import Analysis
import ArgumentParser
import Lifecycle

extension ProcTrace {
    struct Analyze: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "analyze",
            abstract: "Critical path, slowest steps, parallelism and lifecycle findings (zombies, orphans, leaks, kills).",
            discussion: "With --json the same answers are printed as one JSON object (times in trace nanoseconds; docs/analyze.md)."
        )
        @OptionGroup var input: TraceArgument
        var trace: String { input.trace }
        @Flag(help: "Print JSON instead of text.") var json = false
        @Option(parsing: .unconditional, help: "How many steps to list (text: 10; JSON: all unless given).") var top: String?
        @Option(name: .customLong("zombie-threshold"), parsing: .unconditional,
                help: "Report zombies that lasted longer than this (seconds, or with a unit: 10ms).") var zombieThreshold: String = "10ms"

        func validate() throws {
            if let top { _ = try OptionValue.integer("--top", top, in: 0...1_000_000) }
            _ = try OptionValue.instant("--zombie-threshold", zombieThreshold)
        }

        func run() throws {
            let h = try LifecycleCLI.loadHistory(trace)
            let n = try top.map { try OptionValue.integer("--top", $0, in: 0...1_000_000) }
            let a = TraceAnalysis(h, zombieThreshold: try OptionValue.instant("--zombie-threshold", zombieThreshold))
            if json {
                print(TerminalText.escapeJSON(a.json(top: n).jsonText))
            } else {
                LifecycleCLI.write(a.text(top: n ?? 10, style: Style(enabled: LifecycleCLI.colorByDefault)))
            }
            LifecycleCLI.warn(h)
        }
    }
}
