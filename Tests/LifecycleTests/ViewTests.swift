import Testing
@testable import Lifecycle

@Suite struct StatsTests {
    @Test func forkWithoutWaitNamesTheParentThatFailedToReap() throws {
        let s = TraceStats(try ProcessHistory(path: Fixture.path("zombie.jsonl")))
        let z = try #require(s.zombies.first)
        #expect(z.id == ProcessID(pid: 4101))
        #expect(z.duration == 512_100_000 - 12_000_000)
        #expect(z.parent == 4100 && z.parentCommand == "python3")
        #expect(z.reapedBy == 1 && z.how == "adopted")
        #expect(s.orphans.count == 1 && s.orphans[0].from == 4100 && s.orphans[0].to == 1 && s.orphans[0].t == 512_000_000)
        #expect(s.text().contains("python3(4101)            500ms     parent python3(4100), reaped by 1 (adopted)"))
        // No scheduler states: no claim about ready time, and no "running" label.
        #expect(s.readyTime == nil)
        #expect(!s.text().contains("running"))
        let j = s.json().object!
        #expect(j["longest_zombies"]?.array?.first?.object?["zombie_ns"] == .int(500_100_000))
        #expect(j["longest_zombies"]?.array?.first?.object?["parent"] == .int(4100))
        #expect(j["orphans"]?.array?.first?.object?["to"] == .int(1))
    }

    @Test func timesThatSumPastInt64SaturateInsteadOfTrapping() throws {
        // 1100 processes, each alive for 2^53 ns: the total is past Int64.max.
        var events = [TraceEvent(t: 0, .spawn(pid: 1, argv: ["root"]))]
        for pid in 2...1101 { events.append(TraceEvent(t: 0, .fork(pid: 1, child: pid, parent: 1, via: .fork))) }
        for pid in 2...1101 { events.append(TraceEvent(t: TraceEvent.maxTime, .exit(pid: pid, status: .exited(0)))) }
        let s = TraceStats(ProcessHistory(events: events))
        #expect(s.processCount == 1101)
        #expect(s.totalStates.values.contains(Int64.max))
        #expect(s.text().contains("root"))
    }

    @Test func countsFatesPeakAndReadyTime() throws {
        let s = TraceStats(try ProcessHistory(path: Fixture.path("pidreuse.jsonl")))
        #expect(s.processCount == 3)
        #expect(s.fates.map { "\($0.fate)=\($0.count)" } == ["exited 0=2", "killed by SIGKILL=1"])
        #expect(s.reaps.map { "\($0.how)=\($0.count)" } == ["wait=2", "auto=1"])
        // The two incarnations of 4101 never coexist: peak is the root plus one child.
        #expect(s.peakConcurrency == 2)
        #expect(s.eventCounts.first { $0.type == "fork" }?.count == 2)
        let w = TraceStats(try ProcessHistory(path: Fixture.path("wait.jsonl")))
        #expect(w.readyTime == Int64(340_000))
        #expect(w.waits.first?.duration == 850_000)
        #expect(w.waits.first?.result == .pid(4101))
    }
}

@Suite struct TreeViewTests {
    @Test func treeShowsExecChainsFatesAndMarkers() throws {
        let text = TreeView.render(try ProcessHistory(path: Fixture.path("pidreuse.jsonl")))
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines[1].hasPrefix("sh(4100)  lived 8.00µs  exited 0"))
        #expect(lines[2].hasPrefix("├─true(4101)  sh → true"))
        #expect(lines[3].hasPrefix("└─sleep(4101#2)  sh → sleep"))
        #expect(lines[3].contains("killed by SIGKILL") && lines[3].contains("[auto-reaped]"))
        #expect(!text.contains("\u{1B}["))
        let z = TreeView.render(try ProcessHistory(path: Fixture.path("zombie.jsonl")))
        #expect(z.contains("└─python3(4101)  lived 2.00ms  exited 0  zombie 500ms, reaped by adopter 1  [orphaned: 4100→1 at 0.512000s]"))
        #expect(TreeView.render(try ProcessHistory(path: Fixture.path("zombie.jsonl")), style: Style(enabled: true)).contains("\u{1B}["))
    }

    @Test func cliTreeHasNoColourInAPipe() throws {
        let r = try run([ValidateCLITests.binary, "tree", Fixture.path("zombie.jsonl")])
        #expect(r.status == 0)
        #expect(r.stdout.contains("python3(4101)") && !r.stdout.contains("\u{1B}["))
        let bad = try run([ValidateCLITests.binary, "tree", Fixture.path("malformed.jsonl")])
        #expect(bad.status == 2)
        #expect(bad.stdout.contains("malformed.jsonl:3: expected ',' or '}'"))
        let js = try run([ValidateCLITests.binary, "stats", "--json", Fixture.path("zombie.jsonl")])
        #expect(js.status == 0)
        let o = try JSONLineParser.parseObject(js.stdout.trimmingNewline())
        #expect(o["processes"] == .int(2))
    }
}

