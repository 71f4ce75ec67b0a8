import ArgumentParser
import Lifecycle
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

extension ProcTrace {
    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "validate",
            abstract: "Check a trace against the proctrace/1 contract and the lifecycle model.",
            discussion: "Prints each violation as FILE:LINE: problem, and on stderr what the trace lost (end.lost) or " +
                "misses. Exit status: 0 when clean, 1 when there are violations, 2 when the file cannot be read or is not a proctrace trace."
        )
        @OptionGroup var input: TraceArgument
        var trace: String { input.trace }

        func run() throws {
            let report: ValidationReport
            do {
                report = try TraceValidator.validate(path: trace)
            } catch {
                throw LifecycleCLI.fail(error)
            }
            let name = TerminalText.escape(report.path)
            for line in report.formatted { print(line) }
            if report.isClean {
                print("\(name): valid (\(report.lines) lines, \(report.processes) processes)")
                LifecycleCLI.warn(report.health)
            } else {
                LifecycleCLI.warn(report.health)
                LifecycleCLI.stderr("\(name): \(report.violations.count) problem\(report.violations.count == 1 ? "" : "s")")
                throw ExitCode(1)
            }
        }
    }
}
