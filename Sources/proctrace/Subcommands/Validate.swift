import ArgumentParser
import Lifecycle
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

extension ProcTrace {
    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a trace against the proctrace/1 contract and the lifecycle model.",
            discussion: "Prints each violation as FILE:LINE: problem. Exit status: 0 when clean, 1 when there are violations, 2 when the file cannot be read."
        )
        @Argument(help: "The trace file.") var trace: String

        func run() throws {
            let report: ValidationReport
            do {
                report = try TraceValidator.validate(path: trace)
            } catch {
                LifecycleCLI.stderr(error.description)
                throw ExitCode(2)
            }
            for line in report.formatted { print(line) }
            if report.isClean {
                print("\(trace): valid (\(report.lines) lines, \(report.processes) processes)")
            } else {
                LifecycleCLI.flush()
                LifecycleCLI.stderr("\(trace): \(report.violations.count) problem\(report.violations.count == 1 ? "" : "s")")
                throw ExitCode(1)
            }
        }
    }
}

/// Small output helpers shared by the lifecycle subcommands (validate, tree, stats, replay).
enum LifecycleCLI {
    static func stderr(_ s: String) {
        fputs(s + "\n", Glibc.stderr)
    }
    static var stdoutIsTerminal: Bool { isatty(1) == 1 }
    /// Writes without buffering surprises (print is line-buffered on a tty, fully buffered in a pipe).
    static func write(_ s: String) {
        fputs(s, Glibc.stdout)
    }
    static func flush() { fflush(Glibc.stdout) }
    /// Colour by default only on a terminal, and never with NO_COLOR set.
    static var colorByDefault: Bool { stdoutIsTerminal && getenv("NO_COLOR") == nil }

    /// Reads a whole trace into a history, or exits 2 with the reader's FILE:LINE message.
    static func loadHistory(_ path: String) throws -> ProcessHistory {
        do {
            return try ProcessHistory(path: path)
        } catch {
            stderr(error.description)
            throw ExitCode(2)
        }
    }
}
