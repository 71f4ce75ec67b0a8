import Testing
@testable import Lifecycle

/// `unknown` events (a state source that stopped), read from a hand-written trace: pid 100
/// runs from 3 ms, its child 101 is ready from 5 ms; at 10 ms the source loses events and
/// both become unknown; 101 is seen switched in at 20 ms and exits at 25 ms; nothing more is
/// heard of 100 until its exit at 30 ms.
@Suite struct UnknownStateTests {
    let path = Fixture.path("unknown-states.jsonl")
    let reason = "ring buffer overrun on cpu 1"

    @Test func unknownEventsRoundTripAndAreNeverAStateValue() throws {
        let line = #"{"type":"unknown","t":10,"pid":100,"tid":101,"reason":"read error on cpu 0"}"#
        let e = try TraceReader(text: line + "\n", name: "u.jsonl").next()
        #expect(e?.kind == .stateUnknown(pid: 100, tid: 101, reason: "read error on cpu 0"))
        #expect(e?.jsonLine == line)
        // "unknown" is not one of the five states a state event may carry.
        let bad = #"{"type":"state","t":10,"pid":100,"from":"unknown","to":"running"}"#
        #expect(throws: TraceReadError.self) { _ = try TraceReader(text: bad + "\n", name: "s.jsonl").next() }
        #expect(throws: TraceReadError.self) { _ = try TraceReader(text: #"{"type":"unknown","t":10,"pid":100}"# + "\n", name: "r.jsonl").next() }
    }

    @Test func aPlacedLossIsValidAndTheNextStateIsNotCheckedAgainstUnknown() throws {
        let r = try TraceValidator.validate(path: path)
        #expect(r.formatted == [])
        // The loss and where it is are told (as warnings), not violations.
        #expect(r.health.lost == 7 && r.health.unknownStretches == 2)
        #expect(r.health.warnings.contains { $0.contains("2 stretches of unknown state") })
        // 101 was ready before the loss and is "ready→running" after it: not checked against
        // unknown. A wrong from after a known state still is a violation.
        #expect(try TraceValidator.check(path: path).violations.isEmpty)
        let text = try String(contentsOfFile: path, encoding: .utf8)
            .replacingOccurrences(of: #""t":3000000,"pid":100,"tid":100,"from":"ready""#, with: #""t":3000000,"pid":100,"tid":100,"from":"blocked""#)
        let wrong = try TraceValidator.run(TraceReader(text: text, name: "w.jsonl"), contract: false)
        #expect(wrong.violations.contains { $0.message.contains("recorded blocked→running but the model has it ready") })
    }

    @Test func tableShowsUnknownFromTheEventUntilTheNextStateOrExit() throws {
        let h = try ProcessHistory(path: path)
        let before = ProcessTable.at(9_000_000, h), during = ProcessTable.at(15_000_000, h), after = ProcessTable.at(22_000_000, h)
        #expect(before[100]?.state == .running && before[101]?.state == .ready)
        #expect(during[100]?.state == .unknown && during[101]?.state == .unknown)
        #expect(during[100]?.unknownReason == reason)
        #expect(after[100]?.state == .unknown && after[101]?.state == .running)
        #expect(ProcessTable.at(30_500_000, h)[100]?.state == .terminated)
        // The streaming fold agrees with the history.
        var table = ProcessTable()
        var line = 0
        for e in try readAll(path) where e.t <= 15_000_000 { line += 1; #expect(table.apply(e, line: line).isEmpty) }
        table.advance(to: 15_000_000)
        #expect(table[100]?.state == .unknown && table[101]?.state == .unknown)
        // CPU time stops at the loss: running 3–10 ms is all that is known.
        #expect(table[100]?.cpuTime(at: 15_000_000) == 7_000_000)
        #expect(table[100]?.statLetters(source: .sched) == "?")
    }

    @Test func historyIntervalsAndTotalsCountUnknownAsNoState() throws {
        let h = try ProcessHistory(path: path)
        let root = try #require(h.records(pid: 100).first), child = try #require(h.records(pid: 101).first)
        #expect(root.processStates().map { "\($0.state.rawValue) \($0.start / 1_000_000)-\($0.end / 1_000_000)" }
                == ["new 1-2", "ready 2-3", "running 3-10", "unknown 10-30", "terminated 30-31"])
        #expect(child.processStates().map { "\($0.state.rawValue) \($0.start / 1_000_000)-\($0.end / 1_000_000)" }
                == ["new 4-5", "ready 5-10", "unknown 10-20", "running 20-25", "terminated 25-27"])
        #expect(root.unknownTime == 20_000_000 && child.unknownTime == 10_000_000)
        #expect(root.unknownStates == [UnknownState(tid: 100, t: 10_000_000, reason: reason)])
        #expect(root.timeInStates()[.running] == 7_000_000)
        #expect(StateModel.three.label(.unknown, source: .sched) == "unknown")
        #expect(StateModel.five.label(.unknown, source: .sampled) == "unknown")
    }

