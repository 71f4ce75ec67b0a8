@preconcurrency import Glibc
import ArgumentParser
import Lifecycle
import Render

extension ProcTrace {
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export",
            abstract: "Export a trace for other viewers (Perfetto / Chrome JSON trace format).")
        @OptionGroup var source: TraceAndModel
        var trace: String { source.trace }
        @Option(help: "Export format (perfetto).") var format = Choice(ExportFormat.perfetto)
        @Option(name: .shortAndLong, help: ArgumentHelp("Output file (default: TRACE with .perfetto.json next to it, " +
            "stdin.perfetto.json for -; - for stdout).")) var output: String?
        @Flag(help: "Replace the output file if it exists.") var force = false

        func validate() throws {
            _ = try format.value("--format")
            try source.check()
            if let output, output.isEmpty { throw ValidationError("-o wants a file name, or - for stdout") }
        }

        /// Where the export goes: `-o`, or the trace's name with `.perfetto.json`.
        var destination: String {
            if let output { return output }
            if trace == TraceReader.stdinPath { return "stdin.perfetto.json" }
            return (trace.hasSuffix(".jsonl") ? String(trace.dropLast(6)) : trace) + ".perfetto.json"
        }

        func run() throws {
            let path = destination
            // Refuse before reading (stdin can be read only once): like record, never replace
            // a file without --force.
            if path != "-" && !force && access(path, F_OK) == 0 {
                throw LifecycleCLI.fail("export", "\(path) exists: give --force to replace it", code: LifecycleCLI.badInput)
            }
            let history = try LifecycleCLI.loadHistory(trace)
            do {
                if path == "-" {
                    // On stdout it may meet a terminal: no raw C1 controls or bidi overrides.
                    let bytes = PerfettoExport.json(history, model: source.stateModel)
                    let text = TerminalText.escapeJSON(String(decoding: bytes, as: UTF8.self))
                    fputs(text, stdout)
                } else {
                    // Streamed in 1 MB pieces: the export is never in memory whole.
                    try RenderFrontend.writeFile(path, replace: force) { write in
                        try PerfettoExport.write(history, model: source.stateModel) { chunk in try chunk.withUnsafeBytes { try write($0) } }
                    }
                    print(TerminalText.escape(path))
                }
            } catch let e as RenderFailure {
                LifecycleCLI.warn(history)
                throw LifecycleCLI.fail("export", e.description, code: e.exitCode)
            }
            LifecycleCLI.warn(history)
        }
    }
}
