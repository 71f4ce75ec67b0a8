#if os(Linux)
@preconcurrency import Glibc
import Testing
import Lifecycle
import Synchronization
@testable import Tracer

/// Real workloads (no ptrace) under the kernel scheduler source.
@Suite(.serialized, .timeLimit(.minutes(1)), .enabled(if: SchedSource.isPermitted()))
struct SchedSourceTests {
    /// Runs the gated children, follows them, and returns all state events and the lost count.
    func record(_ argvs: [[String]], options: SchedSource.Options = .init(), failCalibration: Bool = false,
                clockMode: String = "local calibrated") throws -> (events: [TraceEvent], pids: [Int], lost: Int) {
        let origin = monotonicNow()
        // A tag of its own: it claims no instance (other checkouts' recordings on this machine
        // park theirs), and nothing claims its own, so its clock and its instance's end are its own.
        var options = options
        options.instanceTag = uniqueInstanceTag()
        let source = SchedSource(origin: origin, options: options)
        source.failCalibrationForTesting = failCalibration
        try source.start()
        #expect(!source.claimedInstance)
        #expect(source.clockMode == clockMode, "\(source.clockMode)")
        defer { source.cleanup() }
        let children = try argvs.map { try GatedChild($0) }
        for c in children { source.track(tid: Int(c.pid), pid: Int(c.pid), at: monotonicNow() - origin) }
        for c in children { c.release() }
        var events: [TraceEvent] = []
        for c in children { _ = c.wait() }
        events += source.take(upTo: .max)
        events += source.stop()
        // stop() hands the instance to a detached parker: removed after the grace time
        // (`parkMillis`), or up to 10 s later while another recording on the machine holds a
        // pooled instance (tracefs.c `busy_ms`), then the kernel takes ~0.1 s. Nothing else
        // claims it (its tag).
        let bound = Double(options.parkMillis) / 1000 + 10 + 2
        #expect(source.instancePath.map { eventuallyGone($0, seconds: bound) } ?? false, "instance removed")
        return (events, children.map { Int($0.pid) }, source.lost)
    }

    @Test("a sleep blocks for its duration, in clock_nanosleep, along a legal path")
    func sleepBlocks() throws {
        let (events, pids, lost) = try record([["/bin/sleep", "0.2"]])
        let s = steps(events, tid: pids[0])
        #expect(pathProblems(s) == [], "\(s)")
        #expect(lost == 0)
        // The long sleep: a running→blocked followed by blocked→ready about 0.2 s later.
        var longest: (Int64, String?) = (0, nil)
        for i in s.indices.dropFirst() where s[i - 1].to == .blocked && s[i].from == .blocked {
            let d = s[i].t - s[i - 1].t
            if d > longest.0 { longest = (d, s[i - 1].why) }
        }
        #expect(longest.0 > 190_000_000 && longest.0 < 300_000_000, "blocked \(longest.0) ns")
        #expect(longest.1 == "clock_nanosleep" || longest.1 == "nanosleep", "why \(String(describing: longest.1))")
        #expect(s.contains { $0.from == .blocked && $0.to == .ready })
        #expect(s.contains { $0.from == .ready && $0.to == .running })
        #expect(s.last?.to == .terminated)
    }

    @Test("when calibration fails the instance falls back to trace_clock=mono and times stay right",
          arguments: [false, true])
    func monoFallback(_ failCalibration: Bool) throws {
        var options = SchedSource.Options()
        options.monoTraceClock = !failCalibration
        let mode = failCalibration ? "mono (fallback: failed for testing)" : "mono"
        // A fresh instance (not pooled): a claimed one is on the mono clock already, nothing to calibrate.
        if failCalibration { options.parkMillis = 0 }
        let (events, pids, lost) = try record([["/bin/sleep", "0.1"]], options: options, failCalibration: failCalibration, clockMode: mode)
        let s = steps(events, tid: pids[0])
        #expect(pathProblems(s) == [], "\(s)")
        #expect(lost == 0)
        let longest = s.indices.dropFirst().filter { s[$0 - 1].to == .blocked }.map { s[$0].t - s[$0 - 1].t }.max() ?? 0
        #expect(longest > 95_000_000 && longest < 200_000_000, "blocked \(longest) ns")
    }

