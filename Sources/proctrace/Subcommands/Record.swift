import ArgumentParser
@preconcurrency import Glibc
import Lifecycle
import Tracer

extension ProcTrace {
    struct Record: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "record",
            abstract: "Run a command and record the life of every process it creates.",
            discussion: """
            The command runs with proctrace's stdin, stdout and stderr (with -o -, its stdout \
            goes to stderr, so that standard output carries only the trace). proctrace follows \
            every process and thread it creates until the last one is gone, writes one JSONL \
            trace (format proctrace/1, see docs/trace-format.md), and exits with the command's \
            own status (128+N if it was killed by signal N).

            Ctrl-C goes to the command; a second Ctrl-C (or SIGTERM, SIGHUP) ends the recording \
            at once, leaving what still runs running, and exits 130 (143, 129). Ctrl-Z stops \
            proctrace with the command; fg resumes both. Exit status 2: proctrace could not \
            record, or the trace could not be written whole (a full disk).

            With -p PID[,PID...] instead of a command, proctrace attaches to running processes, \
            their threads and their living descendants, and records from then on; Ctrl-C (or \
            SIGTERM) detaches and leaves them running; exit 0. Attach mode sees no wait calls \
            and no failed execs (see docs/recorder.md).
            """
        )

        @Option(name: [.customShort("o"), .long], help: "The trace file, - for standard output (default: proctrace-COMMAND-TIME.jsonl here).")
        var output: String?

        @Option(help: ArgumentHelp("Where process states come from: sched (the kernel's scheduler events; falls back to " +
            "sampled without the privilege), sampled (/proc polling), or none."))
        var states = Choice(StateSource.sched)

        @Option(help: ArgumentHelp("Where wait4 calls are read with --states sched: ring (the scheduler's syscall tracepoints, " +
            "no stop; falls back to ptrace where it cannot apply) or ptrace (two stops per call; nothing added to syscalls " +
            "elsewhere on the machine: the choice for syscall-heavy workloads and shared machines). See docs/recorder.md."))
        var waitSource = Choice(WaitSource.ring)

        @Flag(help: "Replace the output file if it exists.")
        var force = false

        @Flag(name: .customLong("env"), help: "Record the environment in the header (it may hold secrets).")
        var recordEnvironment = false

        @Option(parsing: .unconditional, help: ArgumentHelp("Seconds to wait, after the last traced process, for an " +
            "adoptive parent to reap inherited zombies (0 to 86400, default 10)."))
        var reapTimeout: String = "10"

        /// The values `--reap-timeout` takes, in seconds.
        static let reapTimeouts = 0...86_400.0

        @Flag(help: "Stop recording when the command itself exits: detach from the processes it left running (they keep running).")
        var untilRootExits = false

        @Option(name: [.customShort("p"), .customLong("attach")],
                help: ArgumentHelp("Attach to running processes instead of running a command: PID[,PID...]; their " +
                    "threads and living descendants are followed too. Ctrl-C (or SIGTERM) detaches and leaves them running."))
        var attach: String?

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
            if let attach {
                guard command.isEmpty else { throw ValidationError("-p attaches to running processes: give no command with it") }
                _ = try Self.pidList(attach)
            } else {
                guard !command.isEmpty else { throw ValidationError("give the command to record after --, e.g. proctrace record -- make -j2") }
            }
            _ = try states.value("--states")
            _ = try waitSource.value("--wait-source")
            _ = try OptionValue.number("--reap-timeout", reapTimeout, in: Self.reapTimeouts, unit: " of seconds")
            if let output, output.isEmpty { throw ValidationError("-o wants a file name") }
        }

        func run() throws {
            let code = Self.record(command: command, output: output, states: try states.value("--states"), force: force,
                                   recordEnvironment: recordEnvironment, reapTimeout: OptionValue.decimal(reapTimeout) ?? 10,
                                   untilRootExits: untilRootExits, attach: try attach.map(Self.pidList) ?? [],
                                   waitSource: try waitSource.value("--wait-source"))
            if code != 0 { throw ExitCode(code) }
        }

        /// Records and returns proctrace's exit status: the workload's (128+N if killed by
        /// signal N), or 2 if proctrace itself could not record.
        /// `-p 4100,4200`: the pids, each a positive number, no repeats.
        static func pidList(_ s: String) throws -> [Int] {
            var pids: [Int] = []
            for part in s.split(separator: ",", omittingEmptySubsequences: false) {
                guard let p = Int(String(part).trimmingCharacters(in: " \t")), p > 0 else {
                    throw ValidationError("-p wants process ids separated by commas (e.g. -p 4100,4200), not \"\(s)\"")
                }
                if !pids.contains(p) { pids.append(p) }
            }
            return pids
        }

        static func record(command: [String], output: String?, states: StateSource, force: Bool,
                           recordEnvironment: Bool, reapTimeout: Double, untilRootExits: Bool, attach: [Int] = [],
                           waitSource: WaitSource = .ring) -> Int32 {
            // First, while proctrace has one thread: the shell waits on the front from now on.
            // (Attached processes carry no filter and are simply detached: no front needed, and
            // the pid the user runs stays their tracer.)
            if attach.isEmpty { Front.split() }
            let named = attach.isEmpty ? command : [Recorder.commandName(of: attach[0]) ?? "attach"]
            let path = output ?? Self.defaultOutput(for: named)
            var opts = RecordOptions(command: command, output: path)
            opts.attach = attach
            opts.force = force
            opts.states = states
            opts.recordEnvironment = recordEnvironment
            opts.reapTimeout = reapTimeout
            opts.untilRootExits = untilRootExits
            opts.waitSource = waitSource
            let result: RecordResult
            let recorder: Recorder
            do {
                recorder = try Recorder(opts)
                if output == nil { Self.say("proctrace: recording to \(path)") }
                result = try recorder.run()
            } catch {
                Self.say("proctrace: \(error)")
                return 2
            }
            let code = Self.report(result, command: command, attached: !attach.isEmpty)
            // The shell gets its prompt back now; the tracefs instance is removed after that, and
            // what the recording left running goes on, tended.
            recorder.tendLeftovers(exitCode: code)
            return code
        }

        /// Says how the recording went and returns proctrace's exit status.
        static func report(_ result: RecordResult, command: [String], attached: Bool) -> Int32 {
            if let e = result.execErrno {
                let why = e == ENOENT ? "command not found" : String(cString: strerror(e))
                Self.say("proctrace: \(command[0]): \(why)")
            }
            if let reason = result.endReason {
                if attached {
                    Self.say(Self.describeDetach(reason, result))
                } else {
                    for line in Self.describeEnd(reason, result).split(separator: "\n") { Self.say(String(line)) }
                }
            }
            if let failure = result.writeFailure {
                Self.say(Self.describeWriteFailure(failure, result))
                return 2
            }
            if result.lost > 0 { Self.say(Self.describeLoss(result)) }
            // Attached: what was recorded ran on its own; detaching is the normal end.
            if attached { return 0 }
            if let code = result.endReason?.signalExitCode { return code }
            return result.rootStatus?.shellCode ?? 0
        }

        /// The recording ended early: say so, and what was left running.
        static func describeEnd(_ reason: EndReason, _ r: RecordResult) -> String {
            let why: String
            switch reason {
            case .interrupted: why = "second Ctrl-C"
            case .terminated: why = "SIGTERM"
            case .hangup: why = "SIGHUP"
            case .rootExited: why = "the command exited (--until-root-exits)"
            }
            if r.detached.isEmpty { return "proctrace: recording ended (\(why))" }
            let pids = r.detached.prefix(20).map(String.init).joined(separator: ", ") + (r.detached.count > 20 ? ", …" : "")
            let head = "proctrace: recording ended (\(why)); \(r.detached.count) process\(r.detached.count == 1 ? "" : "es") "
                + "still running, no longer recorded: \(pids)\n"
            if let tracer = r.tending {
                return head + "proctrace: it stays in the background (pid \(tracer)) to answer their traced calls (wait4, waitid, execve, "
                    + "setsid, setpgid), so they work as usual; it exits with the last of them (see docs/recorder.md)"
            }
            return head + "proctrace: note: detached, they keep proctrace's seccomp filter, so from now on their wait4, waitid, "
                + "\(reason == .rootExited ? "" : "execve, execveat, ")setsid and setpgid calls fail with ENOSYS (the kernel's rule for a "
                + "filter whose tracer is gone; see docs/recorder.md)"
        }

        /// An attached recording ended: what proctrace let go of (no seccomp filter is left in
        /// them: attach installs none).
        static func describeDetach(_ reason: EndReason, _ r: RecordResult) -> String {
            let why: String
            switch reason {
            case .interrupted: why = "Ctrl-C"
            case .terminated: why = "SIGTERM"
            case .hangup: why = "SIGHUP"
            case .rootExited: why = "the process exited"
            }
            if r.detached.isEmpty { return "proctrace: recording ended (\(why))" }
            let pids = r.detached.prefix(20).map(String.init).joined(separator: ", ") + (r.detached.count > 20 ? ", …" : "")
            return "proctrace: recording ended (\(why)); detached from \(r.detached.count) " +
                "process\(r.detached.count == 1 ? "" : "es"), which run on unchanged: \(pids)"
        }

        /// What a nonzero `lost` means, in words.
        static func describeLoss(_ r: RecordResult) -> String {
            var parts: [String] = []
            if r.lostStates > 0 {
                let unaffected = r.waitsFromRing
                    ? "waits read from that buffer may be missing too, and the reaps they did: the tree and the exits are not affected"
                    : "the process tree, waits, exits and reaps are not affected"
                parts.append("\(r.lostStates) scheduler state events (the kernel's event buffer overran or the state " +
                    "feed failed: some ready/running/blocked intervals are missing or unknown; \(unaffected))")
            }
            if r.lostLifecycle > 0 {
                parts.append("\(r.lostLifecycle) lifecycle events (the process tree, waits or reaps may be incomplete)")
            }
            return "proctrace: warning: \(r.lost) events lost: " + parts.joined(separator: "; ") + ". The end line of " +
                "\(r.output) says lost:\(r.lost), and stats, tree, replay and render show it."
        }

        /// Writing the trace failed: it is incomplete, and where it stops.
        static func describeWriteFailure(_ f: WriteFailure, _ r: RecordResult) -> String {
            let ms = f.lastT / 1_000_000
            let frac = String(ms % 1000)
            let secs = "\(ms / 1000)." + String(repeating: "0", count: 3 - frac.count) + frac
            return "proctrace: error: the trace \(r.output) is incomplete: writing it failed (\(String(cString: strerror(f.errno)))); it stops after line " +
                "\(f.lines) (t=\(secs) s) and has no end line; \(r.lost) later events were not written. The workload ran " +
                "to its end (status \(r.rootStatus.map { "\($0)" } ?? "unknown")); proctrace exits 2."
        }

        /// The plain forms of `record`'s arguments, parsed without ArgumentParser, whose
        /// reflection costs a visible part of every start (docs/recorder.md).
        /// Anything else (help, a typo, an odd spelling, a value `validate()` refuses) returns
        /// nil and goes through ArgumentParser, which validates and explains; so every value
        /// taken here passes the same checks as there.
        static func fastPath(_ args: ArraySlice<String>) -> (() -> Int32)? {
            var output: String?
            var states = StateSource.sched
            var force = false, env = false
            var reapTimeout = 10.0
            var untilRootExits = false
            var attach: [Int]?
            var waitSource = WaitSource.ring
            var i = args.startIndex
            func value() -> String? {
                i += 1
                return i < args.endIndex ? args[i] : nil
            }
            while i < args.endIndex {
                let a = args[i]
                switch a {
                case "-p", "--attach":
                    guard let v = value(), let pids = try? pidList(v) else { return nil }
                    attach = pids
                case "--":
                    if attach != nil { return nil }
                    let command = Array(args[(i + 1)...])
                    guard !command.isEmpty else { return nil }
                    return { record(command: command, output: output, states: states, force: force,
                                    recordEnvironment: env, reapTimeout: reapTimeout, untilRootExits: untilRootExits,
                                    waitSource: waitSource) }
                case "-o", "--output":
                    guard let v = value(), !v.isEmpty, v == "-" || !v.hasPrefix("-") else { return nil }
                    output = v
                case "--states":
                    guard let v = value(), let m = StateSource(rawValue: v) else { return nil }
                    states = m
                case "--wait-source":
                    guard let v = value(), let w = WaitSource(rawValue: v) else { return nil }
                    waitSource = w
                case "--reap-timeout":
                    guard let v = value(), let d = OptionValue.decimal(v), reapTimeouts.contains(d) else { return nil }
                    reapTimeout = d
                case "--force": force = true
                case "--env": env = true
                case "--until-root-exits": untilRootExits = true
                default: return nil
                }
                i += 1
            }
            if let attach {
                return { record(command: [], output: output, states: states, force: force, recordEnvironment: env,
                                reapTimeout: reapTimeout, untilRootExits: untilRootExits, attach: attach) }
            }
            return nil
        }

        /// One line on stderr, escaped (it may quote the command or a path).
        static func say(_ s: String) {
            StandardError.line(TerminalText.escape(s))
        }

        /// `proctrace-python3-20261126-224800.jsonl`, made unique in the current directory.
        static func defaultOutput(for command: [String]) -> String {
            let base = command[0].isEmpty ? "trace" : basename(command[0])
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
