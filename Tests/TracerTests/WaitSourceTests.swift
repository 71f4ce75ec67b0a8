import Foundation
import Lifecycle
import Testing

/// Where `record` reads wait4 calls from: the scheduler's ring (`--wait-source ring`, no stop)
/// or ptrace (two stops per call). Each workload is recorded both ways and must give the same
/// facts; what only one way can tell is said where it differs.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct WaitSourceTests {
    static let sources = WaitPath.available

    /// The number a program printed (its first capture).
    private func number(_ text: String, _ pattern: Regex<(Substring, Substring)>) throws -> Int {
        let m = try #require(text.firstMatch(of: pattern), "\(pattern) not in:\n\(text)")
        return try #require(Int(m.1))
    }

    @Test(arguments: sources)
    func aHandledSignalWithSARestartLeavesOneWait(_ path: WaitPath) throws {
        let r = try Harness.record(Harness.c("wait_signal", "restart"), flags: path.flags)
        #expect(r.stdout.contains("restart: slow 7 poker 0"))
        path.expectSource(r)
        let kids = r.children(of: r.root)
        let (slow, poker) = (try #require(kids.first), try #require(kids.last))
        let slowWaits = r.root.waits.filter { $0.target == slow.pid }
        // Interrupted by SIGUSR1 (and under ptrace by poker's SIGCHLD), restarted by the kernel:
        // one wait.
        #expect(slowWaits.count == 1)
        let w = try #require(slowWaits.first)
        let usr1 = try #require(r.root.signals.first { $0.sig == "SIGUSR1" })
        #expect(usr1.from == poker.pid)
        #expect(w.begin < usr1.t && usr1.t < w.end!)
        #expect(w.result == .pid(slow.pid) && w.status == .exited(7))
        #expect(slow.reapedBy == r.root.pid && slow.reapHow == .wait && slow.reapTime == w.end)
        // The end says when a signal interrupted the call and the kernel restarted it: the
        // SIGUSR1 first (its delivery is recorded just after the interruption).
        let end = try #require(r.objects("wait").first { $0["phase"] as? String == "end" && ($0["result"] as? Int) == slow.pid })
        let restarted = try #require(end["restarted"] as? [Int], "\(end)")
        #expect(!restarted.isEmpty && restarted.allSatisfy { Int64($0) > w.begin && Int64($0) < w.end! }, "\(restarted)")
        #expect(restarted.contains { Int64($0) <= usr1.t }, "\(restarted), SIGUSR1 at \(usr1.t)")
        let pw = try #require(r.root.waits.first { $0.target == poker.pid })
        #expect(pw.result == .pid(poker.pid) && pw.status == .exited(0) && poker.reapTime == pw.end)
    }

    @Test(arguments: sources)
    func aHandledSignalWithoutSARestartEndsTheWaitWithEINTR(_ path: WaitPath) throws {
        let r = try Harness.record(Harness.c("wait_signal", "norestart"), flags: path.flags)
        #expect(r.stdout.contains("norestart: EINTR, poker 0 slow 7"))
        path.expectSource(r)
        let kids = r.children(of: r.root)
        let (slow, poker) = (try #require(kids.first), try #require(kids.last))
        // waitpid(slow) -> EINTR, waitpid(poker) -> poker, waitpid(slow) -> slow: in this order.
        #expect(r.root.waits.map(\.target) == [slow.pid, poker.pid, slow.pid])
        #expect(r.root.waits.map(\.result) == [.error("EINTR"), .pid(poker.pid), .pid(slow.pid)])
        #expect(r.root.waits.map(\.status) == [nil, .exited(0), .exited(7)])
        let usr1 = try #require(r.root.signals.first { $0.sig == "SIGUSR1" })
        let first = r.root.waits[0]
        #expect(first.begin < usr1.t && usr1.t <= first.end!)
        #expect(slow.reapTime == r.root.waits[2].end && poker.reapTime == r.root.waits[1].end)
        #expect(slow.reapedBy == r.root.pid && poker.reapedBy == r.root.pid)
        // Not restarted: no `restarted` on the EINTR.
        let eintr = try #require(r.objects("wait").first { $0["phase"] as? String == "end" && $0["result"] as? String == "EINTR" })
        #expect(eintr["restarted"] == nil)
    }

    /// The EINTR idiom, `while (waitpid(slow, …) == -1 && errno == EINTR)`: the program calls
    /// again at once with the same arguments. That is a new call, not the kernel's restart: the
    /// interrupted wait ends with EINTR (on the ring at the signal's delivery to the handler, on
    /// ptrace at the handler's return) and a second wait begins. Before, both paths took the
    /// same arguments for a restart and hid the interruption in one wait.
    @Test(arguments: sources)
    func anEINTRRetriedWithTheSameArgumentsIsTwoWaits(_ path: WaitPath) throws {
        let r = try Harness.record(Harness.c("wait_signal", "retry"), flags: path.flags)
        #expect(r.stdout.contains("retry: EINTR 1, slow 7 poker 0"))
        path.expectSource(r)
        let kids = r.children(of: r.root)
        let (slow, poker) = (try #require(kids.first), try #require(kids.last))
        #expect(r.root.waits.map(\.target) == [slow.pid, slow.pid, poker.pid])
        #expect(r.root.waits.map(\.result) == [.error("EINTR"), .pid(slow.pid), .pid(poker.pid)])
        #expect(r.root.waits.map(\.status) == [nil, .exited(7), .exited(0)])
        let usr1 = try #require(r.root.signals.first { $0.sig == "SIGUSR1" })
        let (first, second) = (r.root.waits[0], r.root.waits[1])
        #expect(first.begin < usr1.t && usr1.t <= first.end!)
        #expect(first.end! <= second.begin)
        #expect(slow.reapTime == second.end && slow.reapedBy == r.root.pid)
        // The EINTR is not dressed up as a restart.
        let eintr = try #require(r.objects("wait").first { $0["phase"] as? String == "end" && $0["result"] as? String == "EINTR" })
        #expect(eintr["restarted"] == nil)
    }

    /// A handler that leaves by siglongjmp (`wait_longjmp`): the interrupted wait never returns
    /// to the program, not even as EINTR, and the kernel does not restart it (that needs the
    /// handler's rt_sigreturn). The program's next waitpid with the same arguments, from the same
    /// place, is a new call. Before, both paths took it for the kernel's restart: one wait with
    /// `restarted`, with and without SA_RESTART.
    @Test(arguments: sources, ["restart", "norestart"])
    func aHandlerThatLeavesByLongjmpAbandonsTheWait(_ path: WaitPath, _ mode: String) throws {
        let r = try Harness.record(Harness.c("wait_longjmp", mode), flags: path.flags)
        #expect(r.stdout.contains("longjmp: jumped 1, slow 7"))
        path.expectSource(r)
        let slow = try #require(r.children(of: r.root).first)
        #expect(r.root.waits.map(\.target) == [slow.pid, slow.pid])
        #expect(r.root.waits.map(\.result) == [.error("ERESTARTSYS"), .pid(slow.pid)])
        #expect(r.root.waits.map(\.status) == [nil, .exited(7)])
        let alarm = try #require(r.root.signals.first { $0.sig == "SIGALRM" })
        let (first, second) = (r.root.waits[0], r.root.waits[1])
        #expect(first.begin < alarm.t && alarm.t <= first.end!, "abandoned after the SIGALRM: \(first), SIGALRM at \(alarm.t)")
        #expect(first.end! <= second.begin && second.end! < slow.exitTime! + 50_000_000)
        #expect(slow.reapTime == second.end && slow.reapedBy == r.root.pid)
        // The end says so, and nothing says restarted.
        let ends = r.objects("wait").filter { $0["phase"] as? String == "end" }
        #expect(ends.first?["abandoned"] as? Bool == true, "\(ends)")
        #expect(ends.allSatisfy { $0["restarted"] == nil && $0["restart_unknown"] == nil }, "\(ends)")
        #expect(ends.last?["abandoned"] == nil)
    }

    /// subprocess and multiprocessing poll like this: on the ring path no poll stops the poller.
    @Test(arguments: sources)
    func aWNOHANGPollLoopIsEveryPollAndTheReapAtTheLast(_ path: WaitPath) throws {
        let r = try Harness.record(Harness.c("wnohang_poll"), flags: path.flags, env: ["PROCTRACE_RUSAGE": "1"])
        path.expectSource(r)
        let polls = try number(r.stdout, /polls (\d+), child 3/)
        let child = try #require(r.children(of: r.root).first)
        let waits = r.root.waits
        #expect(waits.count == polls)
        #expect(polls >= 6)
        #expect(waits.allSatisfy { $0.options == ["WNOHANG"] && $0.target == child.pid })
        #expect(waits.dropLast().allSatisfy { $0.result == .nothing && $0.status == nil })
        #expect(waits.last?.result == .pid(child.pid) && waits.last?.status == .exited(3))
        #expect(child.reapTime == waits.last?.end && child.reapedBy == r.root.pid)
        // Two stops per poll on ptrace; none on the ring (the fork, the child's first stop,
        // its exit and the SIGCHLD remain).
        let stops = try number(r.stderr, /ptrace stops (\d+)/)
        switch path {
        case .ring: #expect(stops < polls)
        case .ptrace: #expect(stops >= 2 * polls)
        }
    }

    @Test(arguments: sources)
    func aThreadThatReapsIsTheWaiter(_ path: WaitPath) throws {
        let r = try Harness.record(Harness.c("thread_reap"), flags: path.flags)
        #expect(r.stdout.contains("thread reaped child 5"))
        path.expectSource(r)
        let child = try #require(r.children(of: r.root).first)
        let w = try #require(r.root.waits.first)
        #expect(r.root.waits.count == 1)
        let waiter = try #require(w.tid)
        #expect(waiter != r.root.pid && r.root.threads.contains { $0.tid == waiter })
        #expect(w.result == .pid(child.pid) && w.status == .exited(5))
        #expect(child.reapedBy == r.root.pid && child.reapTime == w.end)
    }

    /// WUNTRACED and WCONTINUED keep their stops on the ring path: the stopped and continued
    /// statuses are read from the waiter's memory; the last, plain wait comes from the ring.
    /// `slow`: the root continues the child only after the child's own 0.2 s have passed, as a
    /// root slowed down by load did (this test failed once so, in a full run under load: the
    /// child exited at its SIGCONT and the WCONTINUED wait, which reports exits too, reaped it;
    /// the program failed and the trace, true, had two waits). The child now exits only after
    /// the root has seen it continued.
    @Test(arguments: sources, ["", "slow"])
    func stopAndContinueWaitsStayExact(_ path: WaitPath, _ mode: String) throws {
        let r = try Harness.record(Harness.c("stop_continue") + (mode.isEmpty ? [] : [mode]), flags: path.flags)
        #expect(r.exitCode == 0 && r.stdout.contains("continued\nexited 0"), "the program: \(r.exitCode) \(r.stdout) \(r.stderr)")
        path.expectSource(r)
        let child = try #require(r.children(of: r.root).first)
        #expect(r.root.waits.map(\.options) == [["WUNTRACED"], ["WCONTINUED"], []])
        #expect(r.root.waits.map(\.status) == [.stopped("SIGSTOP"), .continued, .exited(0)])
        #expect(r.root.waits.allSatisfy { $0.result == .pid(child.pid) })
        #expect(child.reapTime == r.root.waits.last?.end && child.reapedBy == r.root.pid)
    }

    /// The kernel hands a reaped pid to the next child at once (ns_last_pid): the new child's
    /// fork is seen before the ring's reap of the old one is applied, which must come first.
    @Test(arguments: sources)
    func aPidReusedRightAfterItsReapIsTwoLives(_ path: WaitPath) throws {
        let n = 20
        // (A pid reused this fast sometimes costs scheduler states, on either path: the merger
        // drops a few it cannot place, counted in `lost`. Waits, exits and reaps lose nothing.)
        let r = try Harness.record(Harness.c("pid_reuse_now", String(n)), flags: path.flags, lossAllowed: true)
        #expect(!r.stderr.contains("lifecycle events"), "\(r.stderr)")
        path.expectSource(r)
        let reused = try number(r.stdout, /reused (\d+) of 20/)
        #expect(reused > 0, "no pid was reused: the test saw nothing of what it is for")
        let kids = r.children(of: r.root)
        #expect(kids.count == 2 * n)
        for (i, k) in kids.enumerated() {
            let round = i / 2
            #expect(k.exitStatus == .exited(round % 100 + (i % 2 == 1 ? 100 : 0)))
            #expect(k.reapHow == .wait && k.reapedBy == r.root.pid)
            let w = try #require(r.root.waits.first { $0.end == k.reapTime && $0.result == .pid(k.pid) })
            #expect(w.status == k.exitStatus)
            // Reaped before the next child was born (it may have this very pid).
            if i + 1 < kids.count { #expect(k.reapTime! < kids[i + 1].birth) }
        }
        let lives = Dictionary(grouping: kids, by: \.pid).values.filter { $0.count > 1 }.count
        #expect(lives == reused)
    }

    /// A child the workload ptraces itself (made with CLONE_UNTRACED, so not followed): its
    /// ptrace stop is reported by a wait4 without WUNTRACED. The ring gives the result, not the
    /// status word: the status is left out and marked unknown, never invented. (ptrace reads it
    /// from the waiter's memory.)
    @Test(arguments: sources)
    func aChildTheWorkloadTracesGetsNoInventedStatus(_ path: WaitPath) throws {
        // The child's scheduler states are never placed (no fork line for it): counted lost.
        let r = try Harness.record(Harness.c("self_trace"), flags: path.flags, expectLoss: true)
        #expect(r.stdout.contains("stopped 19, exited 9"))
        path.expectSource(r)
        #expect(r.history.processes.count == 1)
        let waits = r.root.waits
        #expect(waits.count == 2)
        let child = try #require(waits.first?.target)
        #expect(waits.allSatisfy { $0.result == .pid(child) })
        let ends = r.objects("wait").filter { $0["phase"] as? String == "end" }
        switch path {
        case .ring:
            #expect(waits.allSatisfy { $0.status == nil })
            #expect(ends.allSatisfy { $0["status_unknown"] as? Bool == true && $0["status"] == nil })
        case .ptrace:
            #expect(waits.map(\.status) == [.stopped("SIGSTOP"), .exited(9)])
            #expect(ends.allSatisfy { $0["status_unknown"] == nil })
        }
    }

    /// The spawn loop's children cost 6 stops each on the ring path (vfork event, first stop,
    /// execve's seccomp stop, exec event, exit, SIGCHLD), 10 on ptrace (+ two wait4 calls of two
    /// stops each).
    @Test(arguments: sources)
    func theSpawnLoopsWaitsCostNoStopOnTheRing(_ path: WaitPath) throws {
        let n = 200
        let r = try Harness.record(["/bin/sh", Harness.workloads.appendingPathComponent("spawn_loop.sh").path, String(n)],
                                   flags: path.flags, env: ["PROCTRACE_RUSAGE": "1"])
        path.expectSource(r)
        // The root, the child running seq, and n children, each reaped by wait4(-1, 0) then
        // followed by wait4(-1, WNOHANG) -> ECHILD.
        #expect(r.history.processes.count == n + 2)
        #expect(r.root.waits.count == 2 * (n + 1))
        #expect(r.children(of: r.root).allSatisfy { $0.reapedBy == r.root.pid && $0.reapHow == .wait })
        let stops = try number(r.stderr, /ptrace stops (\d+)/)
        switch path {
        case .ring: #expect(stops <= 6 * n + 30)
        case .ptrace: #expect(stops >= 10 * n)
        }
    }
}
