import Foundation
import Lifecycle
import Testing

/// The lifecycle semantics are folded in three places: `ProcessTable.apply` (event by event,
/// what `replay` steps through and `validate` checks with), `HistoryBuilder.apply` (the
/// whole-trace records every other view reads) and `ProcessTable.at` (the world at an instant,
/// rebuilt from those records). They stay three because each answers a different question
/// cheaply (see docs/lifecycle-model.md); this suite holds them to one meaning: over every
/// trace the project ships, at every instant an event happens, the streaming fold and the
/// history's snapshot must describe the same world, field by field.
@Suite struct FoldAgreementTests {
    /// Every shipped trace but the two written to break the model (validate's test of a bad
    /// reap; the picture fixture's hand-made states): on those each fold is lenient its own way.
    static let traces: [String] = Fixture.shippedTraces.filter { !$0.hasSuffix("/bad-reap.jsonl") && !$0.hasSuffix("/render-family.jsonl") }

    @Test func theShippedTracesAreAllHereAndKeepTheModel() throws {
        // A glob that finds nothing would make the agreement test below pass vacuously.
        #expect(Self.traces.filter { $0.contains("/traces/") }.count >= 20)
        #expect(Self.traces.contains { $0.hasSuffix("Fixtures/pidreuse.jsonl") })
        // and each of them keeps the model (the comparison means nothing on one that breaks it).
        for path in Self.traces {
            let report = try TraceValidator.check(path: path)
            #expect(report.violations.isEmpty, "\(path): \(report.formatted.prefix(3))")
        }
    }

    @Test(arguments: traces) func streamingAndHistoryFoldsAgreeAtEveryInstant(path: String) throws {
        let name = URL(fileURLWithPath: path).lastPathComponent
        try Self.expectAgreement(try TraceReader(path: path).readAll().map(\.event), name: name)
    }

    /// `record -p`'s attach lines (no shipped trace has them yet): a sleeping process starts
    /// blocked, a running one unknown, in both folds, with and without a state source.
    @Test(arguments: [StateSource.sched, .none]) func attachedProcessesAgreeToo(states: StateSource) throws {
        let text = traceText([
            #"{"type":"attach","t":10,"pid":50,"ppid":1,"argv":["sleep","9"],"state":"S"}"#,
            #"{"type":"attach","t":10,"pid":60,"ppid":1,"argv":["busy"],"exe":"/bin/busy","state":"R","threads":[60,61]}"#,
            #"{"type":"state","t":20,"pid":50,"tid":50,"from":"new","to":"ready"}"#,
            #"{"type":"state","t":30,"pid":50,"tid":50,"from":"ready","to":"running"}"#,
            #"{"type":"state","t":40,"pid":60,"tid":61,"from":"ready","to":"running"}"#,
            #"{"type":"exit","t":50,"pid":50,"status":{"exited":0}}"#,
            #"{"type":"reap","t":60,"pid":50,"by":1,"how":"adopted"}"#,
        ].filter { states != .none || !$0.contains(#""type":"state""#) }, states: states)
        let events = try TraceReader(text: text, name: "attach.jsonl").readAll().map(\.event)
        try Self.expectAgreement(events, name: "attach.jsonl (\(states))")
        // The source's first word about an attached task (new→ready) is not checked against
        // /proc's guess (blocked).
        #expect(try TraceValidator.run(TraceReader(text: text, name: "attach.jsonl"), contract: false).violations == [])
        if states == .sched {
            let h = ProcessHistory(events: events)
            #expect(ProcessTable.at(15, h)[50]?.state == .blocked && ProcessTable.at(15, h)[60]?.state == .unknown)
        }
    }

    /// Applies `events` one by one and compares the table, after each instant, with the
    /// history's snapshot at that instant.
    static func expectAgreement(_ events: [TraceEvent], name: String) throws {
        let history = ProcessHistory(events: events)
        var table = ProcessTable()
        var checked = 0
        for (i, e) in events.enumerated() {
            table.apply(e, line: i + 1)
            // Compare once every event at this instant has been applied.
            if i + 1 < events.count && events[i + 1].t == e.t { continue }
            let snap = ProcessTable.at(e.t, history)
            try Self.expectSame(table, snap, at: e.t, in: name)
            checked += 1
        }
        #expect(checked > 0, "\(name): no instant compared")
    }

    /// Every fact a view reads from a table, compared between the two folds.
    static func expectSame(_ a: ProcessTable, _ b: ProcessTable, at t: Int64, in name: String) throws {
        let here = "\(name) at t=\(t)"
        #expect(a.source == b.source, "\(here): states source")
        #expect(a.rootPid == b.rootPid, "\(here): root")
        #expect(Set(a.processes.keys) == Set(b.processes.keys), "\(here): which processes exist")
        for (pid, p) in a.processes.sorted(by: { $0.key < $1.key }) {
            guard let q = b[pid] else { continue }
            let who = "\(here) pid \(pid)"
            #expect(p.id == q.id, "\(who): identity")
            #expect(p.ppid == q.ppid && p.forkParent == q.forkParent && p.isOrphaned == q.isOrphaned, "\(who): parent")
            #expect(p.pgid == q.pgid && p.sid == q.sid, "\(who): group and session")
            #expect(p.argv == q.argv && p.image == q.image && p.execCount == q.execCount, "\(who): image")
            #expect(p.birth == q.birth && p.birthLine == q.birthLine, "\(who): birth")
            #expect(p.exitTime == q.exitTime && p.exitStatus == q.exitStatus, "\(who): exit")
            #expect(p.threadCount == q.threadCount, "\(who): threads \(p.threadCount) vs \(q.threadCount)")
            #expect(p.state == q.state && p.stateSince == q.stateSince, "\(who): state \(p.state)@\(p.stateSince) vs \(q.state)@\(q.stateSince)")
            #expect(p.blockedOn == q.blockedOn, "\(who): blocked on \(p.blockedOn ?? "-") vs \(q.blockedOn ?? "-")")
            #expect(p.unknownReason == q.unknownReason, "\(who): unknown reason")
            #expect(p.hasRecordedStates == q.hasRecordedStates, "\(who): states recorded")
            #expect(p.cpuTime(at: t) == q.cpuTime(at: t), "\(who): cpu \(p.cpuTime(at: t)) vs \(q.cpuTime(at: t))")
            #expect(p.pendingWaits.map(\.summary) == q.pendingWaits.map(\.summary), "\(who): pending waits")
            #expect(p.statLetters(source: a.source) == q.statLetters(source: b.source), "\(who): STAT")
        }
    }
}
