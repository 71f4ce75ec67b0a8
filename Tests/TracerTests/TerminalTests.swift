import Foundation
import Lifecycle
import Testing

/// A real terminal: an interactive bash in a tmux session on a private socket. Keys are
/// typed with `send-keys`; the screen is read with `capture-pane`.
final class TerminalSession {
    let socket = "proctrace-test-\(getpid())-\(UUID().uuidString.prefix(8))"
    let tmux = "/usr/bin/tmux"

    init() throws {
        let code = try Self.quiet([tmux, "-L", socket, "-f", "/dev/null", "new-session", "-d", "-x", "220", "-y", "50", "-s", "t",
                                   "env PS1='$ ' HISTFILE=/dev/null TERM=xterm bash --norc --noprofile -i"])
        guard code == 0 else { throw TerminalError("tmux new-session failed (\(code))") }
        _ = try waitFor { $0.contains("$") }
        let pids = try output(["display-message", "-p", "-t", "t", "#{pid} #{pane_pid}"]).split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        serverPid = pids.first ?? 0
        shellPid = pids.count > 1 ? pids[1] : 0
    }
    private var serverPid = 0, shellPid = 0

    /// Ends this test's own tmux server (by its socket), and what runs in it.
    func close() {
        _ = try? Self.quiet([tmux, "-L", socket, "kill-server"])
        // kill-server was seen to leave the server running here: end it and its shell by pid.
        for pid in [shellPid, serverPid] where pid > 0 { kill(pid_t(pid), SIGKILL) }
    }

    /// Runs a tmux client with its output to /dev/null: the server it may start keeps
    /// whatever it inherits open, so a pipe would never reach its end.
    static func quiet(_ argv: [String]) throws -> Int32 {
        var actions: posix_spawn_file_actions_t = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd in Int32(0)...2 { posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0) }
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var pid: pid_t = 0
        let r = posix_spawn(&pid, argv[0], &actions, nil, &cArgs, environ)
        guard r == 0 else { throw TerminalError("cannot run \(argv[0]): \(String(cString: strerror(r)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (status >> 8) & 0xff
    }

    /// Types a command line and Enter.
    func type(_ line: String) throws { try keys("-l", line); try keys("Enter") }
    /// Sends keys by tmux name (`C-z`, `C-c`, `Enter`).
    func keys(_ k: String...) throws { _ = try Self.quiet([tmux, "-L", socket, "send-keys", "-t", "t"] + k) }

    func screen() throws -> String { try output(["capture-pane", "-p", "-J", "-t", "t", "-S", "-200"]) }

    /// What a tmux command prints (through a file: see `quiet`).
    func output(_ args: [String]) throws -> String {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("\(socket).out").path
        let quoted = args.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        _ = try Self.quiet(["/bin/sh", "-c", "exec \(tmux) -L \(socket) \(quoted) > \(file)"])
        return (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
    }

    /// Types a line until the screen shows `ok`: bash resets the terminal when a job stops,
    /// which can drop what was typed at that moment.
    @discardableResult
    func type(_ line: String, until ok: (String) -> Bool) throws -> String {
        for _ in 0..<4 {
            try type(line)
            if let s = try? waitFor(timeout: 3, ok) { return s }
        }
        return try waitFor(timeout: 1, ok)
    }

    /// Polls the screen until `ok` holds (or fails after `timeout` seconds).
    @discardableResult
    func waitFor(timeout: TimeInterval = 20, _ ok: (String) -> Bool) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var s = ""
        while Date() < deadline {
            s = try screen()
            if ok(s) { return s }
            usleep(50_000)
        }
        throw TerminalError("the screen never showed what was expected; it shows:\n\(s)")
    }
}

struct TerminalError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// Facts about a live process from /proc.
enum Proc {
    /// The one-letter state (`S`, `R`, `T` stopped, `t` ptrace-stopped), nil when gone.
    static func state(_ pid: Int) -> Character? {
        guard let s = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = s.lastIndex(of: ")") else { return nil }
        return s[s.index(close, offsetBy: 2)]
    }
    static func ppid(_ pid: Int) -> Int? {
        guard let s = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = s.lastIndex(of: ")") else { return nil }
        return Int(s[s.index(close, offsetBy: 2)...].split(separator: " ")[1])
    }
    static func status(_ pid: Int, _ field: String) -> String? {
        guard let s = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in s.split(separator: "\n") where line.hasPrefix(field + ":") {
            return line.dropFirst(field.count + 1).trimmingCharacters(in: .whitespaces)
        }
        return nil
    }
    /// The first child of `pid` (its main thread's), waiting up to 10 s for one.
    static func waitChild(of pid: Int) -> Int? {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
            if let child = text.split(separator: " ").first.flatMap({ Int($0) }) { return child }
            usleep(20_000)
        }
        return nil
    }
    /// The child of `pid` whose command line contains `name`, waiting up to 10 s for one (a
    /// recorder's first child can be its detached remover of stale tracefs instances).
    static func waitChild(of pid: Int, running name: String) -> Int? {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
            for child in text.split(separator: " ").compactMap({ Int($0) }) {
                let cmd = FileManager.default.contents(atPath: "/proc/\(child)/cmdline").map { String(decoding: $0, as: UTF8.self) }
                if cmd?.contains(name) == true { return child }
            }
            usleep(20_000)
        }
        return nil
    }
    static func isZombieOrGone(_ pid: Int) -> Bool { state(pid).map { $0 == "Z" || $0 == "X" } ?? true }
    static func waitGone(_ pid: Int, timeout: TimeInterval = 20) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if isZombieOrGone(pid) { return true }
            usleep(20_000)
        }
        return false
    }
}