    @Test func statsReplayAndTreeSayUnknown() throws {
        let h = try ProcessHistory(path: path)
        let s = TraceStats(h)
        #expect(s.totalStates[.unknown] == 30_000_000)
        let text = s.text()
        #expect(text.contains("  unknown      30.0ms"))
        #expect(text.contains("States unknown: the state source stopped once for 2 tasks, first at 0.010000s (ring buffer overrun on cpu 1); 7 events lost."))
        #expect(text.contains("w(100)                   unknown from 0.010000s for 20.0ms: ring buffer overrun on cpu 1"))
        #expect(text.contains("UNKNOWN"))
        let spans = try #require(s.json().object?["unknown_states"]?.array)
        #expect(spans.count == 2)
        #expect(spans[0].object?["t_ns"] == .int(10_000_000) && spans[0].object?["duration_ns"] == .int(20_000_000))

        let view = ReplayView(source: .sched)
        let snap = view.snapshot(ProcessTable.at(15_000_000, h))
        #expect(snap.contains("w(100) unknown (state source stopped: ring buffer overrun on cpu 1)"))
        #expect(snap.contains("└─w(101) unknown (state source stopped: ring buffer overrun on cpu 1)"))
        #expect(snap.contains("   0 100    -   - ?    0:00.00 w"))
        let events = try readAll(path)
        #expect(view.eventLine(events[6], before: ProcessTable.at(9_000_000, h)) == "0.010000 unknown w(100) state unknown from here (ring buffer overrun on cpu 1)")

        let tree = TreeView.render(h)
        #expect(tree.contains("w(100)  lived 29.0ms  exited 0  zombie 1.00ms, reaped by proctrace(99)  [states unknown from 0.010000s for 20.0ms: ring buffer overrun on cpu 1]"))
        #expect(tree.contains("(states unknown: the state source stopped at 0.010000s (ring buffer overrun on cpu 1) for 2 processes"))
    }

    @Test func aProcessTheSourceNeverReportedOnIsUnknownNotAlive() throws {
        // 101 has no state event in a trace with scheduler states.
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
            .filter { !($0.contains(#""pid":101,"tid":101"#)) }.joined(separator: "\n") + "\n"
        let h = ProcessHistory(events: try TraceReader(text: lines, name: "n.jsonl").readAllForTest())
        let child = try #require(h.records(pid: 101).first)
        #expect(child.processStates().map { "\($0.state.rawValue) \($0.start / 1_000_000)-\($0.end / 1_000_000)" }
                == ["unknown 4-26", "terminated 26-27"])
        #expect(ProcessTable.at(10_000_000, h)[101]?.state == .unknown)
    }

    private func readAll(_ path: String) throws -> [TraceEvent] {
        let r = try TraceReader(path: path)
        var out: [TraceEvent] = []
        while let e = try r.next() { out.append(e) }
        return out
    }
}

extension TraceReader {
    func readAllForTest() throws -> [TraceEvent] {
        var out: [TraceEvent] = []
        while let e = try next() { out.append(e) }
        return out
    }
}
