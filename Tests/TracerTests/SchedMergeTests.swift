#if os(Linux)
import Testing
import Lifecycle
@testable import Tracer

/// A state source that hands out prepared events below a settable watermark.
final class FakeStateSource: StateSource, @unchecked Sendable {
    let kind = "sched"
    var events: [TraceEvent] = []
    var watermark: Int64 = 0
    var lost: Int { 0 }
    func start() throws {}
    func track(tid: Int, pid: Int, at: Int64) {}
    func untrack(tid: Int) {}
    func noteWhy(tid: Int, why: String, from: Int64, to: Int64?) {}
    func endWhy(tid: Int, at: Int64) {}
    func take(upTo: Int64) -> [TraceEvent] {
        let out = events.filter { $0.t <= upTo }
        events.removeAll { $0.t <= upTo }
        return out
    }
    func stop() -> [TraceEvent] { defer { events = [] }; return events }
    func cleanup() {}
}

@Suite(.serialized, .timeLimit(.minutes(1)))
struct SchedMergeTests {
    func st(_ t: Int64, _ pid: Int, _ from: ProcState, _ to: ProcState) -> TraceEvent {
        TraceEvent(t: t, .state(pid: pid, tid: pid, from: from, to: to, why: nil))
    }

    @Test("a child's first states wait for its fork line and take its time; output never goes back in time")
    func childStatesAfterFork() {
        let src = FakeStateSource()
        var m = StateMerger()
        m.add(TraceEvent(t: 10, .spawn(pid: 1, argv: ["a"])))
        src.events = [st(12, 1, .new, .ready), st(20, 2, .new, .ready), st(25, 2, .ready, .running), st(40, 1, .running, .blocked)]
        m.add(TraceEvent(t: 30, .fork(pid: 1, child: 2, parent: 1, via: "fork")))
        m.add(TraceEvent(t: 50, .exit(pid: 2, status: .exited(0))))
        src.watermark = 45
        let first = m.ready(source: src)
        #expect(first.map(\.t) == [10, 12, 30, 30, 30, 40])
        #expect(first.map(\.kind.typeName) == ["spawn", "state", "fork", "state", "state", "state"])
        src.events = [st(48, 2, .running, .terminated)]
        let rest = m.finish(stateEvents: src.stop())
        #expect(rest.map(\.t) == [48, 50])
        #expect(m.droppedUnintroduced == 0)
    }

    @Test("lifecycle events wait for the watermark; a thread's states wait for its thread line")
    func watermarkAndThreads() {
        let src = FakeStateSource()
        var m = StateMerger()
        m.introduce(tid: 1)
        m.add(TraceEvent(t: 100, .thread(pid: 1, tid: 5, phase: "start")))
        src.events = [TraceEvent(t: 90, .state(pid: 1, tid: 5, from: .new, to: .ready, why: nil))]
        src.watermark = 95
        #expect(m.ready(source: src).isEmpty)     // held: thread 5 not introduced, line at 100 not due
        src.watermark = 120
        let out = m.ready(source: src)
        #expect(out.map(\.kind.typeName) == ["thread", "state"])
        #expect(out.map(\.t) == [100, 100])
    }
}
#endif
