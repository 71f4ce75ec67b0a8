import Testing
@testable import Lifecycle

@Suite struct ProcessHistoryTests {
    /// Thread 4150's exit is written before its `running → terminated` at the same instant (the
    /// ptrace and scheduler streams merge either way). Its states stay as recorded: no running
    /// stretch from its start to its exit over its 19.5 ms blocked in futex, and its process is
    /// blocked while both threads are (from 2.2 ms, the main thread in wait4).
    @Test func aThreadExitBeforeItsLastStateKeepsItsStates() throws {
        let h = try ProcessHistory(path: Fixture.path("render-family.jsonl"))
        let p = try #require(h.record(for: ProcessID(pid: 4100)))
        let own = p.stateIntervals.filter { $0.tid == 4150 && $0.state != .terminated && $0.end > $0.start }
        #expect(own.map(\.state) == [.ready, .running, .blocked, .running])
        #expect(own.map(\.start) == [1_000_000, 1_100_000, 1_500_000, 21_000_000])
        #expect(own.map(\.end) == [1_100_000, 1_500_000, 21_000_000, 22_000_000])
        #expect(p.processStates().first { $0.start <= 5_000_000 && 5_000_000 < $0.end }?.state == .blocked)
    }

    @Test func forkWithoutWaitLeavesAZombieUntilAdoption() throws {
        let h = try ProcessHistory(path: Fixture.path("zombie.jsonl"))
        #expect(!h.incomplete)
        #expect(h.states == .none)
        #expect(h.processes.map(\.id.description) == ["4100", "4101"])
        let child = try #require(h.record(for: ProcessID(pid: 4101)))
        #expect(child.parent == ProcessID(pid: 4100))
        #expect(child.exitTime == 12_000_000)
        #expect(child.reapTime == 512_100_000)
        #expect(child.zombieDuration == 500_100_000)
        #expect(child.reapHow == .adopted)
        #expect(child.reapedBy == 1)
        #expect(child.isOrphaned)
        #expect(child.adopter == 1)
        #expect(child.parentPid(at: 100) == 4100)
        #expect(child.parentPid(at: 512_000_000) == 1)
        #expect(child.command == "python3")
        // Coarse states: running until exit, then terminated until reap.
        #expect(child.processStates() == [
            StateInterval(tid: nil, state: .running, start: 10_000_000, end: 12_000_000),
            StateInterval(tid: nil, state: .terminated, start: 12_000_000, end: 512_100_000),
        ])
        let root = try #require(h.roots.first)
        #expect(root.pid == 4100 && root.via == .spawn && root.parentPid == 4099)
        #expect(root.initialPgid == 4100 && root.initialSid == 4000)
        #expect(child.initialPgid == 4100 && child.initialSid == 4000)
        #expect(h.tracerPid == 4099)
        #expect(h.children(of: root.id).map(\.pid) == [4101])
        #expect(h.end?.events == 11)
    }

    @Test func pidReuseMakesTwoProcesses() throws {
        let h = try ProcessHistory(path: Fixture.path("pidreuse.jsonl"))
        let twins = h.records(pid: 4101)
        #expect(twins.map(\.id.description) == ["4101", "4101#2"])
        #expect(twins[0].command == "true" && twins[0].exitStatus == .exited(0) && twins[0].reapHow == .wait)
        #expect(twins[1].command == "sleep" && twins[1].exitStatus == .signaled("SIGKILL", core: false) && twins[1].reapHow == .auto)
        #expect(twins[1].birth == 6000)
        #expect(h.process(pid: 4101, at: 7500)?.id.generation == 2)
        #expect(h.process(pid: 4101, at: 3500)?.id.generation == 1)
        #expect(h.process(pid: 4101, at: 5500) == nil)
        let root = try #require(h.roots.first)
        #expect(root.children == [ProcessID(pid: 4101, generation: 1), ProcessID(pid: 4101, generation: 2)])
        // The wait shows as blocked in the coarse states.
        #expect(root.processStates().contains(StateInterval(tid: nil, state: .blocked, start: 4500, end: 5000, why: "wait4")))
    }

    @Test func schedStatesGiveExactIntervalsAndTimesAddUpToLifetime() throws {
        let h = try ProcessHistory(path: Fixture.path("wait.jsonl"))
        #expect(h.states == .sched)
        let parent = try #require(h.record(for: ProcessID(pid: 4100)))
        let states = parent.processStates()
        #expect(states.first == StateInterval(tid: nil, state: .new, start: 120_000, end: 120_000) || states.first?.state == .ready)
        #expect(states.contains(StateInterval(tid: nil, state: .blocked, start: 31_210_000, end: 32_010_000, why: "wait4")))
        #expect(states.last == StateInterval(tid: nil, state: .terminated, start: 40_000_000, end: 40_100_000))
        let times = parent.timeInStates()
        #expect(times[.ready] == Int64(10_000 + 30_000))
        #expect(times[.blocked] == 800_000)
        let total = times.values.reduce(0, +)
        #expect(total == 40_100_000 - 120_000)
        let w = try #require(parent.waits.first)
        #expect(w.begin == 31_200_000 && w.end == 32_050_000 && w.result == .pid(4101) && w.status == .exited(1) && w.tid == 4100)
        let child = try #require(h.record(for: ProcessID(pid: 4101)))
        #expect(child.timeInStates()[.ready] == 300_000)
        #expect(child.timeInStates()[.terminated] == 50_000)
        #expect(child.execs.isEmpty && child.command == "python3.11")
        #expect(parent.execs.first?.elf?.interp == "/lib64/ld-linux-x86-64.so.2")
        #expect(h.eventCounts["state"] == 9 && h.eventCounts["cgroup_move"] == 1)
    }

    @Test func threadsMergeIntoOneProcessState() {
        let events: [TraceEvent] = [
            TraceEvent(t: 0, .spawn(pid: 10, argv: ["a"])),
            TraceEvent(t: 0, .state(pid: 10, tid: 10, from: .new, to: .running, why: nil)),
            TraceEvent(t: 5, .thread(pid: 10, tid: 11, phase: .start)),
            TraceEvent(t: 5, .state(pid: 10, tid: 11, from: .new, to: .ready, why: nil)),
            TraceEvent(t: 10, .state(pid: 10, tid: 10, from: .running, to: .blocked, why: "futex")),
            TraceEvent(t: 12, .state(pid: 10, tid: 11, from: .ready, to: .running, why: nil)),
            TraceEvent(t: 20, .state(pid: 10, tid: 11, from: .running, to: .blocked, why: "read")),
            TraceEvent(t: 30, .state(pid: 10, tid: 10, from: .blocked, to: .running, why: nil)),
            TraceEvent(t: 40, .exit(pid: 10, status: .exited(0))),
            TraceEvent(t: 41, .reap(pid: 10, by: 1, how: .wait)),
        ]
        let h = ProcessHistory(events: events)
        let p = h.processes[0]
        let merged = p.processStates().map { "\($0.state.rawValue)@\($0.start)-\($0.end)" }
        #expect(merged == ["running@0-10", "ready@10-12", "running@12-20", "blocked@20-30", "running@30-40", "terminated@40-41"])
        #expect(p.threads.map(\.tid) == [10, 11])
        #expect(p.threads[1].end == 40)
    }
}
