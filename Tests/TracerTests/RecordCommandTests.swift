import Foundation
import Lifecycle
import Testing
@testable import Tracer

/// The `record` command's contract with its user: exit status, errors, files.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct RecordCommandTests {
    @Test(arguments: [0, 3, 42])
    func exitsWithTheWorkloadsStatus(_ n: Int) throws {
        let r = try Harness.record(Harness.c("exit_code", "\(n)"))
        #expect(r.exitCode == Int32(n))
        #expect(r.history.end?.status == .exited(n))
    }

    /// `record` returns (its front exits) with the trace complete; the tracer then hands its
    /// tracefs instance to a parker and exits; unclaimed by a next recording within the grace
    /// time (1 s), the instance is removed (~0.05 s in the kernel): nothing stays behind.
    @Test func theTracerRemovesItsInstanceAfterTheShellGotItsStatus() throws {
        let r = try Harness.record(["/bin/true"])
        #expect(r.exitCode == 0)
        #expect(r.history.end != nil, "the trace is complete when record returns")
        try #require(r.history.states == .sched, "this machine gives scheduler states (root)")
        let tracer = try #require(r.objects("trace").first?["pid"] as? Int)
        // Its instance is named after its pid (docs/states.md, "The tracefs instance").
        func instances() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: "/sys/kernel/tracing/instances")) ?? [])
                .filter { $0.hasPrefix("proctrace-") && $0.contains("-pid\(tracer)-") }
        }
        // Gone, or a zombie waiting for its reap by whoever adopted it (pid 1 reaps late here).
        func tracerRuns() -> Bool {
            guard let stat = try? String(contentsOfFile: "/proc/\(tracer)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            return !stat[close...].hasPrefix(") Z")
        }
        // Another recording on this machine may have claimed it meanwhile: it records then.
        func unclaimed() -> [String] {
            instances().filter { name in
                (try? String(contentsOfFile: "/sys/kernel/tracing/instances/\(name)/events/sched/sched_switch/enable", encoding: .utf8))?
                    .hasPrefix("1") != true
            }
        }
        let deadline = Date().addingTimeInterval(10)
        while (!unclaimed().isEmpty || tracerRuns()) && Date() < deadline { usleep(10_000) }
        #expect(unclaimed().isEmpty, "the recorder's instance is still there: \(unclaimed())")
        #expect(!tracerRuns(), "the tracer \(tracer) still runs")
    }

    /// proctrace as its pid namespace's init has no front, and the kernel kills every process of
    /// the namespace when it exits: a detached remover died with it, and the instance stayed
    /// (each run of the namespaced tests left one, with its rings, until a host recorder swept it).
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare")))
    func aRecorderThatIsItsNamespacesInitRemovesItsInstance() throws {
        let r = try Harness.record(["/bin/readlink", "/proc/self/ns/pid"], wrapper: ["/usr/bin/unshare", "--pid", "--fork", "--mount-proc"])
        #expect(r.exitCode == 0)
        try #require(r.history.states == .sched, "this machine gives scheduler states (root)")
        #expect(r.objects("trace").first?["pid"] as? Int == 1)
        // The workload's namespace is the recorder's: its instance is named after it.
        let ns = try #require(InstanceOwner.inode(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), "stdout: \(r.stdout)")
        let left = ((try? FileManager.default.contentsOfDirectory(atPath: "/sys/kernel/tracing/instances")) ?? [])
            .filter { InstanceOwner(instanceName: $0).map { $0.pidNamespace == ns && $0.pid == 1 } ?? false }
        #expect(left.isEmpty, "the namespace init's instance is still there after it exited: \(left)")
    }

    /// The tracer, forked from the front after the Swift runtime cached the front's thread id,
    /// forgets those caches (`pt_tid_caches`): the shipped binary has them, and says how many.
    @Test func theTracerForgetsTheFrontsCachedThreadIds() throws {
        let r = try Harness.record(["/bin/true"], env: ["PROCTRACE_RUSAGE": "1"])
        let said = r.stderr.split(separator: "\n").first { $0.contains("thread-id caches forgotten at the split") }
        let n = said.flatMap { Int($0.split(separator: " ").last ?? "") }
        #expect((n ?? 0) > 0, "stderr: \(r.stderr)")
    }

    /// Graphviz is loaded at the first render (`CGraphviz`, dlopen), so a recording's processes
    /// never map it: the workload reads the maps of its parent, the tracer (a fork of the front,
    /// whose mappings it shares), and of the front. libelf, which `record` uses, is there.
    @Test func aRecordingMapsNoGraphviz() throws {
        let script = "p=$(awk '/^PPid:/ { print $2 }' /proc/$PPID/status); cat /proc/$PPID/maps /proc/$p/maps"
        let r = try Harness.record(["/bin/sh", "-c", script])
        #expect(r.exitCode == 0)
        let libraries = Set(r.stdout.split(separator: "\n").compactMap { $0.split(separator: "/").last.map(String.init) })
        #expect(libraries.contains { $0.hasPrefix("libelf") }, "the maps read: \(libraries.sorted())")
        #expect(!libraries.contains { $0.hasPrefix("libgvc") || $0.hasPrefix("libcgraph") || $0.hasPrefix("libcdt") },
                "\(libraries.sorted())")
    }

    @Test func killedWorkloadGives128PlusN() throws {
        let r = try Harness.record(Harness.c("exit_code", "kill:15"))
        #expect(r.exitCode == 128 + 15)
        #expect(r.history.end?.status == .signaled("SIGTERM", core: false))
    }

    @Test func missingCommandIsA127WithATrace() throws {
        let r = try Harness.record(["/no/such/program-xyz"])
        #expect(r.exitCode == 127)
        #expect(r.stderr.contains("/no/such/program-xyz"))
        #expect(r.stderr.split(separator: "\n").count == 1)
        #expect(r.root.exitStatus == .exited(127))
        #expect(r.root.execs.isEmpty)
        #expect(r.objects("exit").first?["error"] as? String == "ENOENT")
    }

    @Test func refusesToOverwriteATraceWithoutForce() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("proctrace-keep-\(getpid()).jsonl").path
        try "precious\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (code, _, err) = try Harness.run([Harness.binary, "record", "-o", path, "--", "/bin/true"])
        #expect(code != 0)
        #expect(err.contains(path))
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "precious\n")
    }

    @Test func scriptRecordsTheInterpreterThatRan() throws {
        let script = Harness.workloads.appendingPathComponent("spawn_loop.sh").path
        let r = try Harness.record(["/bin/sh", script, "3"])
        let loopChildren = r.history.processes.filter { $0.execs.contains { $0.path == "/bin/true" } }
        #expect(loopChildren.count == 3)
        #expect(loopChildren.allSatisfy { $0.execs.last?.elf?.elfClass == "ELF64" })
    }

    @Test func environmentIsOnlyRecordedWhenAsked() throws {
        let plain = try Harness.record(["/bin/true"])
        #expect(plain.history.header["env"] == nil)
        let withEnv = try Harness.record(["/bin/true"], flags: ["--env"])
        #expect(withEnv.history.header["env"]?.array?.isEmpty == false)
    }

    @Test func withoutPrivilegeStatesFallBackToSamplingWithOneLine() throws {
        // An unprivileged user may trace its own children but not read scheduler events.
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else { return }
        let dir = "/tmp/proctrace-unpriv-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        chmod(dir, 0o777)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = "\(dir)/t.jsonl"
        let (code, _, err) = try Harness.run(["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                              Harness.binary, "record", "-o", out, "--", "/bin/sleep", "0.05"])
        #expect(code == 0, "\(err)")
        let lines = err.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].contains("sampl"), "stderr: \(err)")
        let h = try ProcessHistory(path: out)
        #expect(h.states == .sampled)
        #expect(h.end?.lost == 0)
        // Sampling still sees the sleep as blocked.
        #expect(h.roots[0].stateIntervals.contains { $0.state == .blocked && $0.duration > 20_000_000 })
    }

    @Test func anUnknownOptionIsAnErrorNotACommand() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("proctrace-cwd-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let (code, _, text) = try Harness.run([Harness.binary, "record", "--bogus", "--", "/bin/true"], in: dir)
        #expect(code == 2)  // every usage error exits 2, as bad input to a reader does
        #expect(text.contains("--bogus"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    @Test func withoutOutputATraceIsNamedAfterTheCommandAndAnnounced() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("proctrace-cwd2-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let (code, _, text) = try Harness.run([Harness.binary, "record", "--states", "none", "--", "/bin/true"], in: dir)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(code == 0)
        #expect(files.count == 1)
        let name = try #require(files.first)
        #expect(name.hasPrefix("proctrace-true-") && name.hasSuffix(".jsonl"))
        #expect(text.contains(name))
        let h = try ProcessHistory(path: dir.appendingPathComponent(name).path)
        #expect(h.end?.status == .exited(0))
    }

    @Test func helpIsShownNotRecorded() throws {
        let (code, out, _) = try Harness.run([Harness.binary, "record", "--help"])
        #expect(code == 0)
        #expect(out.contains("USAGE: proctrace record"))
    }

    /// SIGKILL cannot be caught (SIGTERM ends a recording cleanly: RecordEndingTests/sigterm).
    @Test(arguments: [SIGKILL])
    func aKilledRecorderLeavesAValidPrefix(_ sig: Int32) throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("proctrace-killed-\(getpid())-\(sig).jsonl").path
        try? FileManager.default.removeItem(atPath: out)
        defer { try? FileManager.default.removeItem(atPath: out) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Harness.binary)
        p.arguments = ["record", "-o", out, "--", "/bin/sh", "-c", "sleep 0.05; /bin/true; sleep 5"]
        p.standardError = FileHandle.nullDevice
        try p.run()
        usleep(600_000)
        kill(p.processIdentifier, sig)
        p.waitUntilExit()
        #expect(p.terminationReason == .uncaughtSignal && p.terminationStatus == sig)
        // Every line written is whole and valid; the trace is only incomplete.
        let h = try ProcessHistory(path: out)
        #expect(h.incomplete)
        #expect(h.truncatedLine == nil)
        #expect(h.processes.count >= 2)
        let (code, text, _) = try Harness.run([Harness.binary, "validate", out])
        #expect(code != 2, "unreadable: \(text)")
        #expect(!text.contains("expected"), "a malformed line: \(text)")
        // EXITKILL: no traced process outlives its tracer (each is gone, or a zombie that
        // pid 1 has yet to reap).
        usleep(100_000)
        for proc in h.processes {
            let stat = (try? String(contentsOfFile: "/proc/\(proc.pid)/stat", encoding: .utf8)) ?? ""
            let state = stat.split(separator: ")").last?.split(separator: " ").first ?? "gone"
            #expect(state == "Z" || state == "gone" || state == "X", "pid \(proc.pid) is \(state)")
        }
    }

    @Test func argvIsRecordedExactlyEvenWithoutAnEnvironment() throws {
        // Empty strings, spaces, newlines, quotes and a byte that is not UTF-8; no environment
        // at all (the argv strings then end where AT_EXECFN begins).
        let r = try Harness.record(["/usr/bin/env", "-i", "/bin/echo", "", "a b", "x\ny", "q\"uote", "tail"], flags: ["--states", "none"])
        let echo = try #require(r.history.processes.first { $0.execs.last?.path == "/bin/echo" })
        #expect(echo.execs.last?.argv == ["/bin/echo", "", "a b", "x\ny", "q\"uote", "tail"])
        #expect(echo.execs.last?.exe == "/usr/bin/echo")
        #expect(r.root.execs.first?.argv == ["/usr/bin/env", "-i", "/bin/echo", "", "a b", "x\ny", "q\"uote", "tail"])
    }
}
