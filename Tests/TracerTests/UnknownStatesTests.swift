import Foundation
import Lifecycle
import Testing
@testable import Tracer

/// A scheduler source that stops (its events turned off, its instance removed, its ring
/// buffers overrun) on real runs: the trace says from when and for which tasks the states
/// are unknown, counts the loss, and every view shows those stretches as unknown.
@Suite(.serialized, .timeLimit(.minutes(4)), .enabled(if: SchedSource.isPermitted()))
struct UnknownStatesTests {
    static let tracefs = "/sys/kernel/tracing"

    // MARK: a flood that overruns the rings

    @Test func aFloodThatOverrunsTheRingsIsUnknownFromEachLossForEveryTrackedTask() throws {
        // 4 pairs bouncing a byte through pipes, with rings of 8 KB per CPU (two pages): the
        // reader cannot keep up and the kernel overwrites what it has not read.
        let r = try Harness.record(Harness.c("pingpong", "4", "300"), env: ["PROCTRACE_SCHED_BUFFER_KB": "8"], expectLoss: true)
        try checkFlood(r)
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare")))
    func aFloodRecordedInAPidNamespaceStopsTheFeedAtTheFirstLoss() throws {
        // The recorder in a container: the kernel's tids are paired with the namespace's by
        // the order of fork events, which a loss may have taken; so the first loss stops the
        // feed (seen before: events of a reaped pid, two tasks named by one tid).
        let r = try Harness.record(Harness.c("pingpong", "4", "300"), wrapper: ["/usr/bin/unshare", "--pid", "--fork", "--mount-proc"],
                                   env: ["PROCTRACE_SCHED_BUFFER_KB": "8"], expectLoss: true)
        #expect(r.history.states == .sched)
        #expect(r.root.pid < 100, "not recorded in its own pid namespace: root \(r.root.pid)")
        let pids = Set(r.history.processes.map(\.pid))
        let unknowns = r.objects("unknown")
        #expect(unknowns.allSatisfy { pids.contains($0["pid"] as? Int ?? -1) })
        #expect(unknowns.allSatisfy { ($0["reason"] as? String)?.contains("in a pid namespace tids cannot be paired after a loss") == true })
        #expect(r.stderr.contains("proctrace: scheduler states stopped ("))
        let first = try #require(unknowns.compactMap { $0["t"] as? Int }.min())
        #expect(r.objects("state").allSatisfy { ($0["t"] as? Int ?? 0) <= first }, "state events after the feed stopped")
        try checkFlood(r)
    }

    @Test func aRecordingBesideATracedFloodLosesNothing() throws {
        // Another recording of a flood runs meanwhile (its own rings overrun, and it makes
        // starting slow). This one's kernel filter holds from its instance's creation, so the
        // flood is never recorded here: nothing lost, no unknown. (With an empty filter until
        // the root was followed, 1 run in 4 lost ~227,000 events this way.)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("proctrace-unknown-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let flood = Process()
        flood.executableURL = URL(fileURLWithPath: Harness.binary)
        flood.arguments = ["record", "-o", dir.appendingPathComponent("\(UUID().uuidString).jsonl").path, "--"] + Harness.c("pingpong", "4", "2500")
        flood.standardOutput = FileHandle.nullDevice
        flood.standardError = FileHandle.nullDevice
        try flood.run()
        defer { if flood.isRunning { kill(flood.processIdentifier, SIGKILL) }; flood.waitUntilExit() }
        usleep(300_000)
        for _ in 0..<3 {
            let r = try Harness.record(Harness.py("mp_value_array.py"))
            #expect(r.objects("unknown").isEmpty)
        }
    }

    /// The facts of a flood's trace (`pingpong 4 300` with 8 KB rings).
    private func checkFlood(_ r: Harness.Run) throws {
        #expect(r.exitCode == 0)
        let unknowns = r.objects("unknown")
        try #require(!unknowns.isEmpty, "no unknown event in a flood that lost \(r.history.end?.lost ?? 0) events")
        #expect(unknowns.allSatisfy { ($0["reason"] as? String)?.hasPrefix("ring buffer overrun on cpu ") == true })
        // Each loss covers every task alive then (those still unknown from an earlier loss
        // get no second event): none is shown in a known state across it.
        // (A task born after the loss has its event held until its birth line: the loss's
        // instant is the earliest t of its events.)
        let losses = Dictionary(grouping: unknowns) { $0["reason"] as? String ?? "" }
        for t in losses.values.map({ Int64($0.compactMap { $0["t"] as? Int }.min()!) }) {
            for p in r.history.processes where p.birth < t && (p.exitTime ?? .max) > t {
                #expect(p.stateIntervals.contains { $0.state == .unknown && $0.start <= t && $0.end >= t },
                        "\(p.pid) is not unknown across the loss at \(t)")
            }
        }
        // The model: unknown from each event until the task's next state or exit.
        let first = try #require(unknowns.first)
        let t = Int64(first["t"] as! Int), pid = first["pid"] as! Int
        let p = try #require(r.history.process(pid: pid, at: t))
        let iv = try #require(p.processStates().first { $0.start == t })
        #expect(iv.state == .unknown)
        let next = p.stateIntervals.first { $0.start >= iv.end }
        #expect(next == nil || iv.end == next!.start)
        try viewsShowUnknown(r, at: t + 1, pids: [pid])
    }