    @Test("two busy loops pinned to one CPU take turns: each has ready time", .hostPidNamespace)
    func pinnedBusyLoopsAlternate() throws {
        let busy = ["/usr/bin/taskset", "-c", "0", "/usr/bin/python3", "-c",
                    "import time\nwhile time.process_time() < 0.15: pass"]   // CPU time: holds on a loaded machine
        let (events, pids, lost) = try record([busy, busy])
        #expect(lost == 0)
        for pid in pids {
            let s = steps(events, tid: pid)
            #expect(pathProblems(s) == [], "\(pid): \(s.count) steps")
            let times = timeIn(s)
            let preemptions = s.filter { $0.from == .running && $0.to == .ready }.count
            #expect(preemptions >= 3, "pid \(pid) preempted \(preemptions) times")
            #expect((times[.ready] ?? 0) > 50_000_000, "pid \(pid) ready \(times[.ready] ?? 0) ns")
            #expect((times[.running] ?? 0) > 50_000_000, "pid \(pid) running \(times[.running] ?? 0) ns")
            print("pid \(pid): \(s.count) steps, \(preemptions) preemptions, times \(times)")
        }
    }

    @Test("a thread's states carry its process's pid and its own tid, along a legal path", .hostPidNamespace)
    func threadsAttributed() throws {
        let py = ["/usr/bin/python3", "-c",
                  "import threading, time\nt = threading.Thread(target=time.sleep, args=(0.05,))\nt.start(); t.join()"]
        let (events, pids, lost) = try record([py])
        #expect(lost == 0)
        var tids: Set<Int> = []
        for e in events { if case let .state(pid, tid?, _, _, _) = e.kind, pid == pids[0] { tids.insert(tid) } }
        let threads = tids.subtracting([pids[0]])
        #expect(threads.count >= 1, "thread tids \(threads)")
        for tid in tids { #expect(pathProblems(steps(events, tid: tid)) == [], "tid \(tid)") }
        // The thread slept about 50 ms in one go.
        let longest = threads.map { tid -> Int64 in
            let s = steps(events, tid: tid)
            return s.indices.dropFirst().filter { s[$0 - 1].to == .blocked }.map { s[$0].t - s[$0 - 1].t }.max() ?? 0
        }.max() ?? 0
        #expect(longest > 45_000_000 && longest < 150_000_000, "thread blocked \(longest) ns")
    }

    @Test("a task stopped by a tracer (strace) is blocked with why traced",
          .enabled(if: access("/usr/bin/strace", X_OK) == 0), .hostPidNamespace)
    func tracedStops() throws {
        let (events, _, lost) = try record([["/usr/bin/strace", "-f", "-o", "/dev/null", "/bin/true"]])
        #expect(lost == 0)
        let traced = events.filter { if case .state(_, _, .running, .blocked, "traced") = $0.kind { return true }; return false }
        #expect(traced.count >= 5, "\(traced.count) traced stops")
    }

    @Test("a shell's child is followed from its fork (new→ready at wakeup_new) while the shell blocks in wait4", .hostPidNamespace)
    func childFollowedParentWaits() throws {
        let (events, pids, lost) = try record([["/bin/sh", "-c", "/bin/sleep 0.1; true"]])
        #expect(lost == 0)
        let sh = pids[0]
        var childPids: Set<Int> = []
        for e in events { if case let .state(pid, _, _, _, _) = e.kind, pid != sh { childPids.insert(pid) } }
        #expect(childPids.count == 1)
        if let child = childPids.first {
            let s = steps(events, tid: child)
            #expect(pathProblems(s) == [], "\(s)")
            #expect(s.first.map { $0.from == .new && $0.to == .ready } == true)
        }
        let shSteps = steps(events, tid: sh)
        // Without a tracer nobody notes the wait (the recorder does, from ptrace), and /proc
        // guesses of the wait family are not trusted: the shell's long block has no why.
        let waits = shSteps.indices.dropFirst().filter { shSteps[$0 - 1].to == .blocked && shSteps[$0 - 1].why == nil }
            .map { shSteps[$0].t - shSteps[$0 - 1].t }
        #expect((waits.max() ?? 0) > 95_000_000, "shell blocked \(waits) ns while its child ran")
    }

    @Test("1000 spawns lose nothing, and every child goes from new to terminated along a legal path", .hostPidNamespace)
    func spawnLoopComplete() throws {
        let loop = ["/bin/sh", "-c", "i=0; while [ $i -lt 1000 ]; do /bin/true; i=$((i+1)); done"]
        let (events, pids, lost) = try record([loop])
        #expect(lost == 0)
        var byTid: [Int: [StateStep]] = [:]
        for e in events {
            if case let .state(_, tid?, from, to, why) = e.kind { byTid[tid, default: []].append(StateStep(t: e.t, from: from, to: to, why: why)) }
        }
        let children = byTid.keys.filter { $0 != pids[0] }
        #expect(children.count == 1000)
        var bad = 0
        for tid in children where !pathProblems(byTid[tid]!).isEmpty { bad += 1 }
        #expect(bad == 0, "\(bad) children with an illegal path")
        #expect(pathProblems(byTid[pids[0]] ?? []) == [])
        #expect(events.map(\.t) == events.map(\.t).sorted())
    }

    @Test("a flood wakes the reader through the kernel's buffer_percent, long before its interval ends", .hostPidNamespace)
    func floodWakesTheReader() throws {
        var options = SchedSource.Options()
        // Longer than the run: only the kernel can wake the reader before stop().
        options.drainIntervalMicros = 60_000_000
        let origin = monotonicNow()
        let source = SchedSource(origin: origin, options: options)
        try source.start()
        defer { source.cleanup() }
        // Two pairs bouncing a byte for 0.5 s: ~100,000 events a second, several times what
        // one ring (1408 KB, ~35,000 events) holds.
        let child = try GatedChild(Harness.c("pingpong", "2", "500"))
        source.track(tid: Int(child.pid), pid: Int(child.pid), at: monotonicNow() - origin)
        child.release()
        #expect(child.wait() == 0)
        let woken = source.ringWakeUps
        // Given out before stop(): only a drain the kernel woke can have released these.
        let during = source.take(upTo: .max)
        let rest = source.stop()
        #expect(woken > 0, "the reader slept through the flood")
        #expect(during.count > 1000, "\(during.count) state events given out during the flood, \(rest.count) at stop")
    }

    @Test("a pass cut short by its page budget gives out only what is complete: events stay in time order")
    func drainCutKeepsTimeOrder() throws {
        var options = SchedSource.Options()
        // One page per CPU per pass: every pass of the flood leaves events in the rings.
        options.pagesPerCPUPerPass = 1
        let origin = monotonicNow()
        let source = SchedSource(origin: origin, options: options)
        source.keepFedEvents = true
        try source.start()
        defer { source.cleanup() }
        let child = try GatedChild(Harness.c("pingpong", "2", "300"))
        source.track(tid: Int(child.pid), pid: Int(child.pid), at: monotonicNow() - origin)
        child.release()
        #expect(child.wait() == 0)
        let events = source.take(upTo: .max) + source.stop()
        let fed = source.fedEvents.filter { if case .lost = $0.record { false } else { true } }
        #expect(fed.count > 10_000)
        let disorder = zip(fed, fed.dropFirst()).filter { $0.ts > $1.ts }.count
        #expect(disorder == 0, "\(disorder) events fed to the machine before an earlier one")
        #expect(events.map(\.t) == events.map(\.t).sorted())
    }

    @Test("exec from a non-leader thread: every tid's path stays legal and the process ends terminated", .hostPidNamespace)
    func nonLeaderExec() throws {
        let py = ["/usr/bin/python3", "-c",
                  "import threading, os, time\nthreading.Thread(target=lambda: os.execv('/bin/sleep', ['sleep', '0.05'])).start()\ntime.sleep(5)"]
        let (events, pids, lost) = try record([py])
        #expect(lost == 0)
        var tids: Set<Int> = []
        for e in events { if case let .state(pid, tid?, _, _, _) = e.kind, pid == pids[0] { tids.insert(tid) } }
        #expect(tids.count >= 2)
        for tid in tids { #expect(pathProblems(steps(events, tid: tid)) == [], "tid \(tid): \(steps(events, tid: tid).map { "\($0.from)>\($0.to)" })") }
        // The exec'd sleep's 50 ms, as the leader's id.
        let s = steps(events, tid: pids[0])
        let sleeps = s.indices.dropFirst().filter { s[$0 - 1].to == .blocked }.map { s[$0].t - s[$0 - 1].t }
        // On failure, every tid's path (µs), to tell which event ended the leader's id.
        let paths = tids.sorted().map { t in "\(t): " + steps(events, tid: t).map { "\($0.t / 1000) \($0.from)>\($0.to)" }.joined(separator: ", ") }
        #expect((sleeps.max() ?? 0) > 45_000_000, "leader \(pids[0]); \(paths.joined(separator: "; "))")
    }

    @Test("a stale instance of a dead proctrace is removed at start")
    func staleInstanceRemoved() throws {
        guard let root = SchedSource.tracefsRoot() else { return }
        // A pid that cannot be alive in this namespace: above pid_max.
        let name = InstanceOwner(pidNamespace: try #require(InstanceOwner.ownNamespace()), pid: 99_999_999, startTime: 1).name(1)
        let stale = "\(root)/instances/\(name)"
        #expect(mkdir(stale, 0o750) == 0)
        let removed = SchedSource.removeStaleInstances()
        // (Or a recorder started meanwhile on this machine swept it first.)
        #expect(removed.contains(name) || access(stale, F_OK) != 0)
        #expect(eventuallyGone(stale))
    }

    @Test("before the root is followed and after its last task ended, another program's flood does not enter the instance", .hostPidNamespace)
    func nothingRecordedBeforeTheRootOrAfterTheEnd() throws {
        let origin = monotonicNow()
        let source = SchedSource(origin: origin)
        try source.start()
        defer { source.cleanup() }
        // Another recording's workload, or any busy program on the machine: four pipe
        // ping-pong pairs for 0.4 s (hundreds of thousands of switches), not followed.
        func flood() throws {
            let (code, out, _) = try Harness.run(Harness.c("pingpong", "4", "400"), timeout: 30)
            #expect(code == 0)
            let hops = Int(out.split(separator: " ").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
            #expect(hops > 10_000, "the flood made only \(hops) hops")
        }
        try flood()
        #expect(source.eventsRead < 100, "before the root: \(source.eventsRead) events of untracked tasks were recorded")
        // A short workload, followed, ends and is reaped: the kernel drops it from the filter.
        let child = try GatedChild(["/bin/true"])
        source.track(tid: Int(child.pid), pid: Int(child.pid), at: monotonicNow() - origin)
        child.release()
        _ = child.wait()
        usleep(100_000)
        let afterWorkload = source.eventsRead
        try flood()
        let events = source.take(upTo: .max) + source.stop()
        // (Before the root, an instance whose filter was empty recorded every task and the
        // flood overran it; ~35,000 events fit per CPU.)
        #expect(source.eventsRead - afterWorkload < 100, "after the end: \(source.eventsRead - afterWorkload) events of untracked tasks were recorded")
        #expect(source.lost == 0)
        #expect(events.contains { if case .state(_, _, _, .terminated, _) = $0.kind { return true }; return false })
    }

    @Test("a why noted while the task is held, before it is let go, explains the sleep it then starts; ended before, it does not",
          arguments: [false, true])
    func aNotePostedBeforeTheTaskBlocksExplainsTheBlock(_ endedBefore: Bool) throws {
        let origin = monotonicNow()
        let source = SchedSource(origin: origin)
        try source.start()
        defer { source.cleanup() }
        let child = try GatedChild(["/bin/sleep", "0.2"])
        let tid = Int(child.pid)
        source.track(tid: tid, pid: tid, at: monotonicNow() - origin)
        // What the ptrace loop does at a stop: the note (and maybe its end), then the resume.
        // The note waits in the loop's inbox; the sleep's switch-out is read from the ring after
        // it was posted, and must be fed after it was applied.
        source.noteWhy(tid: tid, why: "noted-by-test", from: monotonicNow() - origin, to: nil)
        if endedBefore { source.endWhy(tid: tid, at: monotonicNow() - origin) }
        child.release()
        _ = child.wait()
        let events = source.take(upTo: .max) + source.stop()
        let s = steps(events, tid: tid)
        #expect(pathProblems(s) == [], "\(s)")
        var longest: (Int64, String?) = (0, nil)
        for i in s.indices.dropFirst() where s[i - 1].to == .blocked && s[i].from == .blocked {
            let d = s[i].t - s[i - 1].t
            if d > longest.0 { longest = (d, s[i - 1].why) }
        }
        #expect(longest.0 > 190_000_000, "blocked \(longest.0) ns")
        if endedBefore {
            #expect(longest.1 == "clock_nanosleep" || longest.1 == "nanosleep", "why \(String(describing: longest.1))")
        } else {
            #expect(longest.1 == "noted-by-test", "why \(String(describing: longest.1))")
        }
    }

    @Test("the ptrace loop's calls complete while the reader holds the machine's lock, and reach the machine after", .hostPidNamespace)
    func loopCallsDoNotWaitForTheMachine() throws {
        let origin = monotonicNow()
        let source = SchedSource(origin: origin)
        try source.start()
        defer { source.cleanup() }
        let path = try #require(source.instancePath)
        let root = try GatedChild(["/bin/true"]), made = try GatedChild(["/bin/true"]), other = try GatedChild(["/bin/true"])
        defer { for c in [root, made, other] { c.release(); _ = c.wait() } }
        source.track(tid: Int(root.pid), pid: Int(root.pid), at: monotonicNow() - origin)
        final class Flag: Sendable { let done = Atomic<Bool>(false) }
        let flag = Flag()
        var thread: WorkerThread?
        var finished = false
        // The test thread plays the reader in the middle of a batch: it holds `shared`.
        source.shared.withLock { _ in
            thread = WorkerThread.start("loop") {
                let t = monotonicNow() - origin
                // `made` is announced as a child of the followed root: in the kernel's list by
                // event-fork, so not written; `other` is an unrelated task: appended.
                source.forked(child: Int(made.pid), byThread: Int(root.pid))
                source.track(tid: Int(made.pid), pid: Int(made.pid), at: t)
                source.track(tid: Int(other.pid), pid: Int(other.pid), at: t)
                source.noteWhy(tid: Int(made.pid), why: "wait4", from: t, to: nil)
                source.endWhy(tid: Int(made.pid), at: t + 1)
                flag.done.store(true, ordering: .sequentiallyConsistent)
            }
            // Not a speed bound: a call that needed this lock would never finish while it is held.
            for _ in 0..<10_000 where !flag.done.load(ordering: .sequentiallyConsistent) { usleep(1000) }
            finished = flag.done.load(ordering: .sequentiallyConsistent)
        }
        thread?.join()
        #expect(finished, "a loop call waited for the machine's lock")
        #expect(source.state(of: Int(made.pid)) == .new, "the inbox's track reached the machine")
        #expect(source.state(of: Int(other.pid)) == .new)
        let list = Set((SmallFile.text("\(path)/set_event_pid") ?? "").split(whereSeparator: \.isWhitespace).map(String.init))
        #expect(list.contains("\(other.pid)"), "an unrelated task is written to the pid list: \(list)")
        #expect(!list.contains("\(made.pid)"), "a task made by a followed one is not written: \(list)")
    }

    @Test("cleanup is idempotent and removes the instance")
    func cleanupIdempotent() throws {
        let source = SchedSource(origin: monotonicNow())
        try source.start()
        let path = try #require(source.instancePath)
        #expect(access(path, F_OK) == 0)
        source.cleanup()
        source.cleanup()
        #expect(access(path, F_OK) != 0)
        #expect(source.stop() == [])
    }
}
#endif

/// Whether `path` is gone within `seconds`.
func eventuallyGone(_ path: String, seconds: Double = 5) -> Bool {
    let deadline = Double(monotonicNow()) / 1e9 + seconds
    while Double(monotonicNow()) / 1e9 < deadline {
        if access(path, F_OK) != 0 { return true }
        usleep(10_000)
    }
    return false
}
