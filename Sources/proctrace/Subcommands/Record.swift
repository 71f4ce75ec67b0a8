import ArgumentParser
@preconcurrency import Glibc
import Lifecycle
import Tracer

extension ProcTrace {
    struct Record: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a command and record the life of every process it creates.",
            discussion: """
            The command runs with proctrace's stdin, stdout and stderr. proctrace follows every \
            process and thread it creates until the last one is gone, writes one JSONL trace \
            (format proctrace/1, see docs/trace-format.md), and exits with the command's own \
            status (128+N if it was killed by signal N).
            """
        )

        @Option(name: [.customShort("o"), .long], help: "The trace file (default: proctrace-COMMAND-TIME.jsonl here).")
        var output: String?

        @Option(help: "Where process states come from: sched (the kernel's scheduler events; falls back to sampled without the privilege), sampled (/proc polling), or none.")
        var states: String = "sched"

        @Flag(help: "Replace the output file if it exists.")
        var force = false

        @Flag(name: .customLong("env"), help: "Record the environment in the header (it may hold secrets).")
        var recordEnvironment = false

        @Option(parsing: .unconditional, help: "Seconds to wait, after the last traced process, for an adoptive parent to reap inherited zombies (0 to 86400, default 10).")
        var reapTimeout: String = "10"

        /// The values `--reap-timeout` takes, in seconds.
        static let reapTimeouts = 0...86_400.0

        @Argument(parsing: .captureForPassthrough, help: "The command to run, after --.")
        var command: [String] = []

        mutating func validate() throws {
            if command.first == "--" {
                command.removeFirst()
            } else if command.first == "--help" || command.first == "-h" {
                throw CleanExit.helpRequest(self)
            } else if let first = command.first, first.hasPrefix("-") {
                // Passthrough capture starts at the first argument it does not know.
                throw ValidationError("unknown option \(first) (the command to record goes after --)")
            }
            guard !command.isEmpty else { throw ValidationError("give the command to record after --, e.g. proctrace record -- make -j2") }
            _ = try OptionValue.choice("--states", states, StatesMode.self, ["sched", "sampled", "none"])
            _ = try OptionValue.number("--reap-timeout", reapTimeout, in: Self.reapTimeouts, unit: " of seconds")
            if let output, output.isEmpty { throw ValidationError("-o wants a file name") }
        }

        func run() throws {
            let code = Self.record(command: command, output: output, states: StatesMode(rawValue: states) ?? .none, force: force,
                                   recordEnvironment: recordEnvironment, reapTimeout: OptionValue.decimal(reapTimeout) ?? 10)
            if code != 0 { throw ExitCode(code) }
        }

        /// Records and returns proctrace's exit status: the workload's (128+N if killed by
        /// signal N), or 2 if proctrace itself could not record.
        static func record(command: [String], output: String?, states: StatesMode, force: Bool,
                           recordEnvironment: Bool, reapTimeout: Double) -> Int32 {
            let path = output ?? Self.defaultOutput(for: command)
            var opts = RecordOptions(command: command, output: path)
            opts.force = force
            opts.states = states
            opts.recordEnvironment = recordEnvironment
            opts.reapTimeout = reapTimeout
            let result: RecordResult
            do {
                let recorder = try Recorder(opts)
                if output == nil { Self.say("proctrace: recording to \(path)") }
                result = try recorder.run()
            } catch {
                Self.say("proctrace: \(error)")
                return 2
            }
            if let e = result.execErrno {
                let why = e == ENOENT ? "command not found" : String(cString: strerror(e))
                Self.say("proctrace: \(command[0]): \(why)")
            }
            if result.lost > 0 { Self.say("proctrace: \(result.lost) events lost (see the end line of \(path))") }
            return result.rootStatus.shellCode
        }

        /// The plain forms of `record`'s arguments, parsed without ArgumentParser, whose
        /// reflection costs ~5 ms at every start (a fifth of a short workload's traced time).
        /// Anything else (help, a typo, an odd spelling, a value `validate()` refuses) returns
        /// nil and goes through ArgumentParser, which validates and explains; so every value
        /// taken here passes the same checks as there.
        static func fastPath(_ args: ArraySlice<String>) -> (() -> Int32)? {
            var output: String?
            var states = StatesMode.sched
            var force = false, env = false
            var reapTimeout = 10.0
            var i = args.startIndex
            func value() -> String? {
                i += 1
                return i < args.endIndex ? args[i] : nil
            }
            while i < args.endIndex {
                let a = args[i]
                switch a {
                case "--":
                    let command = Array(args[(i + 1)...])
                    guard !command.isEmpty else { return nil }
                    return { record(command: command, output: output, states: states, force: force,
                                    recordEnvironment: env, reapTimeout: reapTimeout) }
                case "-o", "--output":
                    guard let v = value(), !v.isEmpty, v == "-" || !v.hasPrefix("-") else { return nil }
                    output = v
                case "--states":
                    guard let v = value(), let m = StatesMode(rawValue: v) else { return nil }
                    states = m
                case "--reap-timeout":
                    guard let v = value(), let d = OptionValue.decimal(v), reapTimeouts.contains(d) else { return nil }
                    reapTimeout = d
                case "--force": force = true
                case "--env": env = true
                default: return nil
                }
                i += 1
            }
            return nil
        }

        /// One line on stderr, escaped (it may quote the command or a path).
        static func say(_ s: String) {
            let line = TerminalText.escape(s) + "\n"
            _ = line.withCString { write(2, $0, strlen($0)) }
        }

        /// `proctrace-python3-20261126-224800.jsonl`, made unique in the current directory.
        static func defaultOutput(for command: [String]) -> String {
            let base = command[0].split(separator: "/").last.map(String.init) ?? "trace"
            let safe = String(base.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "_" })
            var t = time(nil)
            var tmv = tm()
            localtime_r(&t, &tmv)
            var buf = [CChar](repeating: 0, count: 32)
            let len = strftime(&buf, buf.count, "%Y%m%d-%H%M%S", &tmv)
            let stamp = String(decoding: buf[..<len].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            var name = "proctrace-\(safe)-\(stamp).jsonl"
            var n = 2
            while access(name, F_OK) == 0 { name = "proctrace-\(safe)-\(stamp)-\(n).jsonl"; n += 1 }
            return name
        }
    }
}
