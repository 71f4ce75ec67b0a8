import Testing
@testable import Lifecycle
#if canImport(Glibc)
import Glibc
#endif

@Suite struct ProcessTableTests {
    @Test func worldAtAnInstantShowsZombiesWaitsAndOrphans() throws {
        let h = try ProcessHistory(path: Fixture.path("zombie.jsonl"))
        let mid = ProcessTable.at(100_000_000, h)
        #expect(mid[4101]?.isZombie == true)
        #expect(mid[4101]?.state == .terminated)
        #expect(mid[4101]?.ppid == 4100)
        #expect(mid.children(of: 4100).map(\.pid) == [4101])
        let adopted = ProcessTable.at(512_050_000, h)
        #expect(adopted[4101]?.ppid == 1 && adopted[4101]?.isOrphaned == true)
        #expect(adopted[4101]?.isZombie == true)
        #expect(adopted[4100]?.state == .terminated)
        let gone = ProcessTable.at(512_150_000, h)
        #expect(gone[4101] == nil && gone[4100] != nil)

        let w = try ProcessHistory(path: Fixture.path("wait.jsonl"))
        let waiting = ProcessTable.at(31_250_000, w)
        #expect(waiting[4100]?.state == .blocked)
        #expect(waiting[4100]?.blockedOn == "wait4(-1)")
        #expect(waiting[4101]?.state == .ready)
        #expect(waiting[4100]?.statLetters(source: .sched) == "S")
        #expect(waiting[4101]?.statLetters(source: .sched) == "R")
    }

    @Test func historyAndStreamingFoldAgreeAtEveryEvent() throws {
        for name in ["zombie.jsonl", "wait.jsonl", "pidreuse.jsonl"] {
            let path = Fixture.path(name)
            let h = try ProcessHistory(path: path)
            let events = try TraceReader(path: path).readAll()
            for t in Set(events.map(\.event.t)).sorted() {
                let a = ProcessTable.at(t, h)
                let b = try ProcessTable.at(t, path: path)
                #expect(Set(a.processes.keys) == Set(b.processes.keys), "\(name) at \(t)")
                for (pid, p) in a.processes {
                    let q = try #require(b[pid])
                    #expect(p.id == q.id && p.ppid == q.ppid && p.state == q.state && p.isZombie == q.isZombie
                            && p.command == q.command && p.pgid == q.pgid && p.blockedOn == q.blockedOn
                            && p.cpuTime(at: t) == q.cpuTime(at: t), "\(name) pid \(pid) at \(t): \(p) vs \(q)")
                }
            }
        }
    }

    @Test func threeStateProjection() {
        #expect(StateModel.three(.new) == .ready)
        #expect(StateModel.three(.terminated) == nil)
        #expect(StateModel.three(.blocked) == .blocked)
        #expect(StateModel.five.label(.ready, source: .sampled) == "runnable")
        #expect(StateModel.five.label(.running, source: .none) == "alive")
        #expect(StateModel.three(.new).map { StateModel.three.label($0, source: .sched) } == "ready")
    }
}

@Suite(.serialized) struct ReplayCLITests {
    let bin = ValidateCLITests.binary

    @Test func atPrintsATreeAndAPsTable() throws {
        let r = try run([bin, "replay", Fixture.path("wait.jsonl"), "--at", "31.25ms"])
        #expect(r.status == 0)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("python3.11(4100) blocked on wait4(-1)"))
        #expect(lines.contains("└─python3.11(4101) ready"))
        #expect(lines.contains { $0.hasPrefix("PPID  PID PGID  SID STAT") })
        #expect(lines.contains("4099 4100 4100 4000 S    0:00.03 python3 wait.py"))
        let z = try run([bin, "replay", Fixture.path("zombie.jsonl"), "--at", "0.1", "--model", "three"])
        #expect(z.stdout.contains("4100 4101 4100 4000 Z       - [python3] <defunct>"))
        #expect(z.stdout.contains("└─python3(4101) zombie (exited 0)"))
    }

    @Test func pipeGetsOneLinePerEvent() throws {
        let r = try run([bin, "replay", Fixture.path("wait.jsonl")])
        #expect(r.status == 0)
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.count == 21)
        #expect(lines[8] == "0.031210 state   python3.11(4100) running → blocked (wait4)")
        #expect(lines[16] == "0.032050 reap    python3.11(4101) reaped by 4100 (wait)")
    }

    @Test func checkReportsDisagreements() throws {
        let ok = try run([bin, "replay", "--check", Fixture.path("wait.jsonl")])
        #expect(ok.status == 0)
        #expect(ok.stdout.contains("no disagreement"))
        let bad = try run([bin, "replay", "--check", Fixture.path("bad-reap.jsonl")])
        #expect(bad.status == 1)
        #expect(bad.stdout.contains("bad-reap.jsonl:4: reap of pid 4101 before its exit"))
    }
}