    // MARK: the instance stops recording mid-run

    @Test func eventsDisabledMidRunMakeEveryTaskUnknownFromTheLastGoodCheck() throws {
        var path = ""
        let r = try recordMeddling { instance, _ in
            path = try #require(instance)
            #expect(writeFile("\(path)/events/sched/sched_switch/enable", "0") == 0)
        }
        try checkStopped(r, reason: "sched_switch disabled in \(path)")
    }

    // In a pid namespace the kernel's tids are paired with the recorder's through fork events;
    // `late`, made after the last good check, is never paired: unknown from its birth all the
    // same, and counted (it used to have no state at all there, and no count).
    @Test func eventsDisabledMidRunInAPidNamespaceMakeEveryTaskUnknownToo() throws {
        var path = ""
        let r = try recordMeddling(namespaced: true) { instance, _ in
            path = try #require(instance)
            #expect(writeFile("\(path)/events/sched/sched_switch/enable", "0") == 0)
        }
        try checkStopped(r, reason: "sched_switch disabled in \(path)")
    }

    @Test func anInstanceRemovalMidRunMakesEveryTaskUnknown() throws {
        // What a remover does (the recorder's own detached cleanup, a stale-instance sweep):
        // turn every event off, then rmdir. This kernel refuses the rmdir while the recorder
        // still reads the instance (EBUSY), but the events are off either way.
        var rmdirErrno: Int32 = 0
        var path = ""
        let r = try recordMeddling { instance, _ in
            path = try #require(instance)
            #expect(writeFile("\(path)/events/enable", "0") == 0)
            rmdirErrno = rmdir(path) == 0 ? 0 : errno
        }
        // (The instance the recorder reads, found by its open files: never another's.)
        #expect(rmdirErrno == EBUSY, "rmdir of the recorder's own instance: \(String(cString: strerror(rmdirErrno)))")
        try checkStopped(r, reason: rmdirErrno == 0 ? "\(path) removed" : "disabled in \(path)")
    }

    // MARK: a sampler that stalls

