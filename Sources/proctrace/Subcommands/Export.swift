@preconcurrency import Glibc
import ArgumentParser
import Lifecycle
import Render

extension ProcTrace {
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Export a trace for other viewers (Perfetto / Chrome JSON trace format).")
        @Argument(help: "The trace file.") var trace: String
        @Option(help: "Export format (perfetto).") var format: String = "perfetto"
        @Option(name: .shortAndLong, help: "Output file (default: TRACE with .perfetto.json next to it; - for stdout).") var output: String?
        @Option(help: "State model for slice names: five or three.") var model: String = "five"

        func validate() throws {
            guard format == "perfetto" else { throw ValidationError("--format must be perfetto") }
            guard StateModel(rawValue: model) != nil else { throw ValidationError("--model must be three or five") }
        }

        func run() throws {
            let history: ProcessHistory
            do { history = try ProcessHistory(path: trace) } catch {
                fputs("proctrace export: \(error.description)\n", stderr); throw ExitCode(1)
            }
            let bytes = PerfettoExport.json(history, model: StateModel(rawValue: model)!)
            var path = output ?? trace
            if output == nil {
                if path.hasSuffix(".jsonl") { path = String(path.dropLast(6)) }
                path += ".perfetto.json"
            }
            do {
                if path == "-" { _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, stdout) } }
                else { try RenderFrontend.writeFile(path, bytes); print(path) }
            } catch let e as RenderFailure {
                fputs("proctrace export: \(e.description)\n", stderr); throw ExitCode(1)
            }
        }
    }
}
