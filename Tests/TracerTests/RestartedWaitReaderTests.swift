import Foundation
import Lifecycle
import Testing

/// Every reader tells a wait the kernel restarted after a signal (the end's `restarted`), from
/// real recordings of `wait_signal` on both wait paths: `restart` (a handler with SA_RESTART:
/// one wait, interrupted at the SIGUSR1, and under ptrace at poker's SIGCHLD too) and `retry`
/// (the EINTR idiom: the program saw the interruption, nothing was restarted, and no reader
/// may say it was).
@Suite(.serialized, .timeLimit(.minutes(5)))
struct RestartedWaitReaderTests {
    /// What a reader prints for a trace (stdout; the command must succeed).
    private func read(_ args: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let (code, out, err) = try Harness.run([Harness.binary] + args)
        #expect(code == 0, "\(args): exit \(code): \(err)", sourceLocation: sourceLocation)
        return out
    }

    /// The restarted wait of a `wait_signal restart` recording and its times as readers print them.
    private func restartedWait(_ r: Harness.Run) throws -> (wait: WaitRecord, times: [String]) {
        let slow = try #require(r.children(of: r.root).first)
        let w = try #require(r.root.waits.first { $0.target == slow.pid })
        // The times come from the line itself, read by Foundation, not from the model.
        let end = try #require(r.objects("wait").first { $0["phase"] as? String == "end" && ($0["result"] as? Int) == slow.pid })
        let raw = try #require(end["restarted"] as? [Int], "the kernel restarted the wait: \(end)")
        #expect(w.restarted == raw.map(Int64.init), "the model reads `restarted`")
        return (w, raw.map { TimeFormat.clock(Int64($0)) + "s" })
    }

    @Test(arguments: WaitSourceTests.sources)
    func treeReplayStatsAndAnalyzeTellARestartedWait(_ path: WaitPath) throws {
        let r = try Harness.record(Harness.c("wait_signal", "restart"), flags: path.flags)
        path.expectSource(r)
        let (w, times) = try restartedWait(r)
        let n = times.count
        let note = "restarted after " + (n == 1 ? "a signal" : "\(n) signals") + " at " + times.joined(separator: ", ")

        // tree: on the waiting process's line.
        let tree = try read(["tree", r.path])
        let rootLine = try #require(tree.split(separator: "\n").first { $0.contains("(\(r.root.pid))") && !$0.contains("├") && !$0.contains("└") })
        #expect(rootLine.contains("[wait4(\(w.target)) \(note)]"), "\(tree)")

        // replay: on the wait's end line, and only there.
        let replay = try read(["replay", r.path])
        let ends = replay.split(separator: "\n").filter { $0.contains(" wait4 returns ") }
        #expect(ends.filter { $0.contains("restarted") }.count == 1, "\(ends)")
        #expect(ends.contains { $0.contains("returns \(w.target) (exited 7), \(note)") }, "\(ends)")

        // stats: the count of waits and the wait's row; the JSON carries the times.
        let stats = try read(["stats", r.path])
        #expect(stats.contains("(2 wait calls; 1 interrupted by a signal and restarted by the kernel (\(n) restart\(n == 1 ? "" : "s")), 0 ended with EINTR)"),
                "\(stats)")
        #expect(stats.contains("wait4(\(w.target)) → \(w.target), \(note)"), "\(stats)")
        let sj = try #require(try JSONSerialization.jsonObject(with: Data(try read(["stats", "--json", r.path]).utf8)) as? [String: Any])
        let counts = try #require(sj["waits"] as? [String: Int])
        #expect(counts == ["calls": 2, "restarted": 1, "restarts": n, "eintr": 0])
        let rows = try #require(sj["longest_waits"] as? [[String: Any]])
        #expect(rows.first { ($0["target"] as? Int) == w.target }?["restarted"] as? [Int] == w.restarted.map { Int($0) })

