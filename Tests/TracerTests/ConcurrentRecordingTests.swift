#if os(Linux)
@preconcurrency import Glibc
import Foundation
import Lifecycle
import Testing
@testable import Tracer

/// Recordings at the same time, on the host and in pid namespaces, each with its own tracefs
/// instance: none may turn off, share or remove another's (issue 8, item 1).
@Suite(.serialized, .timeLimit(.minutes(5)), .enabled(if: SchedSource.isPermitted() && EnvironmentTests.canUnshare))
struct ConcurrentRecordingTests {
    static let unshare = ["/usr/bin/unshare", "--pid", "--fork", "--mount-proc"]

    /// A shell loop spawning `n` short processes with a pause after each (`n` × 40 ms or more).
    static func loop(_ n: Int) -> [String] {
        ["/bin/sh", "-c", "for i in $(seq \(n)); do /bin/true; sleep 0.04; done"]
    }

    /// Starts recorder `first`, then `second` once the first trace holds a few forks (so the
    /// second starts, and sweeps stale instances, in the middle of the first recording), and
    /// returns both traces' lines after both have finished.
    static func recordTogether(first: (wrapper: [String], n: Int), second: (wrapper: [String], n: Int)) throws -> [(path: String, lines: [String])] {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("proctrace-concurrent-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        func start(_ wrapper: [String], _ n: Int, _ out: String) throws -> Process {
            let argv = wrapper + [Harness.binary, "record", "--force", "-o", out, "--"] + loop(n)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: argv[0])
            p.arguments = Array(argv.dropFirst())
            p.standardInput = FileHandle.nullDevice
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            return p
        }
        let outs = [dir.appendingPathComponent("a.jsonl").path, dir.appendingPathComponent("b.jsonl").path]
        let a = try start(first.wrapper, first.n, outs[0])
        var waited = 0
        while waited < 3000 {
            let text = (try? String(contentsOfFile: outs[0], encoding: .utf8)) ?? ""
            if text.components(separatedBy: "\"type\":\"fork\"").count > 4 || !a.isRunning { break }
            usleep(10_000); waited += 1
        }
        #expect(a.isRunning, "the first recording ended before the second started")
        let b = try start(second.wrapper, second.n, outs[1])
        for p in [a, b] {
            var ticks = 0
            while p.isRunning && ticks < 12_000 { usleep(10_000); ticks += 1 }
            if p.isRunning {
                kill(p.processIdentifier, SIGKILL)
                Issue.record("a recorder did not finish within 120 s")
            }
            p.waitUntilExit()
            #expect(p.terminationStatus == 0)
        }
        return try outs.map { ($0, try String(contentsOfFile: $0, encoding: .utf8).split(separator: "\n").map(String.init)) }
    }

    /// Every event kept: `lost` 0, valid, and every process's states cover its whole life.
    static func expectWhole(_ trace: (path: String, lines: [String]), forks: Int, _ what: String,
                            sourceLocation: SourceLocation = #_sourceLocation) throws {
        let h = try ProcessHistory(path: trace.path)
        try Harness.checkInvariants(h, lines: trace.lines, path: trace.path, sourceLocation: sourceLocation)
        #expect(h.states == .sched, "\(what): states \(h.states)", sourceLocation: sourceLocation)
        let report = StateCoverage.check(lines: trace.lines)
        // The shell, `seq`, then per round /bin/true and sleep.
        #expect(report.processes == 2 + 2 * forks, "\(what): \(report.processes) processes", sourceLocation: sourceLocation)
        #expect(report.problems.isEmpty, "\(what): \(report.problems.prefix(10))", sourceLocation: sourceLocation)
    }

    @Test func twoRecordingsOnTheHost() throws {
        let traces = try Self.recordTogether(first: ([], 30), second: ([], 10))
        try Self.expectWhole(traces[0], forks: 30, "first (host)")
        try Self.expectWhole(traces[1], forks: 10, "second (host)")
    }

    @Test func oneOnTheHostOneInAPidNamespace() throws {
        let traces = try Self.recordTogether(first: ([], 30), second: (Self.unshare, 10))
        try Self.expectWhole(traces[0], forks: 30, "host")
        try Self.expectWhole(traces[1], forks: 10, "namespace")
        // And the other way round: the host recorder's sweep spares the namespace's instance.
        let reversed = try Self.recordTogether(first: (Self.unshare, 30), second: ([], 10))
        try Self.expectWhole(reversed[0], forks: 30, "namespace, started first")
        try Self.expectWhole(reversed[1], forks: 10, "host, started second")
    }

    @Test func twoInSeparatePidNamespaces() throws {
        // Both recorders are pid 1 of their namespace.
        let traces = try Self.recordTogether(first: (Self.unshare, 30), second: (Self.unshare, 10))
        try Self.expectWhole(traces[0], forks: 30, "first namespace")
        try Self.expectWhole(traces[1], forks: 10, "second namespace")
    }

    // MARK: the sweep of stale instances

    /// Makes an instance named for `owner` with one event enabled; removes it when done.
    struct Instance {
        /// Far above the numbers this test process's own sources take.
        static let n = 900_001
        let path: String
        init(_ owner: InstanceOwner, root: String) throws {
            path = "\(root)/instances/\(owner.name(Self.n))"
            #expect(mkdir(path, 0o750) == 0, "mkdir \(path): errno \(errno)")
            #expect(SmallFile.write("\(path)/events/sched/sched_switch/enable", "1") == nil)
        }
        var enabled: Bool { SmallFile.text("\(path)/events/sched/sched_switch/enable")?.hasPrefix("1") == true }
        var exists: Bool { access(path, F_OK) == 0 }
        func remove() { if exists { _ = SmallFile.write("\(path)/events/enable", "0"); rmdir(path) } }
    }

    @Test func nameSaysNamespacePidAndStartTime() throws {
        let me = InstanceOwner.current()
        #expect(me.pid == Int(getpid()))
        #expect(me.pidNamespace == InstanceOwner.ownNamespace())
        #expect(me.startTime > 0)
        let name = me.name(7)
        #expect(name == "proctrace-ns\(me.pidNamespace)-pid\(getpid())-st\(me.startTime)-7")
        #expect(InstanceOwner(instanceName: name) == me)
        // Names of earlier versions (proctrace-PID-N) name no namespace: never judged.
        #expect(InstanceOwner(instanceName: "proctrace-1-1") == nil)
        #expect(me.liveness() == .alive)
    }

    /// A test's tag (`PROCTRACE_INSTANCE_TAG`) comes first in the name; the owner reads back the
    /// same, tagged or pooled; only letters and digits make a tag, so no tag can break the
    /// form or leave `instances/`.
    @Test func aTaggedNameStillSaysItsOwner() throws {
        let me = InstanceOwner.current()
        let name = me.name(3, pooled: true, tag: "t42x1")
        #expect(name == "proctrace-tagt42x1-pool-ns\(me.pidNamespace)-pid\(getpid())-st\(me.startTime)-3")
        #expect(InstanceOwner(instanceName: name) == me)
        #expect(InstanceOwner.tag(of: name) == "t42x1" && InstanceOwner.isPooled(name))
        #expect(InstanceOwner.tag(of: me.name(3, pooled: true)) == nil && InstanceOwner.isPooled(me.name(3, pooled: true)))
        #expect(InstanceOwner.tag(of: me.name(3, tag: "A")) == "A" && !InstanceOwner.isPooled(me.name(3, tag: "A")))
        for bad in ["", "a-b", "a/b", "..", String(repeating: "x", count: 33), "é"] { #expect(!InstanceOwner.isValidTag(bad), "\(bad)") }
        #expect(InstanceOwner(instanceName: "proctrace-taga-b-pool-ns1-pid1-st1-1") == nil)
        var o = SchedSource.Options()
        o.instanceTag = "../x"
        #expect(throws: SchedError.self) { try SchedSource(origin: monotonicNow(), options: o).start() }
    }

    @Test func aDeadRecordersInstanceInThisNamespaceIsSwept() throws {
        let root = try #require(SchedSource.tracefsRoot())
        let ns = try #require(InstanceOwner.ownNamespace())
        // A pid that was alive and is now gone (reaped before the sweep).
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/true")
        try p.run()
        p.waitUntilExit()
        let dead = try Instance(InstanceOwner(pidNamespace: ns, pid: Int(p.processIdentifier), startTime: 1), root: root)
        // This process's pid with another start time: the pid was reused, the owner is gone.
        let reused = try Instance(InstanceOwner(pidNamespace: ns, pid: Int(getpid()), startTime: InstanceOwner.current().startTime + 1), root: root)
        // This process itself: alive.
        let live = try Instance(InstanceOwner(pidNamespace: ns, pid: Int(getpid()), startTime: InstanceOwner.current().startTime), root: root)
        defer { for i in [dead, reused, live] { i.remove() } }
        let removed = SchedSource.removeStaleInstances(root: root)
        // (A recorder started meanwhile on this machine may have swept them first: also right.)
        for i in [dead, reused] {
            #expect(removed.contains(URL(fileURLWithPath: i.path).lastPathComponent) || !i.exists)
            #expect(eventuallyGone(i.path))
        }
        #expect(live.exists && live.enabled)
    }

    // From the host every namespace's processes are visible, so the owner must be proved
    // alive; from inside a pid namespace a sibling one is out of sight (`unknown`, left alone:
    // aRecorderInANamespaceLeavesTheHostsInstancesAlone).
    @Test(.enabled(if: InstanceOwner.ownNamespace() == InstanceOwner.initialNamespace,
                   "a sweep that can see other namespaces' processes runs only on the host"))
    func aLiveRecorderInAnotherNamespaceIsNotSwept() throws {
        let root = try #require(SchedSource.tracefsRoot())
        // A live process that is pid 1 of its own namespace, as a containerized recorder is.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.unshare[0])
        p.arguments = Array(Self.unshare.dropFirst()) + ["/bin/sleep", "60"]
        try p.run()
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) }; p.waitUntilExit() }
        var inner: Int?
        for _ in 0..<500 where inner == nil {
            inner = (SmallFile.text("/proc/\(p.processIdentifier)/task/\(p.processIdentifier)/children") ?? "")
                .split(separator: " ").first.flatMap { Int($0) }
            if inner == nil { usleep(10_000) }
        }
        let sleeper = try #require(inner)
        let ns = try #require(ProcFS.readlink("/proc/\(sleeper)/ns/pid").flatMap(InstanceOwner.inode))
        #expect(InstanceOwner.innermostPid("/proc/\(sleeper)") == 1)
        let owner = InstanceOwner(pidNamespace: ns, pid: 1, startTime: try #require(InstanceOwner.startTime(of: "\(sleeper)")))
        let foreign = try Instance(owner, root: root)
        defer { foreign.remove() }
        #expect(owner.liveness() == .alive)
        #expect(!SchedSource.removeStaleInstances(root: root).contains(owner.name(Instance.n)))
        #expect(foreign.exists && foreign.enabled)
        // Once that namespace is gone (its pid 1 killed), the host can prove it: swept.
        kill(Int32(sleeper), SIGKILL)
        p.waitUntilExit()
        #expect(owner.liveness() == .gone)
        #expect(SchedSource.removeStaleInstances(root: root).contains(owner.name(Instance.n)) || !foreign.exists)
        #expect(eventuallyGone(foreign.path))
    }

    @Test func aRecorderInANamespaceLeavesTheHostsInstancesAlone() throws {
        let root = try #require(SchedSource.tracefsRoot())
        // A host recording's instance as a container sees it (this process stands for the
        // recorder): its owner cannot be checked from inside, so it stays, and stays on. (A
        // dead host owner's instance stays too, but any host recorder running meanwhile on
        // this machine would rightly sweep it, so it is not asserted here.)
        let live = try Instance(InstanceOwner.current(), root: root)
        defer { live.remove() }
        let r = try Harness.record(["/bin/true"], wrapper: Self.unshare)
        #expect(r.history.states == .sched)
        #expect(live.exists && live.enabled)
    }
}
#endif