/// The log of the `reaper_loop` workload: one line per fork+wait round.
struct ReaperLog {
    var ok = 0
    var errors: [String] = []
    init(_ path: String) {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n") {
            if line.hasPrefix("ok ") { ok += 1 } else { errors.append(String(line)) }
        }
    }

    /// After an early end: the workload goes on forking and reaping, every call working.
    static func expectKeepsReaping(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let before = ReaperLog(path)
        usleep(1_000_000)
        let after = ReaperLog(path)
        #expect(after.ok >= before.ok + 5, "the workload reaped \(after.ok - before.ok) children in a second", sourceLocation: sourceLocation)
        #expect(after.errors.isEmpty, "calls failed: \(after.errors.prefix(5))", sourceLocation: sourceLocation)
    }
}

/// The pid in the test's own `front=PID` line (`echo front=$!` after starting a job).
func frontPid(_ screen: String) -> Int? {
    for line in screen.split(separator: "\n").reversed() {
        guard let r = line.range(of: "front=") else { continue }
        if let p = Int(line[r.upperBound...].prefix { $0.isNumber }) { return p }
    }
    return nil
}

/// The pid in a `ready PID` line (reaper_loop's), the last one on the screen or in the text.
func readyPid(_ text: String) -> Int? {
    for line in text.split(separator: "\n").reversed() {
        guard let r = line.range(of: "ready ") else { continue }
        let f = line[r.lowerBound...].split(separator: " ")
        if f.count == 2, let p = Int(f[1]) { return p }
    }
    return nil
}

/// The last line of a trace as an object.
func endObject(_ path: String) throws -> [String: Any] {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    return try #require(try JSONSerialization.jsonObject(with: Data(text.split(separator: "\n").last!.utf8)) as? [String: Any])
}

/// The recorder's own pid (the tracer's), from a trace's header.
func tracerPid(_ path: String) throws -> Int {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    let header = try #require(try JSONSerialization.jsonObject(with: Data(text.split(separator: "\n").first!.utf8)) as? [String: Any])
    return try #require(header["pid"] as? Int)
}

/// Wall-clock time of a trace instant: the header's `start` plus `t`.
func wallClock(_ h: ProcessHistory, _ t: Int64) -> Double {
    let start = h.header["start"]?.string ?? ""
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    // The header has microseconds; ISO8601DateFormatter reads milliseconds: parse the rest.
    let parts = start.dropLast().split(separator: ".")
    let base = f.date(from: String(parts[0]) + ".000Z")?.timeIntervalSince1970 ?? 0
    let frac = parts.count > 1 ? Double("0." + parts[1]) ?? 0 : 0
    return base + frac + Double(t) / 1e9
}

