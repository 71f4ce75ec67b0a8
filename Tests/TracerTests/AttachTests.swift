import Foundation
import Lifecycle
import Testing

/// `record -p` (issue 10): attaching to a program already running, following what it forks,
/// and letting it go unharmed. Real runs of attach_target.py. Serialized: runs a tracer.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct AttachTests {
    static func scratch(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("proctrace-attach-\(getpid())-\(name)").path
    }

    /// The workload's "tick N STATUS PID" lines so far.
    static func ticks(_ path: String) -> [(n: Int, status: Int, pid: Int)] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ")
            guard f.count == 4, f[0] == "tick", let n = Int(f[1]), let s = Int(f[2]), let p = Int(f[3]) else { return nil }
            return (n, s, p)
        }
    }

    /// Polls until `done` holds or `seconds` pass (a wait for an event, not a measurement).
    static func waitFor(_ seconds: Double, _ done: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if done() { return true }
            usleep(20_000)
        }
        return done()
    }

    @Test("record -p follows a running program's children from the attach on; Ctrl-C detaches and it runs on, unstopped")
    func attachAndDetach() throws {
        let progress = Self.scratch("ticks.txt"), out = Self.scratch("trace.jsonl")
        for p in [progress, out] { try? FileManager.default.removeItem(atPath: p) }
        let workload = try Child(Harness.py("attach_target.py", "60", progress))
        // SIGTERM: it stops its keeper and exits (the keeper also leaves when its parent goes).
        defer { kill(workload.pid, SIGTERM); _ = workload.wait() }
        #expect(Self.waitFor(20) { Self.ticks(progress).count >= 2 }, "the workload runs")
        let ready = ((try? String(contentsOfFile: progress, encoding: .utf8)) ?? "").split(separator: "\n").first?.split(separator: " ") ?? []
        let root = try #require(ready.count == 3 ? Int(ready[1]) : nil), keeper = try #require(Int(ready[2]))
        #expect(root == Int(workload.pid))

        let rec = try Child([Harness.binary, "record", "-p", String(root), "-o", out])
        // Recording: the workload is traced by proctrace, and reaps a few more children.
        #expect(Self.waitFor(20) { Proc.status(root, "TracerPid") == String(rec.pid) && Proc.status(keeper, "TracerPid") == String(rec.pid) })
        let before = Self.ticks(progress).count
        #expect(Self.waitFor(20) { Self.ticks(progress).count >= before + 5 })
        kill(rec.pid, SIGINT)
        #expect(rec.wait() == 0, "detaching is the normal end: exit 0")
        #expect(rec.stderr.contains("detached from 2 processes"), "\(rec.stderr)")

        // Released, not stopped, still running and making progress.
        for pid in [root, keeper] {
            #expect(Proc.status(pid, "TracerPid") == "0", "\(pid) released")
            let st = Proc.state(pid)
            #expect(st != nil && st != "T" && st != "t" && st != "Z", "\(pid) is \(st.map(String.init) ?? "gone")")
        }
        let afterDetach = Self.ticks(progress).count
        #expect(Self.waitFor(20) { Self.ticks(progress).count >= afterDetach + 3 }, "it keeps reaping children after the detach")
        #expect(Self.ticks(progress).allSatisfy { $0.status == $0.n % 100 }, "every child's status reached its parent unchanged")

        // The trace: valid, attached, and every child born while attached with its exit and reap.
        let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").map(String.init)
        let history = try ProcessHistory(path: out)
        try Harness.checkInvariants(history, lines: lines, path: out, detached: [root, keeper], sourceLocation: #_sourceLocation)
        let objs = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(objs.first?["attached"] as? [Int] == [root])
        #expect(objs.first?["failed_execs"] as? Bool == false)
        let attaches = objs.filter { $0["type"] as? String == "attach" }
        #expect(attaches.map { $0["pid"] as? Int } == [root, keeper])
        #expect(attaches.last?["ppid"] as? Int == root)
        #expect((attaches.first?["argv"] as? [String])?.last == progress)
        #expect(attaches.allSatisfy { ($0["started"] as? String)?.hasSuffix("Z") == true && $0["state"] is String })
        #expect(objs.filter { $0["type"] as? String == "fork" }.count >= 5)
        let end = try #require(objs.last)
        #expect(Set(end["detached"] as? [Int] ?? []) == [root, keeper])

        let rootRec = try #require(history.roots.first)
        #expect(history.roots.count == 1 && rootRec.pid == root && rootRec.attached)
        let kids = history.children(of: rootRec.id)
        #expect(kids.first?.pid == keeper && kids.first?.attached == true)
        // Until the state source first reports it, an attached process is in the state /proc
        // gave just before the attach stopped it: sleeping (S) is blocked from the attach on.
        if history.states != .none, let k = kids.first, attaches.last?["state"] as? String == "S" {
            #expect(k.stateIntervals.first.map { $0.state == .blocked && $0.start == k.birth } == true, "\(k.stateIntervals.prefix(2))")
        }
        let ticks = Dictionary(Self.ticks(progress).map { ($0.pid, $0) }, uniquingKeysWith: { a, _ in a })
        let born = kids.filter { !$0.attached }
        #expect(born.count >= 5)
        for k in born where k.exitTime != nil {
            // The workload's own account of this child: its status, as its waitpid saw it.
            let tick = try #require(ticks[k.pid], "child \(k.pid) is in the trace but not among the workload's ticks")
            #expect(k.exitStatus == .exited(tick.status))
            #expect(k.reapedBy == root && k.reapHow == .wait, "\(k.pid) reaped by \(k.reapedBy.map(String.init) ?? "-") \(k.reapHow?.rawValue ?? "-")")
        }
        // No child born while attached is missing: the ticks from the first traced one to the
        // last one that exited while attached are all in the trace.
        let traced = Set(born.map(\.pid))
        let numbers = Self.ticks(progress).filter { traced.contains($0.pid) }.map(\.n)
        if let lo = numbers.min(), let hi = numbers.max() {
            for t in Self.ticks(progress) where t.n >= lo && t.n < hi { #expect(traced.contains(t.pid), "tick \(t.n) (pid \(t.pid)) missing") }
        }
        // The views say it was already running.
        let (_, tree, _) = try Harness.run([Harness.binary, "tree", out])
        #expect(tree.contains("[already running at attach"))
        for args in [["stats", out], ["replay", out, "--check"], ["analyze", out], ["export", out, "--format", "perfetto", "-o", "-"]] {
            let (code, _, err) = try Harness.run([Harness.binary] + args)
            #expect(code == 0, "\(args[0]): \(err)")
        }
        let dotPath = Self.scratch("timeline.dot")
        let (dc, _, derr) = try Harness.run([Harness.binary, "render", out, "--timeline", "-f", "dot", "-o", dotPath])
        #expect(dc == 0, "\(derr)")
        #expect(((try? String(contentsOfFile: dotPath, encoding: .utf8)) ?? "").contains("already running at attach"))
    }

    /// The attached program exits while recorded: the `end` line has its status, as for a
    /// spawned root, and the readers say so (until 2026-11-30 the end had no status and `tree`
    /// said "root still running (detached)" above the root's own "exited 3").
    @Test("record -p of a program that exits: the end line has its status, tree says it exited")
    func anAttachedRootThatExitsHasItsStatusInTheEnd() throws {
        let out = Self.scratch("exits.jsonl")
        try? FileManager.default.removeItem(atPath: out)
        defer { try? FileManager.default.removeItem(atPath: out) }
        let workload = try Child(["/bin/sh", "-c", "/bin/sleep 0.6; exit 3"])
        #expect(Proc.waitChild(of: Int(workload.pid)) != nil, "the sleep runs")
        let rec = try Child([Harness.binary, "record", "-p", String(workload.pid), "-o", out])
        #expect(workload.wait() == 3)
        #expect(rec.wait() == 0, "\(rec.stderr)")
        let history = try ProcessHistory(path: out)
        let root = try #require(history.records(pid: Int(workload.pid)).first)
        #expect(root.exitStatus == .exited(3))
        #expect(history.end?.status == .exited(3))
        let (_, tree, _) = try Harness.run([Harness.binary, "tree", out])
        #expect(tree.split(separator: "\n").first?.hasSuffix("root exited 3") == true, "\(tree)")
        #expect(!tree.contains("still running"))
    }

    @Test("attaching to another user's process is refused in one line naming the cause and the knob; exit 2, nothing attached")
    func refusedForAnotherUser() throws {
        let progress = Self.scratch("refused.txt"), out = Self.scratch("refused.jsonl")
        for p in [progress, out] { try? FileManager.default.removeItem(atPath: p) }
        let workload = try Child(Harness.py("attach_target.py", "60", progress))
        defer { kill(workload.pid, SIGTERM); _ = workload.wait() }
        #expect(Self.waitFor(20) { Self.ticks(progress).count >= 1 })
        let (code, _, err) = try Harness.run(["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                              Harness.binary, "record", "-p", String(workload.pid), "-o", out])
        #expect(code == 2)
        let lines = err.split(separator: "\n")
        #expect(lines.count == 1, "\(err)")
        #expect(err.contains("uid 0") && err.contains("uid 65534") && err.contains("CAP_SYS_PTRACE"), "\(err)")
        #expect(Proc.status(Int(workload.pid), "TracerPid") == "0")
        #expect(!FileManager.default.fileExists(atPath: out), "no trace started")
        let (c2, _, e2) = try Harness.run([Harness.binary, "record", "-p", "999999999", "-o", out])
        #expect(c2 == 2 && e2.contains("no such process"), "\(e2)")
        let (c3, _, e3) = try Harness.run([Harness.binary, "record", "-p", "12,x"])
        #expect(c3 != 0 && e3.contains("-p wants process ids"), "\(e3)")
    }
}
