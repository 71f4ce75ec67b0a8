import Foundation
import Lifecycle
import Testing
import Tracer

/// Recording where the machine differs from a desktop: states sampled from /proc, a pid
/// namespace (a container), the kernel's own session 0. Serialized: each test runs a tracer.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct EnvironmentTests {
    // (Under unshare the whole recorder runs in the new namespace: proctrace is its pid 1.)
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

    /// In a pid namespace (a container) the tracepoints name the host's tids; the source pairs
    /// them with the namespace's, so states stay exact. The session, whose leader is outside
    /// the namespace, is 0, and the trace records that 0 as the kernel reports it.
    @Test(.enabled(if: EnvironmentTests.canUnshare && SchedSource.isPermitted()))
    func inAPidNamespaceStatesAreExactAndSessionZeroIsRecorded() throws {
        let r = try Harness.record(Harness.c("setsid"), wrapper: ["/usr/bin/unshare", "--pid", "--fork", "--mount-proc"])
        #expect(r.exitCode == 0)
        #expect(r.history.states == .sched)
        #expect(!r.stderr.contains("proctrace:"), "stderr: \(r.stderr)")
        #expect(r.objects("trace").first?["pid"] as? Int == 1, "proctrace is the namespace's init")
        let spawn = try #require(r.objects("spawn").first)
        #expect(spawn["sid"] as? Int == 0 && spawn["pgid"] as? Int == 0)
        let groups = r.objects("group")
        #expect(groups.contains { $0["call"] as? String == "setsid" && $0["sid"] as? Int == $0["pid"] as? Int })
        let setpgid = groups.filter { $0["call"] as? String == "setpgid" }
        #expect(setpgid.count == 2)
        #expect(setpgid.allSatisfy { $0["sid"] as? Int == 0 }, "the sid is unchanged: the outside session, 0")
        // Every state event names a process of this namespace, and each child's states run
        // from new to terminated; the root sits in wait4 for each child in turn.
        let pids = Set(r.history.processes.map(\.pid))
        #expect(r.objects("state").allSatisfy { pids.contains($0["pid"] as? Int ?? -1) })
        for p in r.children(of: r.root) {
            #expect(p.reapHow == .wait && p.reapedBy == r.root.pid && p.exitStatus == .exited(0))
            #expect(p.stateIntervals.first?.state == .new && p.processStates().last?.state == .terminated)
        }
        let long = r.root.waits.filter { ($0.end ?? 0) - $0.begin > 10_000_000 }
        #expect(long.count >= 2)   // leader (50 ms) and grouper (100 ms)
        for w in long {
            #expect(r.root.stateIntervals.contains { $0.state == .blocked && $0.why == "wait4" && $0.start >= w.begin && $0.start < w.end! },
                    "no wait4 block inside the wait at \(w.begin)")
        }
    }

    /// The same pairing holds up with threads and a pool: the handler thread that polls with
    /// WNOHANG is the one blocked in it, under its own (namespace) tid.
    @Test(.enabled(if: EnvironmentTests.canUnshare && SchedSource.isPermitted()))
    func inAPidNamespaceThreadsKeepTheirOwnStates() throws {
        let r = try Harness.record(Harness.py("mp_pool.py"), wrapper: ["/usr/bin/unshare", "--pid", "--fork", "--mount-proc"])
        #expect(r.history.states == .sched)
        #expect(r.history.end?.lost == 0)
        let threads = Set(r.root.threads.map(\.tid))
        #expect(threads.count >= 4)
        let stateTids = Set(r.objects("state").filter { $0["pid"] as? Int == r.root.pid }.compactMap { $0["tid"] as? Int })
        #expect(stateTids == threads, "states name exactly the root's threads")
        #expect(r.children(of: r.root).count == 2)
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
