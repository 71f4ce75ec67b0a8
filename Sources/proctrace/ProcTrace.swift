import ArgumentParser
import Lifecycle
import Tracer
@preconcurrency import Glibc

@main
struct ProcTrace: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proctrace",
        abstract: "Trace how processes are born, wait, die, get orphaned and get reaped — and draw it.",
        version: TracerVersion.string,
        subcommands: [Record.self, Render.self, Replay.self, Export.self, Tree.self, Stats.self, Analyze.self, Diff.self, Validate.self]
    )

    static func main() {
        let args = CommandLine.arguments
        if args.count > 2, args[1] == "record", let run = Record.fastPath(args[2...]) {
            Glibc.exit(run())
        }
        do {
            var command = try parseAsRoot(nil)
            try command.run()
        } catch {
            // A usage error exits 2, as a file that is not a trace does: one status for bad
            // input (ArgumentParser's own is 64).
            if exitCode(for: error) == .validationFailure {
                // Escaped: the message may quote an argument that holds terminal escapes.
                let text = fullMessage(for: error).split(separator: "\n", omittingEmptySubsequences: false)
                    .map { TerminalText.escape(String($0)) }.joined(separator: "\n")
                StandardError.line(text)
                Glibc.exit(2)
            }
            exit(withError: error)
        }
    }
}

