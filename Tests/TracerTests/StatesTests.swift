import Foundation
import Lifecycle
import Testing
import Tracer

/// Process states from the kernel's scheduler events, recorded with real workloads.
@Suite(.serialized, .timeLimit(.minutes(3)), .enabled(if: SchedSource.isPermitted()))
struct StatesTests {
    @Test func parentIsBlockedInWaitFromItsCallUntilTheChildExits() throws {
        let r = try Harness.record(Harness.py("wait_status.py"))
        #expect(r.history.states == .sched)
        let kids = r.children(of: r.root)
        let waits = r.root.waits.filter { if case .pid = $0.result { return true } else { return false } }
        #expect(waits.count == 2)
        for (w, child) in zip(waits, kids) {
            let blocked = r.root.stateIntervals.filter { $0.state == .blocked && $0.why == "wait4" }
            // A wait4 block that starts inside the call and lasts until the child's exit.
            let covering = blocked.first { $0.start >= w.begin && $0.start < child.exitTime! }
            let b = try #require(covering, "no blocked(wait4) interval in the wait at \(w.begin)")
            // The kernel wakes the parent as the child dies; ptrace reports the exit a few
            // tens of microseconds later, when the tracer gets to run.
            #expect(b.end >= child.exitTime! - 1_000_000)
            #expect(b.end <= w.end! + 1_000_000)
            // The child sleeps ~50 ms before exiting: the parent sat blocked nearly all of it.
            #expect(child.exitTime! - b.start > 30_000_000)
        }
    }

    @Test func twoBusyProcessesOnOneCPUTakeTurns() throws {
        let r = try Harness.record(Harness.py("busy_pair.py"))
        let kids = r.children(of: r.root)
        #expect(kids.count == 2)
        for k in kids {
            let times = k.timeInStates()
            let ready = times[.ready] ?? 0, running = times[.running] ?? 0
            #expect(running > 50_000_000, "child \(k.pid) ran only \(running) ns")
            #expect(ready > 20_000_000, "child \(k.pid) was never kept waiting for the CPU: ready \(ready) ns")
            // Alternation: several separate ready periods, not one.
            #expect(k.stateIntervals.filter { $0.state == .ready && $0.duration > 1_000_000 }.count >= 3)
        }
    }

    @Test func sleepIsRunningThenBlockedThenReady() throws {
        let r = try Harness.record(["/bin/sleep", "0.2"])
        let ivs = r.root.stateIntervals
        let sleep = try #require(ivs.first { $0.state == .blocked && $0.duration > 150_000_000 })
        #expect(sleep.why?.contains("nanosleep") == true)
        let i = try #require(ivs.firstIndex(of: sleep))
        #expect(i > 0 && ivs[i - 1].state == .running)
        #expect(i + 1 < ivs.count && ivs[i + 1].state == .ready)
    }

    @Test(arguments: ["mp_pipe.py", "mp_queue.py", "mp_semaphore.py"])
    func ipcScenariosShowBlockedWaits(_ name: String) throws {
        let r = try Harness.record(Harness.py(name))
        let kids = r.children(of: r.root)
        // Someone waits on the pipe, the queue or the semaphore: a child blocked in a
        // read, poll or futex for a noticeable time.
        let ipcBlocks = kids.flatMap(\.stateIntervals).filter {
            $0.state == .blocked && $0.duration > 10_000_000 &&
                ["read", "poll", "ppoll", "select", "pselect6", "futex", "futex_wait", "epoll_wait"].contains($0.why ?? "")
        }
        #expect(!ipcBlocks.isEmpty, "no IPC blocking in \(name): \(Set(kids.flatMap(\.stateIntervals).compactMap(\.why)))")
        // And the parent is blocked in its joins' waits.
        #expect(r.root.stateIntervals.contains { $0.state == .blocked && $0.why == "wait4" })
    }

