import Analysis
import ArgumentParser
import Lifecycle

extension ProcTrace {
    struct Diff: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "diff",
            abstract: "Two runs of the same job, step by step: total time, per-step changes, steps in one run only, parallelism and findings.",
            discussion: "Steps are matched by command line (numbers and temporary names normalized) and place in the " +
                "tree. With --json the same is one JSON object (docs/analyze.md)."
        )
        @Argument(help: "The first (before) trace.", completion: .file(extensions: ["jsonl"])) var a: String
        @Argument(help: "The second (after) trace.", completion: .file(extensions: ["jsonl"])) var b: String
        @Flag(help: "Print JSON instead of text.") var json = false
        @Option(parsing: .unconditional, help: "How many changed steps to list in the text.") var top: String = "15"

        func validate() throws {
            _ = try OptionValue.integer("--top", top, in: 0...1_000_000)
            if a == TraceReader.stdinPath && b == TraceReader.stdinPath {
                throw ValidationError("A and B cannot both be standard input (-)")
            }
        }

        func run() throws {
            let ha = try LifecycleCLI.loadHistory(a)
            let hb = try LifecycleCLI.loadHistory(b)
            let d = TraceDiff(ha, hb)
            if json {
                print(TerminalText.escapeJSON(d.json().jsonText))
            } else {
                LifecycleCLI.write(d.text(top: try OptionValue.integer("--top", top, in: 0...1_000_000),
                                          style: Style(enabled: LifecycleCLI.colorByDefault)))
            }
            LifecycleCLI.warn(ha)
            LifecycleCLI.warn(hb)
        }
    }
}
