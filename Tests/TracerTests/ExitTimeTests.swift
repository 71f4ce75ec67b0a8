import Foundation
import Lifecycle
import Testing

/// With waits read from the scheduler's ring, end lines are stamped at the kernel's
/// `sched_process_exit` (docs/recorder.md "Ends at the kernel's time"), not when the tracer
/// collected the death: each `exit` at its main thread's `terminated` state, each
/// `thread … exit` at its thread's, and a reap by a wait therefore strictly after its exit
/// (a zombie time above zero, as the kernel's exit → reap is).
@Suite(.serialized, .timeLimit(.minutes(5)), .ringWaitsPossible)
struct ExitTimeTests {
    /// What the lines say, read with Foundation (independent of the model).
    struct Ends {
        /// Every end line with the terminated time of its task: (pid, tid or nil, end t, terminated t).
        var ends: [(pid: Int, tid: Int?, t: Int64, terminated: Int64?)] = []
        /// Reaps by a wait: (pid, reap t, exit t).
        var reaps: [(pid: Int, t: Int64, exit: Int64?)] = []
        /// Process exits raised above their task's terminated time (the floor: an earlier line).
        var floored: Int { ends.count { e in e.terminated.map { e.t > $0 } ?? false } }
    }

    static func ends(_ r: Harness.Run) -> Ends {
        var out = Ends()
        var terminated: [Int: Int64] = [:]   // by tid, the latest
        var exits: [Int: Int64] = [:]        // by pid, the latest
        for line in r.lines {
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let type = o["type"] as? String, let t = (o["t"] as? NSNumber)?.int64Value else { continue }
            let pid = (o["pid"] as? Int) ?? -1
            switch type {
            case "state" where o["to"] as? String == "terminated":
                terminated[(o["tid"] as? Int) ?? pid] = t
            case "thread" where o["phase"] as? String == "exit":
                let tid = o["tid"] as! Int
                out.ends.append((pid, tid, t, terminated.removeValue(forKey: tid)))
            case "exit":
                out.ends.append((pid, nil, t, terminated.removeValue(forKey: pid)))
                exits[pid] = t
            case "reap" where o["how"] as? String == "wait" && pid != r.root.pid:
                // By a traced wait (not proctrace's own of the root, at its collection).
                out.reaps.append((pid, t, exits[pid]))
            default:
                continue
            }
        }
        return out
    }

    /// Every end at its task's terminated time (or, rarely, raised to an earlier line of the
    /// task), never before it; every reap by a wait strictly after its exit.
    private func expectKernelEnds(_ r: Harness.Run, processes: Int, sourceLocation: SourceLocation = #_sourceLocation) -> Ends {
        let e = Self.ends(r)
        #expect(e.ends.count { $0.tid == nil } == processes, sourceLocation: sourceLocation)
        for end in e.ends {
            let what = end.tid.map { "thread \($0) of \(end.pid)" } ?? "process \(end.pid)"
            guard let term = end.terminated else {
                Issue.record("\(what): no terminated state before its end line", sourceLocation: sourceLocation)
                continue
            }
            #expect(end.t >= term, "\(what) ends at \(end.t), before its terminated state at \(term)", sourceLocation: sourceLocation)
        }
        for reap in e.reaps {
            let exit = reap.exit ?? .max
            #expect(reap.t >= exit, "pid \(reap.pid) reaped at \(reap.t), before its exit at \(exit)", sourceLocation: sourceLocation)
        }
        // No end kept the collection's stamp (the end line counts those that did).
        let collected = r.objects("end").first?["ends_collected"] as? Int
        #expect(collected == nil, "\(collected ?? 0) ends kept the collection's stamp; \(r.stderr)", sourceLocation: sourceLocation)
        // The floor (a line of the task stamped after the kernel's exit) is the exception.
        #expect(e.floored * 20 <= e.ends.count, "\(e.floored) of \(e.ends.count) ends after their terminated state; \(r.stderr)",
                sourceLocation: sourceLocation)
        for reap in e.reaps {
            let exit = reap.exit ?? .max
            #expect(reap.t > exit, "pid \(reap.pid) reaped at \(reap.t), exit at \(exit): no zombie time", sourceLocation: sourceLocation)
        }
        return e
    }

    @Test func spawnLoopExitsAreAtTheKernelsTimeAndEveryZombieLasts() throws {
        let script = Harness.workloads.appendingPathComponent("spawn_loop.sh").path
        let r = try Harness.record(["/bin/sh", script, "100"], flags: WaitPath.ring.flags, env: ["PROCTRACE_RUSAGE": "1"])
        WaitPath.ring.expectSource(r)
        // sh, seq and 100 children.
        let e = expectKernelEnds(r, processes: 102)
        #expect(e.reaps.count == 101)   // sh's own is by proctrace
        // The model agrees: every child's zombie time is above zero.
        for c in r.children(of: r.root) {
            if let x = c.exitTime, let reap = c.reapTime { #expect(reap > x, "pid \(c.pid): zombie 0") }
        }
    }

    @Test func waitStatusExitsAreAtTheKernelsTime() throws {
        let r = try Harness.record(Harness.py("wait_status.py"), flags: WaitPath.ring.flags, env: ["PROCTRACE_RUSAGE": "1"])
        WaitPath.ring.expectSource(r)
        let e = expectKernelEnds(r, processes: 3)
        #expect(e.reaps.count == 2)
        #expect(e.floored == 0)
    }

    @Test func threadsEndAtTheirOwnTimeAndTheProcessLast() throws {
        let r = try Harness.record(Harness.c("threads"), flags: WaitPath.ring.flags)
        WaitPath.ring.expectSource(r)
        #expect(r.stdout.contains("3 threads joined"))
        let e = expectKernelEnds(r, processes: 1)
        let threads = e.ends.filter { $0.tid != nil }
        #expect(threads.count == 3)
        // Each thread exactly at its own terminated state, and the process's exit after them all.
        let exit = try #require(e.ends.first { $0.tid == nil })
        #expect(e.floored == 0)
        for th in threads { #expect(th.t == th.terminated) }
        #expect(exit.t == exit.terminated)
        #expect(threads.allSatisfy { $0.t < exit.t })
    }
}