    @Test(arguments: ["wait_status.py", "mp_pool.py", "zombie.py", "mp_queue.py"])
    func stateTimeAddsUpToTheLifetime(_ name: String) throws {
        let r = try Harness.record(Harness.py(name))
        for p in r.history.processes {
            let ivs = p.processStates()
            let first = try #require(ivs.first), last = try #require(ivs.last)
            // A child starts new; the root may start blocked (it waits for the tracer's go
            // before its exec).
            #expect(first.state != .terminated)
            // A child is new, or already stopped at its first ptrace stop ("traced") by the
            // time its fork is reported.
            if p.pid != r.root.pid {
                #expect(first.state == .new || first.state == .ready || first.state == .running || first.why == "traced")
            }
            #expect(last.state == .terminated)
            // Each thread's own intervals never overlap.
            for tid in Set(p.stateIntervals.compactMap(\.tid)) {
                let mine = p.stateIntervals.filter { $0.tid == tid }.sorted { $0.start < $1.start }
                for (a, b) in zip(mine, mine.dropFirst()) { #expect(a.end <= b.start, "tid \(tid): \(a) overlaps \(b)") }
            }
            // Intervals tile [first, last] with no gap and no overlap.
            for (a, b) in zip(ivs, ivs.dropFirst()) { #expect(a.end == b.start) }
            let total = ivs.reduce(Int64(0)) { $0 + $1.duration }
            #expect(total == last.end - first.start)
            // The zombie time is the terminated state, up to the reap.
            #expect(last.end == p.reapTime!)
            // It starts when the kernel saw the task die, at or a little before the tracer
            // recorded the exit (later under load: the tracer must get a CPU first).
            if let exit = p.exitTime {
                #expect(last.start <= exit)
                #expect(exit - last.start < 100_000_000)
            }
        }
    }

    @Test func aJobControlStopIsNotTheTracersOwnStop() throws {
        let r = try Harness.record(Harness.c("stop_continue"))
        let child = try #require(r.children(of: r.root).first)
        let stop = child.stateIntervals.filter { $0.state == .blocked && $0.why == "stopped:SIGSTOP" }
        // The parent keeps it stopped ~0.1 s between its SIGSTOP and its SIGCONT.
        #expect((stop.map(\.duration).max() ?? 0) > 50_000_000)
        #expect(!child.stateIntervals.contains { $0.why == "traced" && $0.duration > 50_000_000 })
    }

    /// stopped_in_wait.py: the root is stopped (SIGSTOP … SIGCONT, 0.2 s) while it sits in
    /// waitpid(). The timeline draws that stretch as the stop it is, not as the wait call it
    /// interrupted (until 2026-11-30 it was light blue, "blocked in wait call", and a stopped
    /// process outside a wait red, "blocked"); the Perfetto export names it likewise.
    @Test func aStopInsideAWaitIsDrawnAndExportedAsAStop() throws {
        let r = try Harness.record(Harness.py("stopped_in_wait.py"))
        #expect(r.exitCode == 0)
        let pid = r.root.pid
        let stop = try #require(r.root.stateIntervals.filter { $0.state == .blocked && $0.why == "stopped:SIGSTOP" }
            .max { $0.duration < $1.duration })
        #expect(stop.duration > 150_000_000)
        let wait = try #require(r.root.waits.first)
        #expect(wait.begin < stop.start && (wait.end ?? 0) > stop.end)

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("stop-in-wait-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let svg = dir + "/t.svg", pf = dir + "/t.json"
        let (rc, _, err) = try Harness.run([Harness.binary, "render", r.path, "--timeline", "-f", "svg", "-o", svg])
        #expect(rc == 0, "\(err)")
        let text = try String(contentsOfFile: svg, encoding: .utf8)
        // Each band's tooltip names what it is drawn as; the stop's band is the stop's colour.
        let titles = text.components(separatedBy: "xlink:title=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
        let stopped = titles.filter { $0.hasPrefix("\(pid) stopped by signal (stopped:SIGSTOP)") }
        #expect(!stopped.isEmpty, "\(titles.filter { $0.hasPrefix("\(pid) ") })")
        #expect(!titles.contains { $0.hasPrefix("\(pid) blocked") && $0.contains("stopped:SIGSTOP") })
        let stopBox = text.components(separatedBy: "xlink:title=\"\(pid) stopped by signal (stopped:SIGSTOP)").dropFirst().first ?? ""
        #expect(stopBox.prefix(400).contains("fill=\"#a1887f\""))

        let (ec, _, eerr) = try Harness.run([Harness.binary, "export", r.path, "--format", "perfetto", "-o", pf])
        #expect(ec == 0, "\(eerr)")
        let o = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: pf))) as? [String: Any])
        let slices = (o["traceEvents"] as? [[String: Any]] ?? []).filter { $0["ph"] as? String == "X" && $0["pid"] as? Int == pid }
        let named = slices.filter { $0["name"] as? String == "stopped by signal" }
        let longest = named.compactMap { ($0["dur"] as? NSNumber)?.doubleValue }.max() ?? 0
        #expect(abs(longest - Double(stop.duration) / 1000) < 1, "\(named)")
        #expect(!slices.contains { $0["name"] as? String == "blocked" && ($0["args"] as? [String: Any])?["why"] as? String == "stopped:SIGSTOP" })
    }
}
