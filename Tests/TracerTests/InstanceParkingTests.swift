#if os(Linux)
@preconcurrency import Glibc
import Foundation
import Lifecycle
import Synchronization
import Testing
@testable import Tracer

/// A recording that ends parks its tracefs instance, reset as fresh, for the next recording to
/// claim instead of making one (docs/states.md, "Parked instances"): what the next recording
/// gets must be exactly what a fresh instance gives it.
@Suite(.serialized, .timeLimit(.minutes(3)), .enabled(if: SchedSource.isPermitted()), .parkingPossible)
struct InstanceParkingTests {
    /// Waits (up to `seconds`) until `condition` holds; whether it did.
    static func eventually(_ seconds: Double = 10, _ condition: () -> Bool) -> Bool {
        let deadline = monotonicNow() + Int64(seconds * 1e9)
        while !condition() {
            if monotonicNow() > deadline { return false }
            usleep(5_000)
        }
        return true
    }

    /// The kernel's counters of one CPU's ring (`per_cpu/cpuN/stats`): "entries", "overrun", …
    static func stats(_ path: String, cpu: Int32) -> [String: Int] {
        var out: [String: Int] = [:]
        for line in (SmallFile.text("\(path)/per_cpu/cpu\(cpu)/stats") ?? "").split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, let v = Int(parts[1].trimmingCharacters(in: .whitespaces)) { out[String(parts[0])] = v }
        }
        return out
    }

    /// The tids named by a scheduler event (its current task and the tasks it is about).
    static func tids(_ e: SchedEvent) -> Set<Int32> {
        var s: Set<Int32> = [e.current]
        switch e.record {
        case let .switchTask(prev, _, next): s.formUnion([prev, next])
        case let .wakeup(tid, _, _): s.insert(tid)
        case let .fork(parent, child): s.formUnion([parent, child])
        case let .newTask(tid, _): s.insert(tid)
        case let .exit(tid, _): s.insert(tid)
        case let .exec(pid, oldPid): s.formUnion([pid, oldPid])
        case .lost, .waitEnter, .waitExit, .signalDeliver: break
        }
        return s
    }

    /// Options with a tag of this test's own: its sources claim only each other's parked
    /// instances, and no other recording on the machine (another checkout's tests) claims
    /// theirs, so every claim below is one the test made happen.
    static func tagged(_ tag: String, _ change: (inout SchedSource.Options) -> Void = { _ in }) -> SchedSource.Options {
        var o = SchedSource.Options()
        o.instanceTag = tag
        change(&o)
        return o
    }

    /// Recording A follows a flood that overruns its rings (its reader held off) and outlives
    /// it; the next recording claims A's parked instance and must see none of it: no event of
    /// A's still-running tasks, no loss, the kernel's counters at 0, its own sleeper whole.
    @Test(.hostPidNamespace)
    func theNextRecordingReusesTheParkedInstanceAndSeesNothingOfThePrevious() throws {
        let tag = uniqueInstanceTag()
        // Parked for up to 10 s: B claims it even on a loaded machine.
        var a: SchedSource? = SchedSource(origin: monotonicNow(), options: Self.tagged(tag) { $0.parkMillis = 10_000 })
        try a!.start()
        let pathA = try #require(a!.instancePath)
        #expect(InstanceOwner.isPooled(pathA.split(separator: "/").last.map(String.init) ?? ""))
        // Two ping-pong pairs for 1.5 s: ~300,000 switches a second, followed by A.
        let flood = try GatedChild(Harness.c("pingpong", "2", "1500"))
        a!.track(tid: Int(flood.pid), pid: Int(flood.pid), at: monotonicNow() - a!.origin)
        flood.release()
        // The reader held off for 0.4 s: the rings (1408 KB per CPU) overrun.
        a!.io.withLock { _ in _ = usleep(400_000) }
        _ = a!.take(upTo: .max) + a!.stop()
        let lostA = a!.lost
        #expect(lostA > 0, "the flood was meant to overrun A's rings")
        a = nil
        // The parker resets it (a grace period or two) and holds it parked.
        #expect(Self.eventually { InstanceLocks.isParked(pathA) }, "A's instance was not parked: \(pathA)")
        #expect(access("/proc/\(flood.pid)", F_OK) == 0, "the flood was meant to outlive A")

        let b = SchedSource(origin: monotonicNow(), options: Self.tagged(tag))
        b.keepFedEvents = true
        try b.start()
        defer { b.cleanup() }
        #expect(b.claimedInstance)
        #expect(b.instancePath == pathA, "B made \(b.instancePath ?? "-") instead of claiming \(pathA)")
        // As fresh: the kernel's loss counters start at 0 again, nothing is in the rings.
        for cpu in b.shared.withLock({ $0.cpus }) {
            let s = Self.stats(pathA, cpu: cpu)
            #expect(s["overrun"] == 0 && s["entries"] == 0 && s["dropped events"] ?? 0 == 0, "cpu\(cpu): \(s)")
        }
        // Its parker left it on the mono clock: B's start writes no calibration marker, and its
        // times need no conversion (the sleep below is timed by that clock).
        #expect(SmallFile.text("\(pathA)/trace_clock")?.contains("[mono]") == true)
        if b.instancePath == pathA { #expect(b.clockMode == "mono" && b.clock.pointCount == 0, "\(b.clockMode), \(b.clock.summary)") }
        let sleeper = try GatedChild(["/bin/sleep", "0.2"])
        let tid = Int(sleeper.pid)
        b.track(tid: tid, pid: tid, at: monotonicNow() - b.origin)
        #expect(SmallFile.text("\(pathA)/set_event_pid")?.split(separator: "\n") == ["\(tid)"])
        sleeper.release()
        _ = sleeper.wait()
        let events = b.take(upTo: .max) + b.stop()
        #expect(b.lost == 0)
        // Every event fed is about B's task (or raised by it): none of A's flood, still running.
        let foreign = b.fedEvents.filter { !Self.tids($0).contains(Int32(tid)) }
        #expect(foreign.isEmpty, "\(foreign.count) events not about \(tid), e.g. \(foreign.prefix(3))")
        let s = steps(events, tid: tid)
        #expect(s.first?.from == .new && s.last?.to == .terminated, "\(s)")
        #expect(pathProblems(s) == [], "\(s)")
        let longest = s.indices.dropFirst().filter { s[$0 - 1].to == .blocked }.map { s[$0].t - s[$0 - 1].t }.max() ?? 0
        #expect(longest > 190_000_000 && longest < 300_000_000, "blocked \(longest) ns")
        _ = flood.wait()
    }

    /// Three recordings started together while one instance of their tag is parked: each gets
    /// an instance of its own, exactly one of them the parked one; never a shared one.
    @Test func twoAtOnceGetTwoInstances() throws {
        let tag = uniqueInstanceTag()
        let first = SchedSource(origin: monotonicNow(), options: Self.tagged(tag) { $0.parkMillis = 10_000 })
        try first.start()
        let parked = try #require(first.instancePath)
        _ = first.stop()
        #expect(Self.eventually { InstanceLocks.isParked(parked) })
        let sources = (0..<3).map { _ in SchedSource(origin: monotonicNow(), options: Self.tagged(tag)) }
        let errors = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: sources.count) { i in
            do { try sources[i].start() } catch { errors.withLock { $0.append("\(error)") } }
        }
        defer { for s in sources { s.cleanup() } }
        #expect(errors.withLock { $0 }.isEmpty)
        let paths = sources.compactMap(\.instancePath)
        #expect(paths.count == 3 && Set(paths).count == 3, "\(paths)")
        // The parked one went to one of them, and only one claimed.
        #expect(paths.contains(parked), "\(parked) not claimed: \(paths)")
        #expect(sources.filter(\.claimedInstance).map(\.instancePath) == [parked])
    }

    /// Starts and stops a source (of a tag of its own: nothing else claims it) whose instance
    /// its parker holds 0.3 s: the instance's path, once parked.
    static func parkedInstance() throws -> String {
        let source = SchedSource(origin: monotonicNow(), options: tagged(uniqueInstanceTag()) { $0.parkMillis = 300 })
        try source.start()
        let path = try #require(source.instancePath)
        _ = source.stop()
        #expect(eventually { InstanceLocks.isParked(path) }, "\(path) was not parked")
        return path
    }

    /// The recording's end forks nothing: the warden forked beside the root's spawn, which
    /// shares the instance's "in use" flock, becomes its parker when told through its pipe.
    /// The parker (the holder of the "parked" flock) is a process that was already running
    /// before the stop: its start time is before it (the stop comes 0.3 s after the start).
    /// Before, `stop()` forked a parker of its own, started after the stop began.
    @Test(.hostPidNamespace) func theWardenBecomesTheParkerTheStopForksNothing() throws {
        let source = SchedSource(origin: monotonicNow(), options: Self.tagged(uniqueInstanceTag()) { $0.parkMillis = 300 })
        try source.start()
        let path = try #require(source.instancePath)
        usleep(300_000)
        let ticks = sysconf(Int32(_SC_CLK_TCK))
        var up = timespec()
        clock_gettime(CLOCK_BOOTTIME, &up)
        let stopTicks = UInt64(up.tv_sec) * UInt64(ticks) + UInt64(up.tv_nsec) * UInt64(ticks) / 1_000_000_000
        _ = source.stop()
        #expect(Self.eventually { InstanceLocks.isParked(path) }, "\(path) was not parked")
        let parker = try #require(Self.parker(of: path), "no parker holds \(path)")
        let started = try #require(InstanceOwner.startTime(of: "\(parker)"))
        #expect(started + 10 < stopTicks, "the parker \(parker) started at tick \(started), the stop at \(stopTicks)")
        #expect(Self.eventuallyRemoved(path), "\(path) is still there")
    }

    /// Whether the instance at `path` is removed within 20 s: the grace time, then up to 10 s
    /// more while another recording on the machine holds a pooled instance (tracefs.c
    /// `busy_ms`), then the kernel's ~0.1 s.
    static func eventuallyRemoved(_ path: String) -> Bool {
        eventually(20) { access(path, F_OK) != 0 }
    }

    /// A parked instance nobody claims is removed after the grace time, and its parker exits.
    @Test func anUnclaimedParkedInstanceIsRemovedAfterTheGraceTime() throws {
        let path = try Self.parkedInstance()
        let parker = Self.parker(of: path)
        #expect(parker != nil, "no parker holds \(path)")
        #expect(Self.eventuallyRemoved(path), "\(path) is still there, unclaimed")
        if let parker { #expect(Self.eventually { kill(parker, 0) != 0 }, "the parker \(parker) still runs") }
    }

    /// A shared flock held on a parked instance when its parker removes it (another parker's
    /// busy check, an observer) is not a claim: the parker waits it out and removes the
    /// instance, instead of leaving it on the machine until some later recording sweeps it.
    @Test func anObserversSharedFlockAtTheRemovalLeavesNothingBehind() throws {
        let path = try Self.parkedInstance()
        let d = InstanceLocks.openDirectory(path)
        if d >= 0 {
            // Across the grace time and the removal's first attempts.
            let shared = InstanceLocks.tryLock(d, exclusive: false)
            usleep(700_000)
            close(d)
            #expect(shared, "an observer's shared flock")
        }
        #expect(Self.eventuallyRemoved(path), "\(path) is still there, unclaimed")
    }

    /// A recording with other settings (a buffer size) neither claims a parked instance nor
    /// parks its own: it gets the buffers it asked for.
    @Test func otherSettingsMakeTheirOwnInstance() throws {
        let tag = uniqueInstanceTag()
        // Parked for up to 10 s: still there, even on a loaded machine, when `other` is gone.
        let first = SchedSource(origin: monotonicNow(), options: Self.tagged(tag) { $0.parkMillis = 10_000 })
        try first.start()
        let parked = try #require(first.instancePath)
        _ = first.stop()
        #expect(Self.eventually { InstanceLocks.isParked(parked) })
        let other = SchedSource(origin: monotonicNow(), options: Self.tagged(tag) { $0.bufferSizeKB = 512 })
        try other.start()
        let path = try #require(other.instancePath)
        #expect(!other.claimedInstance && path != parked)
        #expect(!InstanceOwner.isPooled(path.split(separator: "/").last.map(String.init) ?? ""))
        // (The kernel rounds up to whole pages: 513.)
        let kb = SmallFile.text("\(path)/buffer_size_kb").flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
        #expect(kb >= 512 && kb < 520, "buffer_size_kb \(kb)")
        _ = other.stop()
        #expect(Self.eventually { access(path, F_OK) != 0 }, "not parked: removed")
        // The parked one is still there for a default recording, which claims it.
        let c = SchedSource(origin: monotonicNow(), options: Self.tagged(tag))
        try c.start()
        defer { c.cleanup() }
        #expect(c.claimedInstance && c.instancePath == parked, "\(c.instancePath ?? "-") instead of \(parked)")
    }

    /// The instances of a tag, by name.
    static func tagged(_ tag: String) -> [String] {
        (SmallFile.names(in: "\(SchedSource.tracefsRoot() ?? "/sys/kernel/tracing")/instances") ?? [])
            .filter { InstanceOwner.tag(of: $0) == tag }.sorted()
    }

    /// A recording in a pid namespace whose init exits right after it: the kernel then kills
    /// every process of the namespace, a parker or a detached remover included (`unshare --pid
    /// --fork --mount-proc make test` left an instance, 8 MB a CPU, until a recording on the host
    /// swept it). Whatever its namespace, nothing a recording made or claimed outlives it by
    /// more than the park time: with no other recording to claim or sweep it, the instance is
    /// gone within that bound. The recording claims an instance the host parked (its parker
    /// holds it 20 s), so the bound is not met by waiting that parker out. Two shapes: a shell
    /// as the namespace's init runs proctrace and exits (proctrace has a front: the case that
    /// leaked), and proctrace as the init (no front: it removed its instance itself already).
    @Test(.enabled(if: PidNamespaceTests.canUnshare), arguments: [false, true])
    func aRecordingInAPidNamespaceThatEndsLeavesNoInstance(recorderIsInit: Bool) throws {
        let tag = uniqueInstanceTag()
        let env = ["PROCTRACE_INSTANCE_TAG": tag, "PROCTRACE_PARK_MS": "20000"]
        let host = try Harness.record(["/bin/true"], env: env)
        try #require(host.history.states == .sched, "this machine gives scheduler states (root)")
        let root = try #require(SchedSource.tracefsRoot())
        #expect(Self.eventually { Self.tagged(tag).count == 1 && InstanceLocks.isParked("\(root)/instances/\(Self.tagged(tag)[0])") },
                "the host's recording parked no instance: \(Self.tagged(tag))")
        let parked = Self.tagged(tag)
        // The same tag and the default park time (1 s): it claims the host's parked instance.
        let shell = ["/bin/sh", "-c", "\"$@\"; exit $?", "sh"]
        let r = try Harness.record(["/bin/readlink", "/proc/self/ns/pid"],
                                   wrapper: [PidNamespaceTests.unshare, "--pid", "--fork", "--mount-proc"] + (recorderIsInit ? [] : shell),
                                   env: ["PROCTRACE_INSTANCE_TAG": tag])
        #expect(r.exitCode == 0)
        #expect(r.history.states == .sched)
        #expect(r.objects("trace").first?["pid"] as? Int == (recorderIsInit ? 1 : 3), "the tracer is the front's child, or the init")
        let ns = try #require(InstanceOwner.inode(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), "stdout: \(r.stdout)")
        #expect(ns != InstanceOwner.initialNamespace)
        // The namespace is gone (its init exited: unshare returned). The park time and a margin.
        let left = Self.eventually(1.0 + 2.0) { Self.tagged(tag).isEmpty }
        #expect(left, "left behind by the namespace's recording: \(Self.tagged(tag)), the host parked \(parked)")
    }

    /// The holder of a parked instance's "parked" flock (its parker), from /proc/locks.
    static func parker(of path: String) -> pid_t? {
        var st = stat()
        guard stat("\(path)/per_cpu", &st) == 0 else { return nil }
        let text = (try? String(contentsOfFile: "/proc/locks", encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n") where line.contains("FLOCK") && line.contains(" WRITE ") {
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            // "1: FLOCK ADVISORY WRITE PID MAJ:MIN:INODE START END"
            if f.count >= 6, f[5].split(separator: ":").last == Substring(String(st.st_ino)) { return pid_t(f[4]) }
        }
        return nil
    }

    /// A recorder SIGKILLed while it records leaves nothing on: its instance's warden (a detached
    /// process it forked) sees it gone, turns the instance off and removes it, with no other
    /// recording starting. Before, the instance went on recording until a later recording's
    /// sweep, its wait4 syscall events keeping every syscall of the machine on the tracepoint
    /// path (docs/recorder.md): this test then failed.
    @Test func aKilledRecordersInstanceIsTurnedOffAndRemovedByItsWarden() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("proctrace-warden-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("killed.jsonl").path
        let (p, pid) = try Self.recordSleeper(out: out)
        // Its instance (made or claimed) is the one whose files the tracer holds open.
        func openInstance() -> String? {
            for fd in SmallFile.names(in: "/proc/\(pid)/fd") ?? [] {
                guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)"),
                      let r = target.range(of: "/instances/") else { continue }
                let name = target[r.upperBound...].split(separator: "/").first.map(String.init) ?? ""
                return String(target[..<r.upperBound]) + name
            }
            return nil
        }
        var found: String?
        _ = Self.eventually { found = openInstance(); return found != nil }
        let path = try #require(found)
        // On the host the recording reads waits from the syscall tracepoints (the default).
        if ProcFS.inInitialPidNamespace() {
            #expect(Self.eventually { SmallFile.text("\(path)/events/syscalls/sys_enter_wait4/enable")?.hasPrefix("1") == true })
        }
        let sleeper = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8))
            .flatMap { Int32($0.split(separator: " ").first ?? "") }
        kill(Int32(pid), SIGKILL)
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        if let sleeper { kill(sleeper, SIGKILL) }
        // No recording starts here: only the warden can remove it.
        #expect(Self.eventually { access(path, F_OK) != 0 }, "the killed recorder's \(path) is still there")
    }

    /// `record -o out -- sleep 30` (with an instance tag, if given), once its tracer (the front's
    /// child) has named itself in the trace's header: the front's process and the tracer's pid.
    static func recordSleeper(out: String, tag: String? = nil) throws -> (front: Process, tracer: Int) {
        let p = Process()
        if let tag { p.environment = ProcessInfo.processInfo.environment.merging(["PROCTRACE_INSTANCE_TAG": tag]) { $1 } }
        p.executableURL = URL(fileURLWithPath: Harness.binary)
        p.arguments = ["record", "--force", "-o", out, "--", "/bin/sleep", "30"]
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        var tracer: Int?
        _ = eventually {
            let first = (try? String(contentsOfFile: out, encoding: .utf8))?.split(separator: "\n").first
            tracer = first.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }?["pid"] as? Int
            return tracer != nil
        }
        return (p, try #require(tracer))
    }

    /// SIGKILL at each stage: a recorder while it records (its instance is neither claimed nor
    /// parked, its owner gone), and a parker while it holds a parked instance. Nothing claims
    /// either; the recorder's warden removes the first (or the next start's sweep, if first),
    /// the next start's sweep the second.
    @Test func killedRecordersAndParkersLeaveNothingBehind() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("proctrace-parking-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let out = dir.appendingPathComponent("killed.jsonl").path
        let tag = uniqueInstanceTag()
        // The tracer names the instance.
        let (p, pid) = try Self.recordSleeper(out: out, tag: tag)
        let root = try #require(SchedSource.tracefsRoot())
        func instance(of pid: Int) -> String? {
            (SmallFile.names(in: "\(root)/instances") ?? []).first { InstanceOwner(instanceName: $0)?.pid == pid }
                .map { "\(root)/instances/\($0)" }
        }
        var killed: String?
        _ = Self.eventually { killed = instance(of: pid); return killed != nil }
        let path = try #require(killed)
        let sleeper = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8))
            .flatMap { Int32($0.split(separator: " ").first ?? "") }
        kill(Int32(pid), SIGKILL)
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        if let sleeper { kill(sleeper, SIGKILL) }
        // Reaped (by whoever adopted it: pid 1 here reaps 1 to 2 s late): a zombie is a live owner.
        #expect(Self.eventually { access("/proc/\(pid)", F_OK) != 0 })
        #expect(!InstanceLocks.isParked(path))
        // A recording that starts now does not claim it, and its sweep removes it.
        let next = SchedSource(origin: monotonicNow(), options: Self.tagged(tag))
        try next.start()
        #expect(next.instancePath != path)
        _ = next.stop()
        #expect(Self.eventually { access(path, F_OK) != 0 }, "the killed recorder's \(path) is still there")

        // A parker killed while it holds an instance parked: unlocked, owner gone (not `next`'s,
        // whose owner is this process: a recorder's, whose tracer has exited; of a tag of its own,
        // so that it makes one named after its tracer instead of claiming `next`'s).
        let tag2 = uniqueInstanceTag()
        let r = try Harness.record(["/bin/true"], env: ["PROCTRACE_INSTANCE_TAG": tag2, "PROCTRACE_PARK_MS": "10000"])
        let tracer2 = try #require(r.objects("trace").first?["pid"] as? Int)
        var found: String?
        _ = Self.eventually { found = instance(of: tracer2); return found.map(InstanceLocks.isParked) ?? false }
        let parkedPath = try #require(found, "the recorder's instance was not parked")
        let parker = try #require(Self.parker(of: parkedPath), "no parker holds \(parkedPath)")
        kill(parker, SIGKILL)
        #expect(Self.eventually { access("/proc/\(tracer2)", F_OK) != 0 })
        #expect(Self.eventually { !InstanceLocks.isParked(parkedPath) })
        let third = SchedSource(origin: monotonicNow(), options: Self.tagged(tag2))
        try third.start()
        #expect(third.instancePath != parkedPath, "claimed an instance whose parker was killed")
        _ = third.stop()
        #expect(Self.eventually { access(parkedPath, F_OK) != 0 }, "the killed parker's \(parkedPath) is still there")
    }
}
#endif
