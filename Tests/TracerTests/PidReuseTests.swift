#if os(Linux)
@preconcurrency import Glibc
import Foundation
import Lifecycle
import Testing
@testable import Tracer

/// Pid reuse inside one trace (issue 8, item 3): a process is (pid, generation) in the state
/// sources, the merger, the model and the views. Reuse is forced in a pid namespace with a
/// small `pid_max` (per namespace on this kernel): 1000 children, a few at a time and a third
/// of them with a thread, take each of the ~400 pids two or three times.
@Suite(.serialized, .timeLimit(.minutes(4)), .enabled(if: EnvironmentTests.canUnshare))
struct PidReuseTests {
    static let smallPidMax = ["/usr/bin/unshare", "--pid", "--fork", "--mount-proc",
                              "/bin/sh", "-c", "echo 400 > /proc/sys/kernel/pid_max && exec \"$@\"", "sh"]
    static let children = 1000

    static var modes: [String] { SchedSource.isPermitted() ? ["sched", "sampled"] : ["sampled"] }

    @Test(arguments: modes)
    func everyReusedPidsStatesStayInsideItsOwnLife(_ states: String) throws {
        let r = try Harness.record(Harness.c("pid_reuse", "\(Self.children)", "4"),
                                   flags: ["--states", states, "--reap-timeout", "5"], wrapper: Self.smallPidMax)
        // (Harness.record also checked: `lost` 0, the schema, `validate` with no problem.)
        #expect(r.exitCode == 0, "\(r.stderr)")
        #expect(r.history.states.rawValue == states)
        #expect(r.objects("state").count > Self.children, "\(r.stderr)")
        let report = StateCoverage.check(lines: r.lines)
        #expect(report.processes == Self.children + 1)
        // (The namespace hands out pids 300 to 399 once its pid_max is 400: each ~10 times.)
        #expect(report.reusedPids.count >= 50, "pids were not reused: is pid_max per namespace here?")
        #expect(report.problems.isEmpty, "\(report.problems.count) problems: \(report.problems.prefix(10))")
        #expect(threadStateProblems(r.lines).isEmpty, "\(threadStateProblems(r.lines).prefix(10))")

        // The model and the views: one process per birth, nothing alive at the end.
        #expect(r.history.processes.count == Self.children + 1)
        #expect(r.history.processes.allSatisfy { $0.reapTime != nil })
        let (code, out, err) = try Harness.run([Harness.binary, "stats", "--json", r.path])
        #expect(code == 0, "\(err)")
        let stats = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        let forks = r.objects("fork").count
        #expect(stats["processes"] as? Int == forks + 1)
        let fates = stats["fates"] as? [String: Int] ?? [:]
        #expect(fates["alive at end"] == nil, "\(fates)")
        #expect((stats["per_process"] as? [Any])?.count == forks + 1)
        let (rc, rout, rerr) = try Harness.run([Harness.binary, "replay", r.path, "--check"])
        #expect(rc == 0 && (rout + rerr).contains("no disagreement"), "\(rout)\(rerr)")
        let (tc, tree, _) = try Harness.run([Harness.binary, "tree", r.path])
        #expect(tc == 0)
        // A later life of a pid is shown as pid#generation.
        #expect(tree.contains("#2"))
        try expectPerfettoTracksFollowEachLife(r)
    }

    /// Each `state` line of a thread (tid ≠ pid) comes after that thread's `thread start`
    /// in the same life of its process.
    func threadStateProblems(_ lines: [String]) -> [String] {
        var problems: [String] = []
        var started: [Int: Set<Int>] = [:]   // pid → tids started in its current life
        for (i, text) in lines.enumerated() {
            guard let o = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
                  let type = o["type"] as? String, let pid = o["pid"] as? Int else { continue }
            switch type {
            case "fork": if let c = o["child"] as? Int { started[c] = [] }
            case "thread" where o["phase"] as? String == "start": if let tid = o["tid"] as? Int { started[pid, default: []].insert(tid) }
            case "state":
                if let tid = o["tid"] as? Int, tid != pid, started[pid]?.contains(tid) != true {
                    problems.append("line \(i + 1): state of tid \(tid) of pid \(pid) before its thread start")
                }
            default: break
            }
        }
        return problems
    }

    /// Perfetto: every state slice on a pid's track lies inside one life of that pid.
    func expectPerfettoTracksFollowEachLife(_ r: Harness.Run) throws {
        let out = r.path + ".perfetto.json"
        defer { unlink(out) }
        let (code, _, err) = try Harness.run([Harness.binary, "export", r.path, "--format", "perfetto", "-o", out])
        #expect(code == 0, "\(err)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as? [String: Any])
        let events = try #require(doc["traceEvents"] as? [[String: Any]])
        var lives: [Int: [(Double, Double)]] = [:]   // pid → [birth, reap] in µs
        for p in r.history.processes { lives[p.pid, default: []].append((Double(p.birth) / 1000, Double(p.reapTime ?? r.history.endTime) / 1000)) }
        var outside = 0
        for e in events where e["ph"] as? String == "X" {
            guard let pid = e["pid"] as? Int, let ts = (e["ts"] as? NSNumber)?.doubleValue,
                  let dur = (e["dur"] as? NSNumber)?.doubleValue else { continue }
            if !(lives[pid] ?? []).contains(where: { ts >= $0.0 - 0.001 && ts + dur <= $0.1 + 0.001 }) { outside += 1 }
        }
        #expect(outside == 0, "\(outside) state slices outside every life of their pid")
        let names = events.filter { $0["ph"] as? String == "M" && $0["name"] as? String == "process_name" }.compactMap { $0["pid"] as? Int }
        #expect(names.count == Set(names).count, "one process_name per pid")
    }
}
#endif
