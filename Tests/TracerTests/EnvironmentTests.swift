import Foundation
import Lifecycle
import Testing

/// Recording where the machine differs from a desktop: states sampled from /proc, a pid
/// namespace (a container), the kernel's own session 0. Serialized: each test runs a tracer.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct EnvironmentTests {
    static let canUnshare: Bool = {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare"),
              let (code, _, _) = try? Harness.run(["/usr/bin/unshare", "--pid", "--fork", "--mount-proc", "/bin/true"], timeout: 20)
        else { return false }
        return code == 0
    }()

    /// A sample can come after the reap; the tracer's exit time is the end of every task.
    @Test(arguments: ["setsid", "wait_status.py", "mp_queue.py"])
    func sampledStatesEndAtTheExitTheTracerSaw(_ name: String) throws {
        let command = name.hasSuffix(".py") ? Harness.py(name) : Harness.c(name)
        let r = try Harness.record(command, flags: ["--states", "sampled", "--reap-timeout", "5"])
        #expect(r.history.states == .sampled)
        #expect(r.history.processes.count >= 2)
        // Every task's recorded path ends in →terminated, no later than its process's exit
        // line (the trace's own lines, independent of the model).
        let states = r.objects("state")
        for p in r.history.processes {
            let exit = try #require(p.exitTime, "pid \(p.pid) has no exit")
            let mine = states.filter { $0["pid"] as? Int == p.pid }
            #expect(!mine.isEmpty)
            for tid in Set(mine.compactMap { $0["tid"] as? Int }) {
                let last = try #require(mine.last { $0["tid"] as? Int == tid })
                #expect(last["to"] as? String == "terminated", "pid \(p.pid) tid \(tid) ends \(last)")
                #expect(((last["t"] as? NSNumber)?.int64Value ?? .max) <= exit, "pid \(p.pid) tid \(tid) ends after its exit")
            }
            // The process stays terminated until its reap.
            if let reap = p.reapTime {
                #expect(p.processStates().last.map { $0.state == .terminated && $0.end == reap } == true)
            }
        }
    }

    /// In a pid namespace the scheduler's tracepoints name the host's pids, so states fall back
    /// to sampling (saying so once); the session whose leader is outside the namespace is 0,
    /// and the trace records that 0 as the kernel reports it.
    @Test(.enabled(if: EnvironmentTests.canUnshare))
    func inAPidNamespaceStatesAreSampledAndSessionZeroIsRecorded() throws {
        let r = try Harness.record(Harness.c("setsid"), wrapper: ["/usr/bin/unshare", "--pid", "--fork", "--mount-proc"])
        #expect(r.exitCode == 0)
        #expect(r.history.states == .sampled)
        let warnings = r.stderr.split(separator: "\n").filter { $0.hasPrefix("proctrace:") }
        #expect(warnings.count == 1 && warnings[0].contains("pid namespace"), "stderr: \(r.stderr)")
        #expect(r.objects("trace").first?["pid"] as? Int == 1, "proctrace is the namespace's init")
        let spawn = try #require(r.objects("spawn").first)
        #expect(spawn["sid"] as? Int == 0 && spawn["pgid"] as? Int == 0)
        let groups = r.objects("group")
        #expect(groups.contains { $0["call"] as? String == "setsid" && $0["sid"] as? Int == $0["pid"] as? Int })
        let setpgid = groups.filter { $0["call"] as? String == "setpgid" }
        #expect(setpgid.count == 2)
        #expect(setpgid.allSatisfy { $0["sid"] as? Int == 0 }, "the sid is unchanged: the outside session, 0")
        for p in r.children(of: r.root) {
            #expect(p.reapHow == "wait" && p.reapedBy == r.root.pid && p.exitStatus == .exited(0))
            #expect(p.stateIntervals.contains { $0.state == .terminated })
        }
    }

    /// A /proc mounted for another pid namespace would name other processes: refuse, clearly,
    /// and write nothing.
    @Test(.enabled(if: EnvironmentTests.canUnshare))
    func aProcOfAnotherPidNamespaceIsRefused() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("proctrace-ns-\(getpid()).jsonl").path
        defer { unlink(out) }
        let (code, _, err) = try Harness.run(["/usr/bin/unshare", "--pid", "--fork", Harness.binary, "record", "-o", out, "--", "/bin/true"],
                                             timeout: 30)
        #expect(code == 2)
        #expect(err.contains("/proc belongs to another pid namespace") && err.contains("--mount-proc"), "stderr: \(err)")
        #expect(access(out, F_OK) != 0)
    }
}
