#if os(Linux)
@preconcurrency import Glibc
import Foundation
import Testing
import Lifecycle
@testable import Tracer

/// A state source that has already seen everything: its watermark is far ahead, as a
/// scheduler source's is when the ptrace loop falls behind on a loaded CPU.
private final class AheadSource: StateFeed, @unchecked Sendable {
    let source = StateSource.sched
    private let lock = NSLock()
    private var events: [TraceEvent] = []
    func add(_ e: TraceEvent) { lock.withLock { events.append(e) } }
    func start() throws {}
    func track(tid: Int, pid: Int, at: Int64) {}
    func untrack(tid: Int) {}
    func ended(pid: Int, tid: Int?, at: Int64) -> (events: [TraceEvent], tids: [Int]) { ([], []) }
    func noteWhy(tid: Int, why: String, from: Int64, to: Int64?) {}
    func endWhy(tid: Int, at: Int64) {}
    func take(upTo: Int64) -> [TraceEvent] {
        lock.withLock {
            let out = events.filter { $0.t <= upTo }
            events.removeAll { $0.t <= upTo }
            return out
        }
    }
    var watermark: Int64 { .max / 2 }
    func stop() -> [TraceEvent] { lock.withLock { defer { events = [] }; return events } }
    var lost: Int { 0 }
    func cleanup() {}
}