@Suite(.serialized, .timeLimit(.minutes(3)))
struct TerminalTests {
    let dir: URL

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("proctrace-terminal-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    func workloadPids(_ screen: String) -> (Int, Int)? {
        // The shell's prompt may come first on the line ("$ ready …").
        for line in screen.split(separator: "\n").reversed() {
            guard let r = line.range(of: "ready ") else { continue }
            let f = line[r.lowerBound...].split(separator: " ")
            if f.count == 3, let a = Int(f[1]), let b = Int(f[2]) { return (a, b) }
        }
        return nil
    }

    @Test("Ctrl-Z stops the job and gives the shell its prompt; the trace shows SIGTSTP stops from the keypress; fg resumes both")
    func ctrlZAndFg() throws {
        let term = try TerminalSession()
        defer { term.close() }
        let out = dir.appendingPathComponent("ctrlz.jsonl").path
        try? FileManager.default.removeItem(atPath: out)
        try term.type("\(Harness.binary) record -o \(out) -- \(Harness.c("terminal_job")[0])")
        let s0 = try term.waitFor { workloadPids($0) != nil }
        let (parent, child) = workloadPids(s0)!
        let proctrace = try #require(Proc.ppid(parent))
        usleep(300_000)

        let zAt = Date().timeIntervalSince1970
        try term.keys("C-z")
        // The shell has its prompt back and says the job stopped.
        try term.waitFor { $0.contains("Stopped") }
        let s1 = try term.type("jobs") { s in
            guard let r = s.range(of: "$ jobs", options: .backwards) else { return false }
            return s[r.upperBound...].contains("Stopped")
        }
        #expect(s1.contains("Stopped"))
        #expect(Proc.state(proctrace) == "T", "proctrace itself is stopped")
        #expect(Proc.state(parent) == "t" && Proc.state(child) == "t", "the workload is held in its group-stop")
        usleep(1_000_000)

        let fgAt = Date().timeIntervalSince1970
        try term.type("fg")
        // Both run again: the child's 10 ms sleeps go on (state S or R, not stopped).
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, Proc.state(parent) == "t" || Proc.state(child) == "t" || Proc.state(proctrace) == "T" { usleep(20_000) }
        #expect(Proc.state(proctrace) != "T" && Proc.state(parent) != "t" && Proc.state(child) != "t", "fg resumed proctrace and the job")
        usleep(300_000)
        try term.keys("C-c")
        #expect(Proc.waitGone(proctrace), "Ctrl-C ended the job and the recording")

        let h = try ProcessHistory(path: out)
        #expect(h.end != nil && h.end?.status == .signaled("SIGINT", core: false))
        for pid in [parent, child] {
            let p = try #require(h.records(pid: pid).first)
            let tstp = try #require(p.signals.first { $0.sig == "SIGTSTP" }, "pid \(pid) got SIGTSTP")
            let cont = try #require(p.signals.first { $0.sig == "SIGCONT" }, "pid \(pid) got SIGCONT")
            // Stamped at the keypress, not when proctrace was resumed (fg, more than a second
            // later): after the keypress and before fg was typed. (Not within a fixed time of the
            // keypress: with both CPUs busy the terminal took 0.55 s to deliver it.)
            #expect(wallClock(h, tstp.t) >= zAt - 0.05 && wallClock(h, tstp.t) < fgAt, "SIGTSTP of \(pid) at the keypress")
            #expect(wallClock(h, cont.t) >= fgAt - 0.05, "SIGCONT of \(pid) at fg")
            if h.states != .none {
                let stopped = try #require(p.stateIntervals.first { $0.why == "stopped:SIGTSTP" && $0.state == .blocked },
                                           "pid \(pid) is shown stopped by SIGTSTP")
                #expect(wallClock(h, stopped.start) < fgAt, "the stop of \(pid) starts at the keypress, before fg")
                #expect(wallClock(h, stopped.end) >= fgAt - 0.05, "the stop of \(pid) lasts until fg")
                #expect(!p.stateIntervals.contains { $0.why == "traced" && $0.duration > 500_000_000 },
                        "no long stop of \(pid) is put down to proctrace")
            }
        }
        // The readers say it in words: replay in the stop says "stopped by SIGTSTP" (it said
        // "stopped on stopped:SIGTSTP"), and analyze says the killing SIGINT came from the
        // terminal (it named no origin: the tty driver's signal has no sender).
        let p = try #require(h.records(pid: parent).first)
        if h.states != .none, let stop = p.stateIntervals.first(where: { $0.why == "stopped:SIGTSTP" && $0.state == .blocked }) {
            let at = String(format: "%.9f", Double(stop.start + stop.duration / 2) / 1e9)
            let (_, replay, _) = try Harness.run([Harness.binary, "replay", out, "--at", at])
            #expect(replay.contains("terminal_job(\(parent)) stopped by SIGTSTP"), "\(replay)")
        }
        let (_, aj, _) = try Harness.run([Harness.binary, "analyze", out, "--json"])
        let a = try #require(try JSONSerialization.jsonObject(with: Data(aj.utf8)) as? [String: Any])
        let killed = (a["findings"] as? [[String: Any]] ?? []).filter { $0["kind"] as? String == "killed" }
        for pid in [parent, child] {
            let k = killed.first { $0["pid"] as? Int == pid }
            #expect((k?["message"] as? String)?.contains("was killed by SIGINT, from the terminal (Ctrl-C)") == true, "\(killed)")
            #expect(k?["code"] as? String == "SI_KERNEL")
        }
    }

    @Test("A background job reading the terminal stops with SIGTTIN, proctrace with it; fg lets it read")
    func sigttin() throws {
        let term = try TerminalSession()
        defer { term.close() }
        let out = dir.appendingPathComponent("ttin.jsonl").path
        try? FileManager.default.removeItem(atPath: out)
        try term.type("\(Harness.binary) record -o \(out) -- \(Harness.c("terminal_job")[0]) --read &")
        let s0 = try term.waitFor { workloadPids($0) != nil }
        let (parent, _) = workloadPids(s0)!
        let proctrace = try #require(Proc.ppid(parent))
        // Type only once the job has stopped: bash resets the terminal when a job stops,
        // which may drop what was typed meanwhile.
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline && Proc.state(proctrace) != "T" { usleep(20_000) }
        // (The prompt may come before the job's "ready", so the command is not after "$ ".)
        try term.type("jobs -l") { s in
            guard let r = s.range(of: "jobs -l\n", options: .backwards) else { return false }
            return s[r.upperBound...].contains("Stopped (tty input)")
        }
        #expect(Proc.state(proctrace) == "T")
        try term.type("fg") { $0.contains("\nfg\n") || $0.contains("$ fg\n") }
        usleep(300_000)
        try term.type("hello")
        try term.waitFor { $0.contains("read: hello") }
        #expect(Proc.waitGone(proctrace))
        let h = try ProcessHistory(path: out)
        #expect(h.end?.status == .exited(0))
        let p = try #require(h.records(pid: parent).first)
        #expect(p.signals.contains { $0.sig == "SIGTTIN" })
        if h.states != .none {
            #expect(p.stateIntervals.contains { $0.why == "stopped:SIGTTIN" && $0.state == .blocked })
        }
    }

    @Test("A background job writing to the terminal with tostop stops with SIGTTOU, proctrace with it, shown stopped by SIGTTOU from then; fg lets it write")
    func sigttou() throws {
        let term = try TerminalSession()
        defer { term.close() }
        let out = dir.appendingPathComponent("ttou.jsonl").path
        try? FileManager.default.removeItem(atPath: out)
        try term.type("stty tostop")
        try term.type("\(Harness.binary) record -o \(out) -- \(Harness.c("terminal_job")[0]) --write & echo front=$!")
        let s0 = try term.waitFor { frontPid($0) != nil }
        let front = frontPid(s0)!
        // The shell's job is the front; the tracer is its child, the workload the tracer's.
        let tracer = try #require(Proc.waitChild(of: front), "the tracer")
        let parent = try #require(Proc.waitChild(of: tracer, running: "terminal_job"), "the workload")
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline && Proc.state(tracer) != "T" { usleep(20_000) }
        let s1 = try term.type("jobs -l") { s in
            guard let r = s.range(of: "jobs -l\n", options: .backwards) else { return false }
            return s[r.upperBound...].contains("Stopped (tty output)")
        }
        #expect(Proc.state(tracer) == "T" && Proc.state(front) == "T", "proctrace stopped with the job")
        #expect(Proc.state(parent) == "t", "the workload is held in its group-stop")
        #expect(!s1.contains("ready \(parent)"), "nothing was written while stopped")
        usleep(500_000)
        let fgAt = Date().timeIntervalSince1970
        try term.type("fg") { $0.contains("\nfg\n") || $0.contains("$ fg\n") }
        try term.waitFor { $0.contains("ready \(parent) ") }
        #expect(Proc.waitGone(tracer))
        let h = try ProcessHistory(path: out)
        #expect(h.end?.status == .exited(0))
        let p = try #require(h.records(pid: parent).first)
        let ttou = try #require(p.signals.first { $0.sig == "SIGTTOU" }, "the workload got SIGTTOU")
        // Stamped when it happened, not when proctrace was resumed (the trace's wall clock is
        // its header's `start` plus `t`, a few tens of ms late: fg came half a second later).
        #expect(wallClock(h, ttou.t) < fgAt - 0.2, "recorded when the job stopped, not at fg")
        if h.states != .none {
            let stopped = try #require(p.stateIntervals.first { $0.why == "stopped:SIGTTOU" && $0.state == .blocked },
                                       "shown stopped by SIGTTOU")
            #expect(abs(stopped.start - ttou.t) < 500_000_000, "from the moment of the signal")
            #expect(wallClock(h, stopped.end) >= fgAt - 0.05, "until fg")
            #expect(!p.stateIntervals.contains { $0.why == "traced" && $0.duration > 500_000_000 }, "no long stop put down to proctrace")
        }
    }

    @Test("A second Ctrl-C ends the recording at once: exit 130 and the prompt, end says why, the job runs on and its waits work")
    func doubleCtrlC() throws {
        let term = try TerminalSession()
        defer { term.close() }
        let out = dir.appendingPathComponent("ctrlc.jsonl").path
        let log = dir.appendingPathComponent("ctrlc.log").path
        for f in [out, log] { try? FileManager.default.removeItem(atPath: f) }
        try term.type("\(Harness.binary) record -o \(out) -- \(Harness.c("reaper_loop")[0]) \(log) --ignore-int; echo rc=$?")
        let s0 = try term.waitFor { readyPid($0) != nil }
        let workload = readyPid(s0)!
        defer { kill(pid_t(workload), SIGKILL) }
        let tracer = try #require(Proc.ppid(workload))
        try term.keys("C-c")
        usleep(500_000)
        #expect(Proc.status(workload, "TracerPid") == "\(tracer)", "the first Ctrl-C went to the workload only")
        try term.keys("C-c")
        // The shell has its prompt back, and the job's status (130).
        try term.waitFor(timeout: 5) { $0.contains("rc=130") }

        let h = try ProcessHistory(path: out)
        let end = try #require(h.end)
        #expect(end.status == nil, "the root still runs: it has no status")
        let endLine = try endObject(out)
        #expect(endLine["reason"] as? String == "SIGINT")
        #expect((endLine["detached"] as? [Int] ?? []).contains(workload))
        // The first Ctrl-C is recorded (and ignored); the second came after the end.
        #expect((h.records(pid: workload).first?.signals.filter { $0.sig == "SIGINT" }.count ?? 0) >= 1)
        // Left running, not stopped, and still forking and reaping: every wait4, waitid,
        // setpgid and rt_sigaction(SIGCHLD) works (they would fail with ENOSYS without the
        // tracer that stays behind to answer the seccomp filter's stops).
        #expect(Proc.state(workload).map { $0 != "T" && $0 != "Z" } ?? false, "running, not stopped (a moment in a ptrace stop is fine)")
        ReaperLog.expectKeepsReaping(log)
        #expect(Proc.status(workload, "TracerPid") == "\(tracer)", "tended by the recording's tracer")
        // The tracer leaves with the last process it tends.
        kill(pid_t(workload), SIGKILL)
        #expect(Proc.waitGone(tracer), "the tracer is gone once the workload is")
        let (vcode, vout, _) = try Harness.run([Harness.binary, "validate", out])
        #expect(vcode == 0 || !vout.contains("never exited"), "processes left running are not reported as missing their reap")
    }
}