        // analyze: one finding on the waiter, at the first interruption.
        let aj = try #require(try JSONSerialization.jsonObject(with: Data(try read(["analyze", "--json", r.path]).utf8)) as? [String: Any])
        let findings = try #require(aj["findings"] as? [[String: Any]]).filter { $0["kind"] as? String == "wait_restarted" }
        #expect(findings.count == 1)
        let f = try #require(findings.first)
        #expect(f["pid"] as? Int == r.root.pid && f["t"] as? Int == Int(w.restarted[0]) && f["restarts"] as? Int == n && f["waits"] as? Int == 1)
        #expect((f["message"] as? String)?.contains("wait4(\(w.target)) was interrupted by") == true, "\(f)")
        #expect(try read(["analyze", r.path]).contains("wait_restarted"))
    }

    @Test(arguments: WaitSourceTests.sources)
    func theTimelineTooltipAndTheViewerDetailsTellARestartedWait(_ path: WaitPath) throws {
        let r = try Harness.record(Harness.c("wait_signal", "restart"), flags: path.flags)
        path.expectSource(r)
        let (w, times) = try restartedWait(r)
        let note = "restarted after " + (times.count == 1 ? "a signal" : "\(times.count) signals") + " at " + times.joined(separator: ", ")

        // The timeline: the wait band's tooltip names the call and its restarts; the band's
        // own text, where it is drawn, only the call.
        let dot = ViewerTests.scratch.appendingPathComponent("restarted-\(UUID().uuidString.prefix(8)).dot").path
        _ = try read(["render", r.path, "--timeline", "-f", "dot", "-o", dot])
        let text = try String(contentsOfFile: dot, encoding: .utf8)
        let tips = text.matches(of: /tooltip="([^"]*)"/).map { String($0.1) }
        let waitTips = tips.filter { $0.hasPrefix("\(r.root.pid) blocked in wait call (wait4(\(w.target))") }
        #expect(!waitTips.isEmpty && waitTips.allSatisfy { $0.contains("(wait4(\(w.target)), \(note))") }, "\(waitTips)")
        #expect(!text.contains("label=\"wait4(\(w.target)), restarted"), "the band's text is the call alone")

        // The HTML viewer: the root's details list the wait with its restarts.
        let page = try ViewerTests.page(r.path)
        let shown = try ViewerTests.open(page, "pid=\(r.root.pid)")
        #expect(shown.detailsPid == String(r.root.pid))
        #expect(shown.details.contains("wait4(\(w.target))") && shown.details.contains("→ \(w.target) (exited 7; \(note))"), "\(shown.details)")
    }

    /// The EINTR idiom: the interruption ended the first call with EINTR and the program called
    /// again. That call was not restarted and no reader says so; the EINTR is told. (Poker's
    /// SIGCHLD, which under ptrace interrupts a wait even with no handler, may land in the second
    /// call, which the kernel then restarts: that one, and only it, may say so.)
    @Test(arguments: WaitSourceTests.sources)
    func anEINTRIsNotShownAsARestart(_ path: WaitPath) throws {
        let r = try Harness.record(Harness.c("wait_signal", "retry"), flags: path.flags)
        path.expectSource(r)
        let first = try #require(r.root.waits.first)
        #expect(first.result == .error("EINTR") && first.restarted.isEmpty)
        let restarted = r.root.waits.filter { !$0.restarted.isEmpty }
        #expect(restarted.allSatisfy { $0.result != .error("EINTR") })
        let restarts = restarted.reduce(0) { $0 + $1.restarted.count }

        let replay = try read(["replay", r.path])
        let eintr = replay.split(separator: "\n").filter { $0.contains("wait4 returns EINTR") }
        #expect(eintr.count == 1 && !eintr[0].contains("restarted"), "\(eintr)")
        #expect(replay.contains("restarted after") == !restarted.isEmpty)
        #expect(try read(["stats", r.path]).contains("(3 wait calls; \(restarted.count) interrupted by a signal and restarted by the kernel " +
            "(\(restarts) restart\(restarts == 1 ? "" : "s")), 1 ended with EINTR)"))
        #expect(try read(["tree", r.path]).contains("restarted after") == !restarted.isEmpty)
        #expect(try read(["analyze", r.path]).contains("wait_restarted") == !restarted.isEmpty)
        let page = try ViewerTests.page(r.path)
        let shown = try ViewerTests.open(page, "pid=\(r.root.pid)")
        #expect(shown.details.contains("→ EINTR after"), "no restart note on the EINTR: \(shown.details)")
    }
}
