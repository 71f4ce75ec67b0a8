import Testing
@testable import Lifecycle

/// A small trace builder: a header, then the given event lines, then an optional end with
/// the right count.
func traceText(_ lines: [String], states: StateSource = .none, end: Bool = true) -> String {
    var all = [#"{"type":"trace","t":0,"schema":"proctrace/1","argv":["x"],"cwd":"/","start":"2026-11-26T22:00:00Z","#
               + #""host":{"kernel":"6.18","arch":"x86_64","cpus":2},"tracer":"proctrace 0.1.0","states":"\#(states.rawValue)"}"#]
    all += lines
    if end {
        let t = 1_000_000
        all.append(#"{"type":"end","t":\#(t),"status":{"exited":0},"events":\#(all.count + 1),"lost":0}"#)
    }
    return all.joined(separator: "\n") + "\n"
}

func validate(_ text: String) throws -> ValidationReport {
    try TraceValidator.run(TraceReader(text: text, name: "t.jsonl"), contract: true)
}

@Suite struct ValidationTests {
    @Test func cleanFixturesAreValid() throws {
        for name in ["zombie.jsonl", "wait.jsonl", "pidreuse.jsonl"] {
            let r = try TraceValidator.validate(path: Fixture.path(name))
            #expect(r.formatted == [], "\(name)")
        }
    }

    @Test func reapBeforeExitIsFlaggedAtItsLine() throws {
        let r = try TraceValidator.validate(path: Fixture.path("bad-reap.jsonl"))
        let p = Fixture.path("bad-reap.jsonl")
        #expect(r.formatted.contains("\(p):4: reap of pid 4101 before its exit (a process must exit before it is reaped)"))
        #expect(r.formatted.contains("\(p):6: time goes backwards: t=3500 after t=4000"))
        #expect(r.formatted.contains("\(p):8: end.events is 100 but the trace has 8 lines up to its end"))
    }

    @Test func reparentBeforeTheParentExitsIsFlagged() throws {
        let r = try validate(traceText([
            #"{"type":"spawn","t":1,"pid":10,"argv":["a"]}"#,
            #"{"type":"fork","t":2,"pid":10,"child":11,"parent":10,"via":"fork"}"#,
            #"{"type":"reparent","t":3,"pid":11,"from":10,"to":1}"#,
            #"{"type":"exit","t":4,"pid":10,"status":{"exited":0}}"#,
            #"{"type":"exit","t":5,"pid":11,"status":{"exited":0}}"#,
            #"{"type":"reap","t":6,"pid":11,"by":1,"how":"adopted"}"#,
            #"{"type":"reap","t":7,"pid":10,"by":9,"how":"wait"}"#,
        ]))
        #expect(r.formatted == ["t.jsonl:4: reparent of pid 11 from 10 before 10 exited (a reparent only follows the parent's exit)"])
    }

    @Test func missingReapAndReapByTheWrongParentAreFlagged() throws {
        let r = try validate(traceText([
            #"{"type":"spawn","t":1,"pid":10,"argv":["a"]}"#,
            #"{"type":"fork","t":2,"pid":10,"child":11,"parent":10,"via":"fork"}"#,
            #"{"type":"fork","t":2,"pid":10,"child":12,"parent":10,"via":"fork"}"#,
            #"{"type":"exit","t":5,"pid":11,"status":{"exited":0}}"#,
            #"{"type":"exit","t":5,"pid":12,"status":{"exited":0}}"#,
            #"{"type":"reap","t":6,"pid":12,"by":1,"how":"wait"}"#,
            #"{"type":"exit","t":8,"pid":10,"status":{"exited":0}}"#,
            #"{"type":"reap","t":9,"pid":10,"by":9,"how":"wait"}"#,
        ]))
        #expect(r.formatted == [
            "t.jsonl:3: pid 11 (born here) exited but was never reaped before the end: every process ends with exactly one reap",
            "t.jsonl:7: pid 12 reaped by 1 (how: wait) but its parent is 10",
        ])
    }

    @Test func forkOfALivePidAndIllegalSchedTransitionsAreFlagged() throws {
        let r = try validate(traceText([
            #"{"type":"spawn","t":1,"pid":10,"argv":["a"]}"#,
            #"{"type":"state","t":1,"pid":10,"tid":10,"from":"new","to":"ready"}"#,
            #"{"type":"state","t":2,"pid":10,"tid":10,"from":"ready","to":"blocked","why":"read"}"#,
            #"{"type":"state","t":3,"pid":10,"tid":10,"from":"running","to":"ready"}"#,
            #"{"type":"fork","t":4,"pid":10,"child":10,"parent":10,"via":"fork"}"#,
        ], states: .sched, end: false))
        #expect(r.formatted == [
            "t.jsonl:4: pid 10 tid 10: illegal transition ready→blocked",
            "t.jsonl:5: pid 10 tid 10: recorded running→ready but the model has it blocked",
            "t.jsonl:6: fork of pid 10, which still exists (born at line 2, not reaped): a pid is reused only after its reap",
            "t.jsonl:6: incomplete trace: no end line after the last event (the recording was cut short)",
        ])
        #expect(r.incomplete)
    }

    @Test func headerMustBeFirstAndEndLast() throws {
        let text = #"{"type":"spawn","t":1,"pid":10,"argv":["a"]}"# + "\n" + traceText([], end: true)
        let r = try validate(text)
        #expect(r.formatted.contains("t.jsonl:1: the first line must be the trace header, found \"spawn\""))
        #expect(r.formatted.contains("t.jsonl:2: a second trace header"))
        let r2 = try validate(traceText([]) + #"{"type":"signal","t":5,"pid":10,"sig":"SIGINT"}"# + "\n")
        #expect(r2.formatted.contains("t.jsonl:3: \"signal\" after the end line (line 2): end must be last"))
    }

    @Test func malformedLinesAreViolationsAndCheckingContinues() throws {
        let r = try validate(traceText([
            #"{"type":"spawn","t":1,"pid":10,"argv":["a"]}"#,
            #"{"type":"exit","t":2,"pid":10,"status":{"exited":0}"#,
            #"{"type":"exit","t":3,"pid":10}"#,
            #"{"type":"reap","t":4,"pid":10,"by":9,"how":"wait"}"#,
        ]))
        #expect(r.formatted == [
            "t.jsonl:3: expected ',' or '}', found end of line at column 52",
            "t.jsonl:4: exit: missing field \"status\"",
            "t.jsonl:5: reap of pid 10 before its exit (a process must exit before it is reaped)",
        ])
    }
}

@Suite(.serialized) struct ValidateCLITests {
    static let binary = Fixture.binary

    @Test func exitStatusesAreZeroOneTwo() throws {
        let ok = try run([Self.binary, "validate", Fixture.path("zombie.jsonl")])
        #expect(ok.status == 0)
        #expect(ok.stdout.contains("valid (11 lines, 2 processes)"))
        let bad = try run([Self.binary, "validate", Fixture.path("bad-reap.jsonl")])
        #expect(bad.status == 1)
        #expect(bad.stdout.contains("bad-reap.jsonl:4: reap of pid 4101 before its exit"))
        let missing = try run([Self.binary, "validate", "/nonexistent/x.jsonl"])
        #expect(missing.status == 2)
        #expect(missing.stdout.contains("/nonexistent/x.jsonl: cannot open: No such file or directory"))
    }
}
