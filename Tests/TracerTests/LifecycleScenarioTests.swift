import Foundation
import Lifecycle
import Testing

/// The tutorial's scenarios, recorded for real under ptrace. Serialized: each test runs a
/// tracer, and together they would only measure each other.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct LifecycleScenarioTests {
    /// On both wait paths (`--wait-source`).
    @Test(arguments: WaitPath.available) func waitWithStatusReportsEachChildsExitAndReapsIt(_ path: WaitPath) throws {
        let r = try Harness.record(Harness.py("wait_status.py"), flags: path.flags)
        #expect(r.exitCode == 0)
        let kids = r.children(of: r.root)
        #expect(kids.map(\.exitStatus) == [.exited(1), .exited(3)])
        for k in kids {
            #expect(k.reapHow == .wait)
            #expect(k.reapedBy == r.root.pid)
            #expect(k.via == .fork)
        }
        let ends = r.root.waits.filter { $0.end != nil && $0.result != nil }
        #expect(ends.map(\.status) == [.exited(1), .exited(3)])
        #expect(ends.map(\.call) == [.wait4, .wait4])
        #expect(ends.map(\.result) == kids.map { .pid($0.pid) })
        // The reap happens at the wait's return.
        for (w, k) in zip(ends, kids) { #expect(w.end == k.reapTime) }
        // The root itself is reaped by proctrace.
        #expect(r.root.reapHow == .wait)
        #expect(r.root.reapedBy == r.history.tracerPid)
    }

    @Test func forkWithoutWaitLeavesAZombieUntilTheParentDies() throws {
        let r = try Harness.record(Harness.py("zombie.py"))
        let child = try #require(r.children(of: r.root).first)
        #expect(child.exitStatus == .exited(0))
        #expect(r.root.waits.isEmpty)
        // A zombie for the ~0.5 s the parent sleeps, then handed to pid 1, which reaps it.
        let zombie = try #require(child.zombieDuration)
        #expect(zombie >= 400_000_000)
        #expect(child.reparents.count == 1)
        #expect(child.reparents.first?.from == r.root.pid)
        #expect(child.reparents.first?.to == 1)
        #expect(child.reparents.first?.t == r.root.exitTime)
        #expect(child.reapHow == .adopted)
        #expect(child.reapedBy == 1)
        #expect(try #require(child.reapTime) >= r.root.exitTime!)
    }

    /// A pid 1 that reaps at once (a shell here; make in `unshare --pid --fork --mount-proc make
    /// test`): the orphaned zombie is gone before proctrace can read its new parent from /proc.
    /// The adopter is still named, not 0: the kernel gives an orphan to its namespace's init when
    /// no subreaper is between, which the probe orphan measures (`seen: probe`); that is pid 1,
    /// the shell, which reaped it at the parent's death. Before, the trace said 0 (unknown).
    @Test func anOrphanReapedAtOnceByAFastInitIsStillNamed() throws {
        let wrapper = ["/usr/bin/unshare", "--pid", "--fork", "--mount-proc", "/bin/sh", "-c", "\"$@\"; exit $?", "sh"]
        let r = try Harness.record(Harness.py("zombie.py"), wrapper: wrapper)
        let child = try #require(r.children(of: r.root).first)
        #expect(child.exitStatus == .exited(0))
        #expect(child.reparents.map(\.from) == [r.root.pid] && child.reparents.map(\.to) == [1])
        #expect(child.reparents.first?.t == r.root.exitTime)
        #expect(child.reapHow == .adopted && child.reapedBy == 1)
        // The shell reaps at once, and then the new parent was measured, and the trace says how
        // (`seen: probe`). On a loaded machine proctrace can still find the zombie and read its
        // new parent from /proc first (seen in a full run under load, two `yes` loops and a second
        // recording): then the reparent is a plain one. Either way it names pid 1, never 0.
        let reparent = try #require(r.objects("reparent").first)
        #expect(reparent["seen"] == nil || reparent["seen"] as? String == "probe", "\(reparent)")
        #expect(reparent["to"] as? Int == 1, "\(reparent)")
    }

    /// On both wait paths (`--wait-source`).
    @Test(arguments: WaitPath.available) func doubleForkOrphansTheGrandchildToInit(_ path: WaitPath) throws {
        let r = try Harness.record(Harness.py("double_fork.py"), flags: path.flags)
        let child = try #require(r.children(of: r.root).first)
        let grandchild = try #require(r.children(of: child).first)
        #expect(child.exitStatus == .exited(0))
        #expect(child.reapHow == .wait && child.reapedBy == r.root.pid)
        #expect(grandchild.reparents.map(\.from) == [child.pid])
        #expect(grandchild.reparents.map(\.to) == [1])
        #expect(grandchild.reparents.first!.t >= child.exitTime!)
        #expect(grandchild.exitStatus == .exited(0))
        #expect(grandchild.reapHow == .adopted && grandchild.reapedBy == 1)
    }

    /// On both wait paths (`--wait-source`).
    @Test(arguments: WaitPath.available) func orphanIsReparentedWhileAlive(_ path: WaitPath) throws {
        let r = try Harness.record(Harness.py("orphan.py"), flags: path.flags)
        let child = try #require(r.children(of: r.root).first)
        let rep = try #require(child.reparents.first)
        #expect(rep.from == r.root.pid && rep.to == 1)
        // Reparented while still alive: its own exit comes later.
        #expect(rep.t < child.exitTime!)
        #expect(child.reapHow == .adopted)
        // proctrace kept following it after the root was gone.
        #expect(r.history.end!.t >= child.reapTime!)
    }

    /// On both wait paths (`--wait-source`).
    @Test(arguments: WaitPath.available) func ignoredSIGCHLDMeansTheKernelReaps(_ path: WaitPath) throws {
        let r = try Harness.record(Harness.py("sigchld_ignore.py"), flags: path.flags)
        let kids = r.children(of: r.root)
        #expect(kids.count == 3)
        #expect(kids.map(\.exitStatus) == [.exited(0), .exited(1), .exited(2)])
        for k in kids {
            #expect(k.reapHow == .auto)
            #expect(k.reapedBy == r.root.pid)
            #expect(k.zombieDuration == 0)
        }
        #expect(r.root.waits.last?.result == .error("ECHILD"))
    }

    /// On both wait paths (`--wait-source`).
    @Test(arguments: WaitPath.available) func saNoCldWaitAlsoAutoReaps(_ path: WaitPath) throws {
        let r = try Harness.record(Harness.c("sa_nocldwait"), flags: path.flags)
        let kids = r.children(of: r.root)
        #expect(kids.map(\.exitStatus) == [.exited(0), .exited(1)])
        #expect(kids.allSatisfy { $0.reapHow == .auto })
        #expect(r.root.waits.contains { $0.result == .error("ECHILD") })
    }

    /// On both wait paths (`--wait-source`).
    @Test(arguments: WaitPath.available) func subreaperAdoptsAndReapsTheGrandchild(_ path: WaitPath) throws {
        let r = try Harness.record(Harness.c("subreaper"), flags: path.flags)
        let middle = try #require(r.children(of: r.root).first)
        let grandchild = try #require(r.children(of: middle).first)
        #expect(grandchild.reparents.map(\.to) == [r.root.pid])
        #expect(grandchild.reparents.map(\.from) == [middle.pid])
        #expect(grandchild.reapHow == .wait)
        #expect(grandchild.reapedBy == r.root.pid)
        #expect(grandchild.exitStatus == .exited(5))
        #expect(r.root.waits.contains { $0.result == .pid(grandchild.pid) && $0.status == .exited(5) })
    }

    /// On both wait paths (`--wait-source`).
    @Test(arguments: WaitPath.available) func cloneParentMakesTheCreatorsParentTheRealParent(_ path: WaitPath) throws {
        let r = try Harness.record(Harness.c("clone_parent"), flags: path.flags)
        let forks = r.objects("fork")
        let sibling = try #require(forks.first { ($0["pid"] as? Int) != r.root.pid })
        let middle = try #require(sibling["pid"] as? Int)
        #expect(sibling["parent"] as? Int == r.root.pid)
        let sib = try #require(r.procs(sibling["child"] as! Int))
        #expect(sib.exitStatus == .exited(6))
        #expect(sib.reapedBy == r.root.pid)
        #expect(r.procs(middle)?.waits.contains { $0.result == .error("ECHILD") } == true)
    }

    @Test func vforkThenExec() throws {
        let r = try Harness.record(Harness.c("vfork_exec"))
        let child = try #require(r.children(of: r.root).first)
        #expect(child.via == .vfork)
        #expect(child.execs.map(\.path) == ["/bin/true"])
        #expect(child.execs.first?.elf?.machine != nil)
        #expect(child.reapHow == .wait)
    }

    @Test func nonLeaderThreadExecTakesTheLeadersPid() throws {
        let r = try Harness.record(Harness.c("thread_exec"))
        #expect(r.history.processes.count == 1)
        let execs = r.objects("exec")
        #expect(execs.count == 2)
        let second = try #require(execs.last)
        #expect(second["pid"] as? Int == r.root.pid)
        let former = try #require(second["former_tid"] as? Int)
        #expect(former != r.root.pid)
        #expect(r.objects("thread").contains { $0["tid"] as? Int == former && $0["phase"] as? String == "start" })
        #expect(r.root.exitStatus == .exited(0))
    }

    @Test func stoppedAndContinuedChildIsSeenByTheParentsWaits() throws {
        let r = try Harness.record(Harness.c("stop_continue"))
        let statuses = r.root.waits.compactMap(\.status)
        #expect(statuses == [.stopped("SIGSTOP"), .continued, .exited(0)])
        let child = try #require(r.children(of: r.root).first)
        #expect(child.signals.map(\.sig).starts(with: ["SIGSTOP", "SIGCONT"]))
        #expect(child.signals.first?.from == r.root.pid)
    }

    @Test func deathBySignal() throws {
        let r = try Harness.record(Harness.c("killed"))
        let kids = r.children(of: r.root)
        #expect(kids.map(\.exitStatus) == [.signaled("SIGKILL", core: false), .signaled("SIGSEGV", core: false), .signaled("SIGABRT", core: false)])
        #expect(kids.allSatisfy { $0.reapHow == .wait && $0.reapedBy == r.root.pid })
    }

    /// On both wait paths (`--wait-source`).
    @Test(arguments: WaitPath.available) func deepChainPropagatesStatuses(_ path: WaitPath) throws {
        let r = try Harness.record(Harness.c("deep_chain"), flags: path.flags)
        #expect(r.history.processes.count == 21)
        var p = r.root
        var depth = 0
        while let c = r.children(of: p).first {
            #expect(c.exitStatus == .exited(7))
            #expect(c.reapedBy == p.pid && c.reapHow == .wait)
            // Each level reaps its child and exits within ~0.1 ms: on the ring path the wait is
            // applied after the waiter's death was handled, when the child was already gone from
            // /proc. Still its parent's reap, never an orphan's.
            #expect(c.reparents.isEmpty)
            p = c
            depth += 1
        }
        #expect(depth == 20)
    }

    /// On both wait paths (`--wait-source`).
    @Test(arguments: WaitPath.available) func burstOfChildrenAllReapedWithTheirStatus(_ path: WaitPath) throws {
        let r = try Harness.record(Harness.c("burst"), flags: path.flags)
        let kids = r.children(of: r.root)
        #expect(kids.count == 50)
        for (i, k) in kids.enumerated() {
            #expect(k.exitStatus == .exited(i))
            #expect(k.reapHow == .wait && k.reapedBy == r.root.pid)
        }
        #expect(r.root.waits.last?.result == .error("ECHILD"))
    }

    @Test func waitidWithNoHangThenBlocking() throws {
        let r = try Harness.record(Harness.c("waitid"))
        let waits = r.root.waits
        #expect(waits.first?.call == .waitid)
        #expect(waits.first?.options.contains("WNOHANG") == true)
        #expect(waits.first?.result == .nothing)
        #expect(waits.last?.status == .exited(2))
    }

    @Test func sessionAndGroupChangesAreRecorded() throws {
        let r = try Harness.record(Harness.c("setsid"))
        let groups = r.objects("group")
        #expect(groups.contains { $0["call"] as? String == "setsid" && $0["sid"] as? Int == $0["pid"] as? Int })
        #expect(groups.contains { $0["call"] as? String == "setpgid" && $0["by"] as? Int == r.root.pid && $0["pid"] as? Int != r.root.pid })
        // setpgid leaves the session as it was: the root's, whatever the kernel calls it (0 on a
        // machine whose pid 1 never called setsid).
        let rootSid = try #require(r.objects("spawn").first?["sid"] as? Int)
        let setpgid = groups.filter { $0["call"] as? String == "setpgid" }
        #expect(setpgid.count == 2 && setpgid.allSatisfy { $0["sid"] as? Int == rootSid })
    }

    @Test func threadsStartAndEndInsideTheirProcess() throws {
        let r = try Harness.record(Harness.c("threads"))
        #expect(r.history.processes.count == 1)
        let threads = r.root.threads.filter { $0.tid != r.root.pid }
        #expect(threads.count == 3)
        #expect(threads.allSatisfy { $0.end != nil && $0.end! <= r.root.exitTime! })
    }

    @Test func aDaemonThatOutlivesTheRootIsFollowedToItsEnd() throws {
        let r = try Harness.record(Harness.c("daemon"))
        let daemon = try #require(r.history.processes.first { r.history.depth(of: $0.id) == 2 })
        #expect(daemon.exitTime! > r.root.exitTime!)
        #expect(daemon.reparents.map(\.to) == [1])
        #expect(daemon.reapHow == .adopted)
        #expect(r.objects("group").contains { $0["call"] as? String == "setsid" })
    }

    /// On both wait paths (`--wait-source`).
    @Test(arguments: WaitPath.available) func interruptedAndRestartedWaitIsOneWait(_ path: WaitPath) throws {
        let r = try Harness.record(Harness.c("eintr_wait"), flags: path.flags)
        let slow = try #require(r.children(of: r.root).first)
        let slowWaits = r.root.waits.filter { $0.target == slow.pid }
        #expect(slowWaits.count == 1)
        // The SIGUSR1 arrived while that wait was in progress.
        let usr1 = try #require(r.root.signals.first { $0.sig == "SIGUSR1" })
        #expect(usr1.t > slowWaits[0].begin && usr1.t < slowWaits[0].end!)
        #expect(slowWaits.first?.status == .exited(0))
        #expect(r.root.signals.contains { $0.sig == "SIGUSR1" })
    }

    @Test func multiprocessingPoolWorkersAreReapedByTheParent() throws {
        let r = try Harness.record(Harness.py("mp_pool.py"))
        let workers = r.children(of: r.root)
        #expect(workers.count == 2)
        #expect(workers.allSatisfy { $0.exitStatus == .exited(0) && $0.reapedBy == r.root.pid && $0.reapHow == .wait })
        #expect(r.root.threads.filter { $0.tid != r.root.pid }.count >= 3)
    }

    @Test(arguments: ["mp_process.py", "mp_pipe.py", "mp_queue.py", "mp_value_array.py", "mp_semaphore.py", "fork_basic.py", "fork_vars.py",
                      "getpid.py", "exit_status.py"])
    func tutorialScenarioIsComplete(_ name: String) throws {
        let r = try Harness.record(Harness.py(name))
        #expect(r.exitCode == 0)
        #expect(r.history.processes.count >= 2)
        #expect(r.root.exitStatus == .exited(0))
    }

    /// A real parallel build: make -j2 keeps at most two compiles in flight, reaps each with
    /// wait, links only after the last compile is reaped, then runs what it built.
    @Test func makeJ2KeepsTwoCompilesInFlightAndLinksAfterAll() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("proctrace-make_j-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: out) }
        let r = try Harness.record(["/usr/bin/make", "-s", "-j2", "-C", Harness.workloads.appendingPathComponent("make_j").path, "OUT=\(out)"])
        #expect(r.exitCode == 0 && r.stdout.contains("sum 15"), "\(r.stderr)")
        #expect(r.root.command == "make" && r.root.exitStatus == .exited(0))
        let kids = r.children(of: r.root)
        let gccs = kids.filter { $0.command == "gcc" }
        #expect(gccs.count == 7)
        for g in gccs {
            #expect(g.exitStatus == .exited(0) && g.reapHow == .wait && g.reapedBy == r.root.pid)
            // The driver runs the compiler proper or the linker under it, and reaps them.
            let tools = r.children(of: g)
            #expect(!tools.isEmpty && tools.allSatisfy { $0.reapedBy == g.pid && $0.exitStatus == .exited(0) })
        }
        let compiles = gccs.filter { $0.argv.contains("-c") }
        let link = try #require(gccs.first { !$0.argv.contains("-c") })
        #expect(compiles.count == 6)
        #expect(compiles.allSatisfy { r.children(of: $0).map(\.command).contains("cc1") })
        // -j2: never more than two compile drivers exist (alive or zombie) at once.
        var deltas: [(Int64, Int)] = []
        for c in compiles { deltas.append((c.birth, 1)); deltas.append((try #require(c.reapTime), -1)) }
        deltas.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        var inFlight = 0, most = 0
        for d in deltas { inFlight += d.1; most = max(most, inFlight) }
        #expect(most == 2, "at most \(most) compiles at once")
        // The link needs every object: it is forked after the last compile is reaped.
        let lastCompileReap = try #require(compiles.compactMap(\.reapTime).max())
        #expect(link.birth >= lastCompileReap)
        // Then make runs what it built, once the link is reaped.
        let prog = try #require(kids.first { $0.command == "prog" })
        #expect(prog.birth >= (link.reapTime ?? .max) && prog.exitStatus == .exited(0))
        #expect(kids.count == 8)
    }

    @Test func joblibWorkersAreTracedThroughTheirExec() throws {
        let r = try Harness.record(Harness.py("joblib_parallel.py"), timeout: 120)
        #expect(r.exitCode == 0)
        let execd = r.history.processes.filter { $0.pid != r.root.pid && !$0.execs.isEmpty }
        #expect(execd.count >= 2)
        #expect(execd.allSatisfy { $0.execs.last?.exe?.contains("python") == true })
    }

    @Test func grandchildrenRacingTheirForkEventsAreNeitherMissedNorInvented() throws {
        // Children of a non-root process usually stop before their creator's fork event
        // arrives; proctrace must hold them until it does.
        let burst = Harness.workloads.appendingPathComponent("bin/burst").path
        let r = try Harness.record(["/bin/sh", "-c", "\(burst) 200; exit 0"], flags: ["--states", "none"])
        let b = try #require(r.children(of: r.root).first { $0.execs.last?.path == burst })
        let kids = r.children(of: b)
        #expect(kids.count == 200)
        #expect(r.history.processes.count == 202)
        for (i, k) in kids.enumerated() {
            #expect(k.exitStatus == .exited(i % 256))
            #expect(k.reapedBy == b.pid && k.reapHow == .wait)
        }
    }
}