/// A child process run with posix_spawn and waited for by pid (Foundation's Process did not
/// reap these children here): stdin /dev/null, stdout a pipe, stderr a file.
final class Child {
    let pid: pid_t
    private let outFD: Int32
    private let errPath: String
    private var buffered: [UInt8] = []

    init(_ argv: [String]) throws {
        errPath = FileManager.default.temporaryDirectory.appendingPathComponent("proctrace-child-\(getpid())-\(UUID().uuidString).err").path
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw TerminalError("pipe failed") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        posix_spawn_file_actions_addclose(&actions, fds[1])
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var pid: pid_t = 0
        let r = posix_spawn(&pid, argv[0], &actions, nil, &cArgs, environ)
        close(fds[1])
        guard r == 0 else { close(fds[0]); throw TerminalError("cannot run \(argv[0]): \(String(cString: strerror(r)))") }
        self.pid = pid
        outFD = fds[0]
    }

    /// The next line of its stdout (nil at the end).
    func readLine() -> String? {
        while true {
            if let nl = buffered.firstIndex(of: 0x0A) {
                let line = String(decoding: buffered[..<nl], as: UTF8.self)
                buffered.removeSubrange(...nl)
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = read(outFD, &chunk, chunk.count)
            if n <= 0 { return nil }
            buffered += chunk[..<n]
        }
    }

    /// Waits for it; its exit status (128+N if killed by signal N).
    func wait() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        close(outFD)
        return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    var stderr: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }
}