extension String {
    func trimmingNewline() -> String { hasSuffix("\n") ? String(dropLast()) : self }
}

@Suite struct ArgvHintsInBuildsTests {
    /// make forks gcc for each file (thirty shared flags, then `-c -o X.o X.c`) and once to link.
    func build() -> ProcessHistory {
        let flags = (1...30).map { "-Wflag\($0)" }
        var events = [TraceEvent(t: 0, .spawn(pid: 100, argv: ["make", "-j2"]))]
        let files = ["lapi", "lcode", "lctype", "ldebug", "ldo", "lgc"]
        var t: Int64 = 10
        for (i, f) in files.enumerated() {
            let pid = 101 + i
            events.append(TraceEvent(t: t, .fork(pid: 100, child: pid, parent: 100, via: .vfork)))
            events.append(TraceEvent(t: t + 1, .exec(pid: pid, path: "/usr/bin/gcc", argv: ["gcc"] + flags + ["-c", "-o", "\(f).o", "\(f).c"],
                                                    exe: nil, elf: nil, formerTid: nil)))
            events.append(TraceEvent(t: t + 2, .exit(pid: pid, status: .exited(0))))
            events.append(TraceEvent(t: t + 3, .reap(pid: pid, by: 100, how: .wait)))
            t += 10
        }
        events.append(TraceEvent(t: t, .fork(pid: 100, child: 200, parent: 100, via: .vfork)))
        events.append(TraceEvent(t: t + 1, .exec(pid: 200, path: "/usr/bin/gcc", argv: ["gcc", "-o", "lua", "lua.o", "liblua.a", "-lm"],
                                                exe: nil, elf: nil, formerTid: nil)))
        events.append(TraceEvent(t: t + 2, .exit(pid: 200, status: .exited(0))))
        events.append(TraceEvent(t: t + 3, .reap(pid: 200, by: 100, how: .wait)))
        return ProcessHistory(events: events)
    }

    @Test func aHintThatRunsOutOfRoomEndsWithoutADanglingOption() {
        let args = ["-O2", "-DPART=one", "-DN=1", "-c", "-o", "/tmp/build/objects/one.o", "part.c"]
        #expect(ArgvHints.hint(args) == "-O2 -DPART=one -DN=1 -c …")
        #expect(ArgvHints.hint(["-o", "lapi.o", "lapi.c"]) == "-o lapi.o lapi.c")
    }

    @Test func eachCompileIsToldApartByItsOwnFile() throws {
        let h = build()
        let hints = ArgvHints.hints(h, shown: Set(h.processes.map(\.id)))
        let by = { (pid: Int) in h.processes.first { $0.pid == pid }.flatMap { hints[$0.id] } }
        #expect(by(101) == "-o lapi.o lapi.c")
        #expect(by(106) == "-o lgc.o lgc.c")
        #expect(by(200) == "-o lua lua.o liblua.a -lm")
        #expect(by(100) == nil)
        // The text tree shows them in place of the shared flags.
        let text = TreeView.render(h)
        #expect(text.contains("gcc(101)  make → gcc  … -o lapi.o lapi.c"), "\(text)")
        #expect(!text.contains("-Wflag1 "))
    }
}
