import ArgumentParser
import Lifecycle
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// What every command that reads a trace shares: one way to load it (a path or `-` for
/// stdin, refused unless it is a proctrace/1 trace), one way to tell its losses, one set of
/// exit statuses, and text output with the trace's bytes escaped.
///
/// Exit statuses: 2 for bad input (an option that makes no sense, a file that is not a trace
/// or has a malformed line), 1 for a sound request with nothing to show (a filter that
/// matches nothing, an instant after the trace's end) or a finding (validate, replay --check).
enum LifecycleCLI {
    /// Bad input: options or the trace file.
    static let badInput: Int32 = 2
    /// A sound request that has nothing to show.
    static let nothingToShow: Int32 = 1

    static func stderr(_ s: String) { StandardError.line(s) }
    static var stdoutIsTerminal: Bool { isatty(1) == 1 }
    /// Writes without buffering surprises (print is line-buffered on a tty, fully buffered in a pipe).
    static func write(_ s: String) {
        fputs(s, Glibc.stdout)
    }
    static func flush() { fflush(Glibc.stdout) }
    /// Colour by default only on a terminal, and never with NO_COLOR set.
    static var colorByDefault: Bool { stdoutIsTerminal && getenv("NO_COLOR") == nil }

    /// Reads a whole trace into a history, or exits 2 with the reader's `FILE:LINE: problem`
    /// (`FILE: not a proctrace trace (…)` for something that is not a trace at all).
    static func loadHistory(_ path: String) throws -> ProcessHistory {
        do {
            return try ProcessHistory(path: path)
        } catch {
            throw fail(error)
        }
    }

    /// Opens a trace for streaming (same rules as `loadHistory`).
    static func open(_ path: String) throws -> TraceReader {
        do { return try TraceReader(path: path) } catch { throw fail(error) }
    }

    /// Reports an unreadable trace and returns the exit to throw.
    static func fail(_ error: TraceReadError) -> ExitCode {
        flush()
        stderr(error.description)
        return ExitCode(badInput)
    }

    /// Reports a problem in one line (escaped) and returns the exit to throw.
    static func fail(_ command: String, _ message: String, code: Int32) -> ExitCode {
        flush()
        stderr("proctrace \(command): " + TerminalText.escape(message))
        return ExitCode(code)
    }

    /// Tells on stderr, after what was printed, what the trace lost or misses and what that
    /// means for what is shown (nothing for a complete trace without losses).
    static func warn(_ health: TraceHealth) {
        guard !health.isClean else { return }
        flush()
        for w in health.warnings { stderr(w) }
    }
    static func warn(_ history: ProcessHistory) { warn(TraceHealth(history)) }
}

/// Parsing and checking of option values, each refusal saying what is wanted.
enum OptionValue {
    /// A plain decimal number (`Double` alone would also take "nan", "inf" and hex).
    static func decimal(_ text: String) -> Double? {
        guard !text.isEmpty, text.allSatisfy({ $0.isASCII && ($0.isNumber || "+-.eE".contains($0)) }),
              let v = Double(text), v.isFinite else { return nil }
        return v
    }

    /// A number in `range`, or a ValidationError naming the option and what it wants.
    static func number(_ name: String, _ text: String, in range: ClosedRange<Double>, unit: String = "") throws -> Double {
        guard let v = decimal(text), range.contains(v) else {
            throw ValidationError("\(name) wants a number\(unit) from \(show(range.lowerBound)) to " +
                "\(show(range.upperBound)), not \"\(TerminalText.escape(text))\"")
        }
        return v
    }

    /// A whole number in `range`.
    static func integer(_ name: String, _ text: String, in range: ClosedRange<Int>) throws -> Int {
        guard let v = Int(text), range.contains(v) else {
            throw ValidationError("\(name) wants a whole number from \(range.lowerBound) to \(range.upperBound), not \"\(TerminalText.escape(text))\"")
        }
        return v
    }

    /// An instant or duration in trace time (`--at`, `--from`, `--to`).
    static func instant(_ name: String, _ text: String) throws -> Int64 {
        guard let t = TimeFormat.parseInstant(text) else {
            throw ValidationError("\(name) wants \(TimeFormat.instantHelp), not \"\(TerminalText.escape(text))\"")
        }
        return t
    }

    /// One of a fixed set of words.
    static func choice<T: RawRepresentable>(_ name: String, _ text: String, _ type: T.Type, _ words: [String]) throws -> T where T.RawValue == String {
        guard let v = T(rawValue: text) else {
            let list = words.count > 1 ? words.dropLast().joined(separator: ", ") + " or " + words.last! : words.joined()
            throw ValidationError("\(name) wants \(list), not \"\(TerminalText.escape(text))\"")
        }
        return v
    }

    /// Options given together that cannot both apply: an error naming them.
    static func conflict(_ a: String, _ b: String, _ why: String) -> ValidationError {
        ValidationError("\(a) and \(b) cannot be used together: \(why)")
    }

    private static func show(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v)
    }
}