    @Test func aSampledRecordingWhoseSamplerStallsIsUnknownForTheGap() throws {
        // The recorder is stopped (SIGSTOP) for 300 ms while the ping-pong goes on: no sample
        // is taken, and nothing says what the tasks did meanwhile.
        let r = try recordMeddling(flags: ["--states", "sampled"]) { _, recorder in
            #expect(kill(recorder, SIGSTOP) == 0)
            usleep(300_000)
            #expect(kill(recorder, SIGCONT) == 0)
        }
        #expect(r.history.states == .sampled)
        let kids = r.children(of: r.root)
        try #require(kids.count == 3)
        let stalled = [r.root.pid, kids[0].pid, kids[1].pid]
        let unknowns = r.objects("unknown")
        #expect(unknowns.allSatisfy { ($0["reason"] as? String)?.hasPrefix("state sampling stalled for ") == true }, "\(unknowns)")
        // The stop is one stall covering the three tasks alive then (a loaded machine can
        // stall the sampler at other times too: those are unknown as well).
        let byT = Dictionary(grouping: unknowns) { $0["t"] as? Int ?? -1 }
        let stop = byT.filter { Set($0.value.compactMap { $0["pid"] as? Int }).isSuperset(of: stalled) }.keys.min()
        let u = Int64(try #require(stop, "no stall covers \(stalled): \(unknowns)"))
        // The next sample says where each one is: a state event after the gap, from what it
        // implies (validate, run by the harness, checked every from).
        let resync = r.objects("state").filter { ($0["t"] as? Int ?? 0) > Int(u) && stalled.contains($0["pid"] as? Int ?? 0) }
        let back = try #require(resync.compactMap { $0["t"] as? Int }.min())
        #expect(kids[2].birth > u, "late was born after the stall")
        #expect(r.history.end!.lost >= 3)
        try viewsShowUnknown(r, at: (u + Int64(back)) / 2, pids: stalled)
    }

    /// A run of `pingpong 1 1500 GATE 200` (with `record` flags `flags`) whose recorder `meddle`
    /// disturbs — given its tracefs instance, if it has one, and its pid — while the root is
    /// blocked opening the gate; the gate is opened right after, and the root then forks `late`.
    /// The pair pauses 200 µs at each round trip: ~5,000 trips a second keep it running,
    /// blocking and waking, not the ~115,000 of a free pair, which overran even 8 MB rings
    /// before the meddling at a load of 17 (in a pid namespace that loss ends the feed first,
    /// and the test had nothing left to test: 2.1 s, "stopped (ring buffer overrun …)").
    private func recordMeddling(flags: [String] = [], namespaced: Bool = false,
                                _ meddle: (String?, Int32) throws -> Void) throws -> Harness.Run {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("proctrace-unknown-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let gate = dir.appendingPathComponent("gate-\(UUID().uuidString)").path
        #expect(mkfifo(gate, 0o600) == 0)
        defer { unlink(gate) }
        let out = dir.appendingPathComponent("\(UUID().uuidString).jsonl").path
        let p = Process()
        let record = [Harness.binary, "record", "-o", out, "--reap-timeout", "5"] + flags + ["--"] + Harness.c("pingpong", "1", "1500", gate, "200")
        // In a pid namespace of its own: `unshare` forks proctrace as the namespace's pid 1.
        let argv = namespaced ? ConcurrentRecordingTests.unshare + record : record
        p.executableURL = URL(fileURLWithPath: argv[0])
        p.arguments = Array(argv.dropFirst())
        let o = Pipe(), e = Pipe()
        p.standardOutput = o
        p.standardError = e
        p.standardInput = FileHandle.nullDevice
        // Rings of 8 MB per CPU: the pair's own flood must not overrun them on a loaded machine
        // (an overrun would be told too, but this test is about the source that stops).
        p.environment = ProcessInfo.processInfo.environment.merging(["PROCTRACE_SCHED_BUFFER_KB": "8192"]) { $1 }
        try p.run()
        nonisolated(unsafe) var outData = Data(), errData = Data()
        let group = DispatchGroup()
        group.enter(); DispatchQueue.global().async { outData = o.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.enter(); DispatchQueue.global().async { errData = e.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        var opened = false
        defer {
            // Whatever happened, let the root go so that the recording ends.
            if !opened { let fd = open(gate, O_WRONLY | O_NONBLOCK); if fd >= 0 { _ = write(fd, "g", 1); close(fd) } }
        }
        // `record` runs as the front (the pid started here) and the tracer, its child, which
        // records (and owns the tracefs instance).
        // (In a pid namespace `unshare` is the front: proctrace, the namespace's init, makes none.)
        let front = p.processIdentifier
        let recorder = try #require(poll { childPids(of: front).first }, "the tracer never started")
        // The recorder's child that runs pingpong: it may have another (the detached remover of
        // stale tracefs instances left by other recorders), whose pid can be lower.
        let root = try #require(poll { childPids(of: recorder).first { isPingpong($0) } }, "the workload never started")
        // The pair is forked and the root sleeps in open(GATE): the source has seen that.
        let atGate = poll { childPids(of: root).count == 2 && procState(root) == "S" ? true : nil }
        try #require(atGate == true, "the root never reached the gate")
        let instance = flags.contains("sampled") ? nil : poll { instanceOwned(by: recorder) }
        usleep(100_000)
        try meddle(instance, recorder)
        let fd = open(gate, O_WRONLY)
        #expect(fd >= 0)
        #expect(write(fd, "g", 1) == 1)
        close(fd)
        opened = true
        let deadline = Date().addingTimeInterval(60)
        while p.isRunning && Date() < deadline { usleep(10_000) }
        if p.isRunning { kill(front, SIGKILL); Issue.record("the recorder did not finish") }
        p.waitUntilExit()
        group.wait()
        let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        let lines = text.split(separator: "\n").map(String.init)
        let history = try ProcessHistory(path: out)
        try Harness.checkInvariants(history, lines: lines, path: out, expectLoss: true, sourceLocation: #_sourceLocation)
        return Harness.Run(history: history, path: out, exitCode: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                           stderr: String(decoding: errData, as: UTF8.self), lines: lines)
    }

    /// The facts of a run whose source stopped (for `reason`) while the root was blocked at the
    /// gate.
    ///
    /// The ring may also have overrun before the stop (a loaded machine starves the reader: seen
    /// in full test runs, where 2 of 4 had root, ping and pong unknown at 2 or 3 instants): a
    /// task made unknown by that loss and not seen since gets no second `unknown` at the stop,
    /// so the stop's own instant is checked on the stop's `unknown` lines, and every task is
    /// checked to be unknown across it whichever line made it so. And a starved reader's last
    /// good check can come before some birth lines: those tasks' lines are at their birth.
    private func checkStopped(_ r: Harness.Run, reason: String) throws {
        #expect(r.exitCode == 0)
        #expect(r.stderr.contains("proctrace: scheduler states stopped at "), "stderr: \(r.stderr)")
        let root = r.root
        let kids = r.children(of: root)
        try #require(kids.count == 3, "root, ping, pong and late expected")
        let late = kids[2]
        let unknowns = r.objects("unknown")
        let overruns = unknowns.filter { ($0["reason"] as? String)?.hasPrefix("ring buffer overrun on cpu ") == true }
        let stops = unknowns.filter { ($0["reason"] as? String)?.contains(reason) == true }
        #expect(stops.count + overruns.count == unknowns.count, "\(unknowns)")
        // One stop: the tasks it found known (root, ping and pong, unless a loss before it left
        // them unknown) are unknown from one instant…
        let early = stops.filter { $0["pid"] as? Int != late.pid }
        let earlyTimes = early.compactMap { $0["t"] as? Int }
        try #require(!earlyTimes.isEmpty || !overruns.isEmpty, "no unknown line for root, ping or pong: \(unknowns)")
        // The stop: the last health check that found the instance recording. Its lines are at
        // that instant, or at the birth line of a task born after it in the trace (nothing is
        // written before a birth line): a reader starved at a load of 16 had its last good check
        // 100 ms before the meddling, before ping's and pong's fork lines (2.9 ms apart).
        let u = Int64(earlyTimes.min() ?? stops.compactMap { $0["t"] as? Int }.min() ?? 0)
        for line in stops {
            let pid = line["pid"] as? Int ?? -1, t = Int64(line["t"] as? Int ?? -1)
            let birth = r.history.processes.first { $0.pid == pid }?.birth ?? .max
            #expect(t == max(u, birth), "the stop's line of \(pid) at \(t), not at the stop \(u) or its birth \(birth)")
        }
        let earlier = Set(overruns.filter { ($0["t"] as? Int ?? .max) < Int(u) }.compactMap { $0["pid"] as? Int })
        #expect(Set(early.compactMap { $0["pid"] as? Int }).union(earlier) == Set([root.pid, kids[0].pid, kids[1].pid]))
        if overruns.isEmpty {
            #expect(Set(early.compactMap { $0["pid"] as? Int }) == Set([root.pid, kids[0].pid, kids[1].pid]))
        }
        // …before late was born (the events were turned off before the gate was opened).
        #expect(u < late.birth)
        // Root, ping and pong are unknown across the stop (or from their birth line, if later),
        // whichever line made them so.
        for p in [root, kids[0], kids[1]] {
            let from = max(u, p.birth)
            #expect(p.stateIntervals.contains { $0.state == .unknown && $0.start <= from && $0.end >= from },
                    "\(p.pid) is not unknown across the stop at \(from)")
        }
        // late: unknown from its birth, and no state at all.
        let lateUnknown = stops.filter { $0["pid"] as? Int == late.pid }
        #expect(lateUnknown.count == 1 && (lateUnknown.first?["t"] as? Int).map { Int64($0) >= late.birth } == true)
        // Nothing is claimed after the stop: no state event past it, and no other loss.
        let after = r.objects("state").filter { ($0["t"] as? Int ?? 0) > Int(u) }
        #expect(after.isEmpty, "state events after the source stopped: \(after.prefix(3))")
        #expect(overruns.allSatisfy { ($0["t"] as? Int ?? .max) < Int(u) })
        // Every task alive then missed at least its exit: counted.
        #expect(r.history.end!.lost >= 4)
        // The lifecycle does not depend on the feed: root reaps ping, pong and late by its waits
        // and outlives them, so nobody is reparented. With waits read from the same instance
        // (`wait_source` "ring", on the host), the waits after the stop are not seen: each
        // release is seen through the child's pidfd (`seen`), and the unseen wait is counted
        // (they were taken for orphans gone to an unknown adopter: reparent to 0, reap by 0).
        #expect(r.objects("reparent").isEmpty, "\(r.objects("reparent"))")
        let reaps = r.objects("reap")
        for k in kids {
            let reap = reaps.filter { $0["pid"] as? Int == k.pid }
            #expect(reap.count == 1 && reap.first?["by"] as? Int == root.pid && reap.first?["how"] as? String == "wait", "\(reap)")
        }
        if r.objects("end").first?["wait_source"] as? String == "ring" {
            let seen = reaps.filter { $0["seen"] as? String == "pidfd" }
            #expect(Set(seen.compactMap { $0["pid"] as? Int }) == Set(kids.map(\.pid)), "\(reaps)")
            #expect(seen.allSatisfy { ($0["t"] as? Int ?? 0) > Int(u) })
            #expect(r.history.end!.lost >= 4 + 3)
            #expect(r.stderr.contains("waits read from that buffer may be missing"), "\(r.stderr)")
        } else {
            // With every wait stopped by ptrace, each reap has its wait.
            #expect(reaps.allSatisfy { $0["seen"] == nil })
            let ends = r.objects("wait").filter { $0["phase"] as? String == "end" }
            for k in kids { #expect(ends.contains { $0["result"] as? Int == k.pid && $0["pid"] as? Int == root.pid }) }
        }
        for p in [root] + kids {
            #expect(p.processStates().contains { $0.state == .unknown }, "\(p.pid)")
            #expect(!p.processStates().contains { $0.state != .unknown && $0.state != .terminated && $0.start >= max(u, p.birth) && $0.end > $0.start })
        }
        try viewsShowUnknown(r, at: (u + late.birth) / 2, pids: [root.pid, kids[0].pid, kids[1].pid])
    }

    // MARK: what every view says

    /// `stats`, `replay --at`, `tree`, the timeline and the Perfetto export all show the
    /// processes `pids` as unknown at `t`.
    private func viewsShowUnknown(_ r: Harness.Run, at t: Int64, pids: [Int]) throws {
        let bin = Harness.binary
        let (sc, stats, _) = try Harness.run([bin, "stats", r.path])
        #expect(sc == 0)
        #expect(stats.contains("States unknown: the state source stopped"))
        #expect(stats.split(separator: "\n").contains { $0.hasPrefix("  unknown ") })
        let (jc, json, _) = try Harness.run([bin, "stats", r.path, "--json"])
        #expect(jc == 0)
        let j = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let spans = (j["unknown_states"] as? [[String: Any]]) ?? []
        #expect(Set(pids).isSubset(of: Set(spans.compactMap { $0["pid"] as? Int })))

        let seconds = String(format: "%.9f", Double(t) / 1e9)
        let (rc, replay, rerr) = try Harness.run([bin, "replay", r.path, "--at", seconds])
        #expect(rc == 0, "\(rerr)")
        for pid in pids {
            #expect(replay.split(separator: "\n").contains { $0.contains("(\(pid)) unknown (state source stopped") },
                    "replay --at \(seconds):\n\(replay)")
        }

        let (tc, tree, _) = try Harness.run([bin, "tree", r.path])
        #expect(tc == 0)
        for pid in pids {
            #expect(tree.split(separator: "\n").contains { $0.contains("(\(pid))") && $0.contains("[states unknown from ") }, "tree:\n\(tree)")
        }

        let dot = r.path + ".dot"
        defer { unlink(dot) }
        let (dc, _, derr) = try Harness.run([bin, "render", r.path, "--timeline", "-f", "dot", "-o", dot])
        #expect(dc == 0, "\(derr)")
        let dotText = (try? String(contentsOfFile: dot, encoding: .utf8)) ?? ""
        #expect(dotText.contains("legend_unknown"))
        for pid in pids {
            #expect(dotText.contains("\(pid) state unknown ("), "no unknown band for \(pid)")
        }

        let pf = r.path + ".perfetto.json"
        defer { unlink(pf) }
        let (pc, _, perr) = try Harness.run([bin, "export", r.path, "--format", "perfetto", "-o", pf])
        #expect(pc == 0, "\(perr)")
        let pj = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: pf))) as? [String: Any]
        let slices = ((pj?["traceEvents"] as? [[String: Any]]) ?? []).filter { $0["name"] as? String == "state unknown" }
        for pid in pids {
            let ts = Double(t) / 1000
            #expect(slices.contains { $0["pid"] as? Int == pid && ($0["ts"] as? Double ?? .infinity) <= ts
                && ($0["ts"] as! Double) + ($0["dur"] as? Double ?? 0) >= ts }, "no unknown slice of \(pid) over \(ts) µs")
        }
    }
}

