#if os(Linux)
@preconcurrency import Glibc
import Foundation
import Testing
import Lifecycle
@testable import Tracer

/// A state source that has already seen everything: its watermark is far ahead, as a
/// scheduler source's is when the ptrace loop falls behind on a loaded CPU.
private final class AheadSource: StateFeed, @unchecked Sendable {
    let kind = "sched"
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
}
#endif