/// `record` without a terminal: SIGTERM, what is still followed, a full disk, `-o -`.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct RecordEndingTests {
    @Test("SIGTERM ends the recording like a second Ctrl-C: exit 143 at once, reason SIGTERM, the workload runs on with working waits")
    func sigterm() throws {
        let tmp = FileManager.default.temporaryDirectory
        let out = tmp.appendingPathComponent("proctrace-term-\(getpid()).jsonl").path
        let log = tmp.appendingPathComponent("proctrace-term-\(getpid()).log").path
        for f in [out, log] { try? FileManager.default.removeItem(atPath: f) }
        let p = try Child([Harness.binary, "record", "-o", out, "--"] + Harness.c("reaper_loop", log))
        let workload = try #require(p.readLine().flatMap(readyPid))
        defer { kill(pid_t(workload), SIGKILL) }
        let tracer = try #require(Proc.ppid(workload))
        #expect(tracer != Int(p.pid) && Proc.ppid(tracer) == Int(p.pid), "the shell's child is the front; the tracer is its child")
        kill(p.pid, SIGTERM)
        #expect(p.wait() == 143)
        let end = try endObject(out)
        #expect(end["type"] as? String == "end" && end["reason"] as? String == "SIGTERM")
        #expect((end["detached"] as? [Int] ?? []).contains(workload))
        #expect(p.stderr.contains("stays in the background (pid \(tracer))"), "\(p.stderr)")
        #expect(Proc.state(workload).map { $0 != "T" && $0 != "Z" } ?? false, "running, not stopped (a moment in a ptrace stop is fine)")
        ReaperLog.expectKeepsReaping(log)
        #expect(Proc.status(workload, "TracerPid") == "\(tracer)")
        kill(pid_t(workload), SIGKILL)
        #expect(Proc.waitGone(tracer), "the tracer is gone once the workload is")
    }

    @Test("When the command exits and leaves processes running, record says at once which, and how to stop")
    func tellsLeftovers() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("proctrace-leftover-\(getpid()).jsonl").path
        try? FileManager.default.removeItem(atPath: out)
        let p = try Child([Harness.binary, "record", "-o", out, "--reap-timeout", "0", "--", "/bin/sh", "-c", "sleep 4 & echo $!"])
        let sleeper = try #require(p.readLine().flatMap { Int($0) })
        defer { kill(pid_t(sleeper), SIGKILL) }
        let deadline = Date().addingTimeInterval(3)
        while Date() < deadline && !p.stderr.contains("--until-root-exits") { usleep(20_000) }
        // Said while the sleeper still runs, i.e. at the command's exit, not at the end.
        #expect(!Proc.isZombieOrGone(sleeper), "the message came while the leftover process runs")
        let err = p.stderr
        #expect(err.contains("still recording 1 process"))
        #expect(err.contains("\(sleeper)  sleep 4"))
        #expect(err.contains("Ctrl-C twice"))
        kill(pid_t(sleeper), SIGKILL)
        #expect(p.wait() == 0)
    }

    @Test("--until-root-exits stops following when the command exits; what it left running keeps forking and reaping")
    func untilRootExits() throws {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("proctrace-until-\(getpid()).log").path
        try? FileManager.default.removeItem(atPath: log)
        let reaper = Harness.c("reaper_loop", log).joined(separator: " ")
        let p = try Child([Harness.binary, "record", "-o", "-", "--until-root-exits", "--", "/bin/sh", "-c", "\(reaper) </dev/null >/dev/null 2>&1 & echo $!"])
        var lines: [String] = []
        while let l = p.readLine() { lines.append(l) }
        let run = (p.wait(), lines.joined(separator: "\n"), p.stderr)
        // With -o -, stdout is the trace; the workload's output went to stderr.
        let leftover = try #require(run.2.split(separator: "\n").compactMap { Int($0) }.first)
        defer { kill(pid_t(leftover), SIGKILL) }
        #expect(run.0 == 0, "the command's own status")
        let end = try #require(try JSONSerialization.jsonObject(with: Data(lines.last!.utf8)) as? [String: Any])
        #expect(end["reason"] as? String == "root-exited")
        #expect((end["detached"] as? [Int] ?? []).contains(leftover))
        #expect((end["status"] as? [String: Any])?["exited"] as? Int == 0)
        let header = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        let tracer = try #require(header["pid"] as? Int)
        #expect(run.2.contains("still running, no longer recorded") && run.2.contains("stays in the background (pid \(tracer))"))
        #expect(Proc.state(leftover).map { $0 != "T" && $0 != "Z" } ?? false, "running, not stopped (a moment in a ptrace stop is fine)")
        ReaperLog.expectKeepsReaping(log)
        #expect(Proc.status(leftover, "TracerPid") == "\(tracer)")
        kill(pid_t(leftover), SIGKILL)
        #expect(Proc.waitGone(tracer))
    }

    @Test("-o - writes only the trace to stdout; the workload's stdout goes to stderr")
    func traceOnStdout() throws {
        let run = try Harness.run([Harness.binary, "record", "-o", "-", "--states", "none", "--", "/bin/sh", "-c", "echo to-stdout; echo to-stderr >&2"])
        #expect(run.0 == 0)
        let lines = run.1.split(separator: "\n").map(String.init)
        #expect(lines.count > 3)
        for l in lines { #expect((try? JSONSerialization.jsonObject(with: Data(l.utf8))) != nil, "a trace line: \(l)") }
        #expect(lines.first?.contains("\"type\":\"trace\"") == true && lines.last?.contains("\"type\":\"end\"") == true)
        #expect(!lines.contains("to-stdout") && run.2.contains("to-stdout\n") && run.2.contains("to-stderr\n"))
        // And it is a trace the readers accept.
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("proctrace-stdout-\(getpid()).jsonl")
        try run.1.write(to: file, atomically: true, encoding: .utf8)
        #expect(try Harness.run([Harness.binary, "validate", file.path]).0 == 0)
    }

    @Test("A full disk: the trace is cut at its last whole line, record says it is incomplete and exits 2")
    func diskFull() throws {
        let mnt = FileManager.default.temporaryDirectory.appendingPathComponent("proctrace-full-\(getpid())")
        try FileManager.default.createDirectory(at: mnt, withIntermediateDirectories: true)
        let (m, _, merr) = try Harness.run(["/bin/mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt.path])
        try #require(m == 0, "mount: \(merr)")
        defer { _ = try? Harness.run(["/bin/umount", mnt.path]) }
        let out = mnt.appendingPathComponent("t.jsonl").path
        let run = try Harness.run([Harness.binary, "record", "-o", out, "--states", "none", "--",
                                   "/bin/sh", "-c", "i=0; while [ $i -lt 400 ]; do /bin/true; i=$((i+1)); done"])
        #expect(run.0 == 2)
        #expect(run.2.contains("incomplete") && run.2.contains("No space left on device") && run.2.contains("no end line"))
        #expect(!run.2.contains("see the end line"))
        let data = try Data(contentsOf: URL(fileURLWithPath: out))
        #expect(data.last == 0x0A, "the file ends with a whole line")
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
        for l in lines { #expect((try? JSONSerialization.jsonObject(with: Data(l.utf8))) != nil) }
        #expect(!(lines.last?.contains("\"type\":\"end\"") ?? true))
        #expect(run.2.contains("stops after line \(lines.count) "))
        let (vcode, vout, _) = try Harness.run([Harness.binary, "validate", out])
        #expect(vcode != 0 && vout.contains("incomplete"))
    }
}