@Suite(.timeLimit(.minutes(1)))
struct TraceMergerTests {
    @Test("a state event waits for the ptrace events the loop has stamped but not yet submitted")
    func statesNeverOvertakeTheTracer() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("merger-\(getpid()).jsonl").path
        defer { unlink(path) }
        let writer = try TraceWriter(path: path, force: true)
        let clock = TraceClock()
        let pid = 4242
        // The loop wakes for the task's death and stamps it at t…
        let source = AheadSource()
        let merger = TraceMerger(writer: writer, source: source, clock: clock)
        merger.submit([TraceEvent(t: 0, .spawn(pid: pid, argv: ["x"]))])
        merger.ptraceIdle()
        usleep(10_000)
        let t = merger.ptraceWoke()
        // …while the state source already holds a later transition of that same task.
        let late = TraceEvent(t: t + 1_000_000, .state(pid: pid, tid: pid, from: .running, to: .blocked, why: "read"))
        source.add(late)
        usleep(20_000)   // several merge rounds while the loop is busy
        merger.submit([TraceEvent(t: t, .exit(pid: pid, status: .exited(0)))])
        merger.ptraceIdle()
        usleep(20_000)
        merger.finish()
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        let types = lines.compactMap { l -> String? in
            (try? JSONSerialization.jsonObject(with: Data(l.utf8)) as? [String: Any])?["type"] as? String
        }
        #expect(types == ["spawn", "exit", "state"], "\(lines)")
        let times = lines.compactMap { l -> Int64? in
            ((try? JSONSerialization.jsonObject(with: Data(l.utf8)) as? [String: Any])?["t"] as? NSNumber)?.int64Value
        }
        #expect(times.count == 3 && times[1] == t, "the exit keeps its own time: \(times)")
    }

    @Test("the states of a reused pid wait for its second fork, not only its first")
    func aReusedPidsStatesFollowItsOwnFork() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("merger-reuse-\(getpid()).jsonl").path
        defer { unlink(path) }
        let writer = try TraceWriter(path: path, force: true)
        let source = AheadSource()
        let merger = TraceMerger(writer: writer, source: source, clock: TraceClock())
        let root = 10, child = 20
        func st(_ t: Int64, _ from: ProcState, _ to: ProcState, pid: Int = child) -> TraceEvent {
            TraceEvent(t: t, .state(pid: pid, tid: pid, from: from, to: to, why: nil))
        }
        // The kernel shows each life of pid 20 running before the tracer reports its fork.
        for e in [st(0, .new, .running, pid: root), st(900, .new, .ready), st(1100, .ready, .running), st(1500, .running, .terminated),
                  st(1800, .new, .ready), st(1850, .ready, .running), st(2400, .running, .terminated),
                  st(2650, .running, .terminated, pid: root)] { source.add(e) }
        merger.submit([
            TraceEvent(t: 0, .spawn(pid: root, argv: ["x"])),
            TraceEvent(t: 1000, .fork(pid: root, child: child, parent: root, via: .fork)),
            TraceEvent(t: 1600, .exit(pid: child, status: .exited(0))),
            TraceEvent(t: 1700, .reap(pid: child, by: root, how: .wait)),
            TraceEvent(t: 1900, .fork(pid: root, child: child, parent: root, via: .fork)),
            TraceEvent(t: 2500, .exit(pid: child, status: .exited(1))),
            TraceEvent(t: 2600, .reap(pid: child, by: root, how: .wait)),
            TraceEvent(t: 2700, .exit(pid: root, status: .exited(0))),
            TraceEvent(t: 2700, .reap(pid: root, by: 1, how: .wait)),
        ])
        merger.ptraceIdle()
        merger.finish()
        #expect(merger.dropped == 0)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        let summary = lines.compactMap { l -> String? in
            guard let o = try? JSONSerialization.jsonObject(with: Data(l.utf8)) as? [String: Any], let type = o["type"] as? String else { return nil }
            let t = (o["t"] as? NSNumber)?.int64Value ?? -1
            return type == "state" ? "\(t) \(o["from"]!)>\(o["to"]!)" : "\(t) \(type)"
        }
        #expect(summary == ["0 spawn", "0 new>running",
                            "1000 fork", "1000 new>ready", "1100 ready>running", "1500 running>terminated", "1600 exit", "1700 reap",
                            "1900 fork", "1900 new>ready", "1900 ready>running", "2400 running>terminated", "2500 exit", "2600 reap",
                            "2650 running>terminated", "2700 exit", "2700 reap"],
                "\(summary)")
        let report = StateCoverage.check(lines: lines)
        #expect(report.problems.isEmpty, "\(report.problems)")
        #expect(report.reusedPids == [child])
    }

    @Test("a task the source lost before its fork line is unknown from that line, its earlier states passed over as lost")
    func heldStatesBeforeAnUnknownAreNotClaimedAtTheBirthLine() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("merger-unknown-\(getpid()).jsonl").path
        defer { unlink(path) }
        let writer = try TraceWriter(path: path, force: true)
        let source = AheadSource()
        let merger = TraceMerger(writer: writer, source: source, clock: TraceClock())
        let root = 10, child = 20
        // The kernel shows the child ready and running, then the feed stops (an overrun at
        // 1000) before the tracer reports the fork at 1200.
        source.add(TraceEvent(t: 0, .state(pid: root, tid: root, from: .new, to: .running, why: nil)))
        source.add(TraceEvent(t: 900, .state(pid: child, tid: child, from: .new, to: .ready, why: nil)))
        source.add(TraceEvent(t: 950, .state(pid: child, tid: child, from: .ready, to: .running, why: nil)))
        source.add(TraceEvent(t: 1000, .stateUnknown(pid: root, tid: root, reason: "overrun")))
        source.add(TraceEvent(t: 1000, .stateUnknown(pid: child, tid: child, reason: "overrun")))
        merger.submit([
            TraceEvent(t: 0, .spawn(pid: root, argv: ["x"])),
            TraceEvent(t: 1200, .fork(pid: root, child: child, parent: root, via: .fork)),
        ])
        merger.ptraceIdle()
        merger.finish()
        #expect(merger.dropped == 2)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        let summary = lines.compactMap { l -> String? in
            guard let o = try? JSONSerialization.jsonObject(with: Data(l.utf8)) as? [String: Any], let type = o["type"] as? String else { return nil }
            let t = (o["t"] as? NSNumber)?.int64Value ?? -1
            return "\(t) \(type) \(o["pid"] ?? o["child"] ?? "")"
        }
        #expect(summary == ["0 spawn 10", "0 state 10", "1000 unknown 10", "1200 fork 10", "1200 unknown 20"], "\(summary)")
    }
}
#endif