// MARK: helpers

/// Calls `f` every 10 ms until it returns a value, for at most 10 s.
private func poll<T>(_ f: () -> T?) -> T? {
    for _ in 0..<1000 {
        if let v = f() { return v }
        usleep(10_000)
    }
    return nil
}

/// The children of every thread of `pid` (`/proc/PID/task/TID/children`).
private func childPids(of pid: Int32) -> [Int32] {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
    return tasks.flatMap { tid in
        ((try? String(contentsOfFile: "/proc/\(pid)/task/\(tid)/children", encoding: .utf8)) ?? "")
            .split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }.sorted()
}

/// Whether `pid` runs the pingpong workload (its `/proc/PID/cmdline` names it).
private func isPingpong(_ pid: Int32) -> Bool {
    guard let d = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
    return d.split(separator: 0).first.map { String(decoding: $0, as: UTF8.self).hasSuffix("/pingpong") } ?? false
}

/// The state letter of `/proc/PID/stat`.
private func procState(_ pid: Int32) -> String? {
    guard let s = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = s.lastIndex(of: ")") else { return nil }
    return s[s.index(after: close)...].split(separator: " ").first.map(String.init)
}

/// The tracefs instance the recorder `pid` reads: the one whose files it holds open (its rings'
/// `trace_pipe_raw`, its health checks' `enable` files), wherever it runs and whatever the
/// instance is named. Not by a name built from its pid: an instance left behind by an earlier
/// process with that pid (pids wrap at 32768 on the host; a fresh pid namespace reuses an old
/// one's inode and hands out the same pids) would be taken for it, and nothing the test did
/// would reach the recording.
private func instanceOwned(by pid: Int32) -> String? {
    let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
    for fd in fds.sorted() {
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)"),
              let r = target.range(of: "/instances/"), let name = target[r.upperBound...].split(separator: "/").first,
              target.hasSuffix("/trace_pipe_raw") else { continue }
        return String(target[..<r.upperBound]) + name
    }
    return nil
}

/// Writes `text` to a (tracefs) file; returns 0 or the errno.
private func writeFile(_ path: String, _ text: String) -> Int32 {
    let fd = open(path, O_WRONLY | O_TRUNC)
    guard fd >= 0 else { return errno }
    defer { close(fd) }
    return text.withCString { write(fd, $0, strlen($0)) } < 0 ? errno : 0
}