@Suite(.serialized) struct GeneratedTraceTests {
    /// The benchmark generator's traces are valid and fold to the processes it made,
    /// pid reuse included (5000 pids serve 10000 processes in the big trace; 60 here → 60).
    @Test func generatedTraceValidatesAndFolds() throws {
        let out = "/tmp/proctrace-gen-\(getpidSafe()).jsonl"
        defer { removeFile(out) }
        let gen = try run(["/usr/bin/python3", Fixture.packageRoot + "/scripts/gen-trace.py", "-n", "20000", "-p", "200", "-o", out])
        #expect(gen.status == 0)
        let report = try TraceValidator.validate(path: out)
        #expect(report.formatted == [])
        #expect(report.lines == 20000)
        let h = try ProcessHistory(path: out)
        #expect(h.processes.count == 201)
        #expect(h.end?.events == 20000)
        let s = TraceStats(h)
        #expect(s.fates.first { $0.fate == "exited 0" }?.count == 201)
        #expect(s.peakConcurrency == 101)
        // Every process's state time adds up to its life from birth to reap.
        for r in h.processes {
            let total = r.timeInStates().values.reduce(0, +)
            #expect(total == r.reapTime! - r.birth, "\(r.id)")
        }
    }
}

@Suite struct SampledStatesTests {
    /// Sampling cannot tell ready from running and misses short states: views say
    /// "runnable", and a blocked→running step is not flagged as it would be for sched.
    @Test func sampledTracesAreLabelledRunnableAndCheckedLeniently() throws {
        let text = traceText([
            #"{"type":"spawn","t":1,"pid":10,"argv":["a"]}"#,
            #"{"type":"state","t":2,"pid":10,"tid":10,"from":"new","to":"running"}"#,
            #"{"type":"state","t":5,"pid":10,"tid":10,"from":"running","to":"blocked","why":"nanosleep"}"#,
            #"{"type":"state","t":9,"pid":10,"tid":10,"from":"blocked","to":"running"}"#,
            #"{"type":"exit","t":12,"pid":10,"status":{"exited":0}}"#,
            #"{"type":"reap","t":13,"pid":10,"by":9,"how":"wait"}"#,
        ], states: .sampled)
        let r = try TraceValidator.run(TraceReader(text: text, name: "s.jsonl"), contract: true)
        #expect(r.formatted == [])
        let sched = try TraceValidator.run(TraceReader(text: text.replacingOccurrences(of: "\"sampled\"", with: "\"sched\""), name: "s.jsonl"), contract: true)
        #expect(sched.formatted == ["s.jsonl:3: pid 10 tid 10: illegal transition new→running",
                                    "s.jsonl:5: pid 10 tid 10: illegal transition blocked→running"])
        let events = try TraceReader(text: text).readAll().map(\.event)
        let h = ProcessHistory(events: events)
        #expect(h.states == .sampled)
        let s = TraceStats(h)
        #expect(s.readyTime == nil)
        let txt = s.text()
        #expect(txt.contains("  runnable     ") && txt.contains("RUNNABLE"))
        #expect(!txt.contains("RUNNING") && !txt.contains("READY") && !txt.contains("  running ") && !txt.contains("  ready "))
        let table = ProcessTable.at(6, h)
        #expect(ReplayView(source: .sampled).stateLabel(table[10]!) == "blocked")
        #expect(table[10]?.blockedOn == "nanosleep")
        #expect(ReplayView(source: .sampled).stateLabel(ProcessTable.at(10, h)[10]!) == "runnable")
    }
}

@Suite(.serialized) struct LiveReplayTests {
    /// On a terminal (a pty from script(1)) replay redraws in place and restores the cursor.
    @Test(.enabled(if: access("/usr/bin/script", X_OK) == 0))
    func terminalReplayRedrawsInPlaceAndRestoresTheCursor() throws {
        let cmd = "\(ValidateCLITests.binary) replay --speed 100 \(Fixture.path("zombie.jsonl"))"
        let r = try run(["/usr/bin/script", "-qec", cmd, "/dev/null"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("\u{1B}[H\u{1B}[J"))
        #expect(r.stdout.contains("\u{1B}[?25l"))
        #expect(r.stdout.hasSuffix("\u{1B}[?25h"))
        #expect(r.stdout.contains("done"))
        #expect(r.stdout.contains("reaped by 1 (adopted)"))
    }
}
