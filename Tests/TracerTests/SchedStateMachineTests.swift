#if os(Linux)
@preconcurrency import Glibc
import Testing
import Lifecycle
@testable import Tracer

/// The state machine on hand-made scheduler event sequences (times in µs from origin 0).
@Suite(.serialized, .timeLimit(.minutes(1)))
struct SchedStateMachineTests {
    func us(_ x: Int64) -> Int64 { x * 1000 }
    func sw(_ t: Int64, cpu: Int32 = 0, _ prev: Int32, _ st: Int64, _ next: Int32) -> SchedEvent {
        SchedEvent(ts: us(t), cpu: cpu, current: prev, record: .switchTask(prev: prev, prevState: st, next: next))
    }
    func wake(_ t: Int64, cpu: Int32 = 0, by: Int32, _ tid: Int32, target: Int32 = 0, new: Bool = false) -> SchedEvent {
        SchedEvent(ts: us(t), cpu: cpu, current: by, record: .wakeup(tid: tid, targetCPU: target, isNew: new))
    }

    func run(_ events: [SchedEvent], setup: (inout SchedStateMachine) -> Void = { _ in }) -> [TraceEvent] {
        var m = SchedStateMachine(origin: 0)
        m.pidResolver = { _, _ in nil }
        setup(&m)
        for e in events { m.feed(e) }
        m.flushPending()
        return m.take(upTo: .max)
    }

    func path(_ ev: [TraceEvent], _ tid: Int) -> [String] {
        steps(ev, tid: tid).map { "\($0.t / 1000):\($0.from)>\($0.to)" + ($0.why.map { "(\($0))" } ?? "") }
    }

    @Test("fork, wakeup_new, run, preempt, sleep, wake, exit: the five states in order")
    func fullLife() {
        let ev = run([
            SchedEvent(ts: us(10), cpu: 0, current: 100, record: .fork(parent: 100, child: 101)),
            wake(11, by: 100, 101, new: true),
            sw(20, 100, 1, 101),           // parent sleeps, child in
            sw(30, 101, 0, 7),             // child preempted by an untraced task
            sw(40, 7, 1, 101),
            sw(50, 101, 1, 0),             // child sleeps
            wake(250, by: 7, 101),
            sw(260, 7, 0x100, 101),        // in-kernel preemption flag on prev
            SchedEvent(ts: us(270), cpu: 0, current: 101, record: .exit(tid: 101)),
            sw(280, 101, 0x20, 0),         // final switch as a zombie: already terminated
        ]) { $0.track(tid: 100, pid: 100) }
        #expect(path(ev, 101) == [
            "11:new>ready", "20:ready>running", "30:running>ready", "40:ready>running",
            "50:running>blocked", "250:blocked>ready", "260:ready>running", "270:running>terminated",
        ])
        // The child was auto-tracked with its own pid (resolver unknown: pid = tid).
        if case let .state(pid, _, _, _, _) = ev.first(where: { if case .state(_, 101, _, _, _) = $0.kind { return true }; return false })!.kind {
            #expect(pid == 101)
        }
        #expect(pathProblems(steps(ev, tid: 101)) == [])
    }

    @Test("a reused tid is a new task from new: after its predecessor's exit, or even when that exit was never seen")
    func reusedTidStartsOver() {
        let fork = { (t: Int64, child: Int32) in SchedEvent(ts: self.us(t), cpu: 0, current: 100, record: .fork(parent: 100, child: child)) }
        let exit = { (t: Int64, tid: Int32) in SchedEvent(ts: self.us(t), cpu: 0, current: tid, record: .exit(tid: tid)) }
        var m = SchedStateMachine(origin: 0)
        m.pidResolver = { _, _ in nil }
        m.track(tid: 100, pid: 100)
        for e in [fork(10, 101), wake(11, by: 100, 101, new: true), sw(20, 100, 1, 101), exit(30, 101)] { m.feed(e) }
        // The tracer follows the tid's next task before the reader feeds the kernel's fork of
        // it: the old task's events keep their pid, and nothing is emitted for the new one yet.
        m.track(tid: 101, pid: 101)
        #expect(m.state(of: 101) == .terminated)
        for e in [fork(40, 101), wake(41, by: 100, 101, new: true), sw(42, 0, 0, 101)] { m.feed(e) }
        // A third task with that tid, whose predecessor's exit was lost.
        for e in [fork(60, 101), wake(61, by: 100, 101, new: true)] { m.feed(e) }
        m.flushPending()
        let ev = m.take(upTo: .max)
        #expect(path(ev, 101) == ["11:new>ready", "20:ready>running", "30:running>terminated",
                                  "41:new>ready", "42:ready>running", "61:new>ready"])
    }

    @Test("a task woken in the idle context of its CPU runs though no switch-in is reported")
    func idleWakeInferred() {
        let ev = run([
            sw(0, cpu: 1, 200, 1, 0),                              // sleeps, CPU1 idle
            wake(5000, cpu: 1, by: 0, 200, target: 1),             // timer wakeup in idle
            // no idle→200 switch reported; next event on CPU1 is 200 leaving
            sw(5015, cpu: 1, 200, 1, 0),
        ]) { $0.track(tid: 200, pid: 200); $0.feed(SchedEvent(ts: 0, cpu: 1, current: 200, record: .wakeup(tid: 999, targetCPU: 1, isNew: false))) }
        #expect(path(ev, 200) == [
            "0:new>ready", "0:ready>running", "0:running>blocked",
            "5000:blocked>ready", "5000:ready>running", "5015:running>blocked",
        ])
    }

    @Test("of two tasks woken on an idle CPU, the one seen running runs; the other stays ready")
    func twoIdleWakes() {
        let ev = run([
            sw(0, cpu: 1, 300, 1, 301), sw(1, cpu: 1, 301, 1, 0),
            wake(100, cpu: 1, by: 0, 300, target: 1),
            wake(101, cpu: 1, by: 0, 301, target: 1),
            SchedEvent(ts: us(130), cpu: 1, current: 301, record: .wakeup(tid: 5, targetCPU: 0, isNew: false)),
            sw(140, cpu: 1, 301, 1, 300),
        ]) { $0.track(tid: 300, pid: 300); $0.track(tid: 301, pid: 300) }
        #expect(path(ev, 301).suffix(3) == ["101:blocked>ready", "101:ready>running", "140:running>blocked"])
        #expect(path(ev, 300).suffix(2) == ["100:blocked>ready", "140:ready>running"])
    }

    @Test("stops say why: ptrace stop is traced, job control is stopped or the noted signal, waits use the note")
    func whys() {
        let ev = run([
            sw(10, 400, 0x8, 0),     // t
            wake(20, by: 0, 400, target: 0), sw(21, 0, 0, 400),
            sw(30, 400, 0x4, 0),     // T with a noted signal
            wake(40, by: 0, 400, target: 0), sw(41, 0, 0, 400),
            sw(50, 400, 0x1, 0),     // S inside a noted wait4
            wake(60, by: 0, 400, target: 0), sw(61, 0, 0, 400),
            sw(70, 400, 0x2, 0),     // D with the provider
        ]) {
            $0.track(tid: 400, pid: 400)
            $0.noteWhy(tid: 400, why: "stopped:SIGTSTP", from: us(25), to: us(35))
            $0.noteWhy(tid: 400, why: "wait4", from: us(45))
            $0.endWhy(tid: 400, at: us(55))
            $0.whyProvider = { tid, t in tid == 400 && t == 70_000 ? "read" : nil }
        }
        let whys = steps(ev, tid: 400).filter { $0.to == .blocked }.map { $0.why ?? "-" }
        #expect(whys == ["traced", "stopped:SIGTSTP", "wait4", "read"])
    }

    @Test("wakeups of running or ready tasks change nothing; untracked tasks are ignored")
    func redundantWakeups() {
        let ev = run([
            sw(0, 0, 0, 500),
            wake(1, cpu: 1, by: 9, 500, target: 0),    // already running
            sw(2, 500, 0, 0),                          // preempted → ready
            wake(3, cpu: 1, by: 9, 500, target: 0),    // already ready
            sw(4, 0, 0, 501), sw(5, 501, 1, 500),      // 501 untracked
        ]) { $0.track(tid: 500, pid: 500) }
        #expect(path(ev, 500) == ["0:new>ready", "0:ready>running", "2:running>ready", "5:ready>running"])
        #expect(steps(ev, tid: 501).isEmpty)
    }

    @Test("exec by a non-leader thread: the thread's id ends, the leader's id continues in its state")
    func threadExec() {
        let ev = run([
            sw(0, 0, 0, 700), sw(1, 700, 1, 701),           // leader sleeps, thread runs on CPU0
            wake(15, cpu: 1, by: 0, 700, target: 1),         // de_thread kills the leader
            sw(16, cpu: 1, 0, 0, 700),
            SchedEvent(ts: us(20), cpu: 1, current: 700, record: .exit(tid: 700)),
            sw(21, cpu: 1, 700, 0x10, 0),
            SchedEvent(ts: us(30), cpu: 0, current: 700, record: .exec(pid: 700, oldPid: 701)),
            sw(40, 700, 1, 0),                               // the exec'd image sleeps as 700
        ]) { $0.track(tid: 700, pid: 700); $0.track(tid: 701, pid: 700) }
        #expect(path(ev, 701) == ["1:new>ready", "1:ready>running", "30:running>terminated"])
        #expect(path(ev, 700) == [
            "0:new>ready", "0:ready>running", "1:running>blocked", "15:blocked>ready", "16:ready>running",
            "40:running>blocked",
        ])
        #expect(pathProblems(steps(ev, tid: 700), mustTerminate: false) == [])
    }

    @Test("a new task's clone flags say thread or process, whatever /proc says when it is read late")
    func cloneFlagsDecideThePid() {
        let ev = run([
            sw(0, 0, 0, 800),
            SchedEvent(ts: us(1), cpu: 0, current: 800, record: .newTask(tid: 801, cloneFlags: 0x003d_0f00)),  // pthread_create
            SchedEvent(ts: us(2), cpu: 0, current: 800, record: .fork(parent: 800, child: 801)),
            SchedEvent(ts: us(3), cpu: 0, current: 800, record: .newTask(tid: 802, cloneFlags: 0x0120_0011)),  // fork()
            SchedEvent(ts: us(4), cpu: 0, current: 800, record: .fork(parent: 800, child: 802)),
            wake(5, cpu: 0, by: 800, 801, target: 1), wake(6, cpu: 0, by: 800, 802, target: 1),
        ]) { m in
            m.track(tid: 800, pid: 800)
            m.pidResolver = { _, _ in nil }   // /proc no longer knows (the thread has exec'd)
        }
        #expect(ev.contains { if case .state(800, 801?, .new, .ready, _) = $0.kind { return true }; return false })
        #expect(ev.contains { if case .state(802, 802?, .new, .ready, _) = $0.kind { return true }; return false })
    }

    @Test("the old leader's exit read after the exec (a late CPU) does not end the tid the thread took")
    func lateLeaderExitAfterThreadExec() {
        let ev = run([
            sw(0, 0, 0, 700), sw(1, 700, 1, 701),           // leader sleeps, thread runs on CPU0
            wake(15, cpu: 1, by: 0, 700, target: 1),
            sw(16, cpu: 1, 0, 0, 700),
            SchedEvent(ts: us(30), cpu: 0, current: 700, record: .exec(pid: 700, oldPid: 701)),
            SchedEvent(ts: us(20), cpu: 1, current: 700, record: .exit(tid: 700)),   // late
            sw(21, cpu: 1, 700, 0x10, 0),                                           // late
            sw(40, 700, 1, 0),                               // the exec'd image sleeps as 700
            wake(90, cpu: 1, by: 0, 700, target: 0), sw(91, 0, 0, 700),
        ]) { $0.track(tid: 700, pid: 700); $0.track(tid: 701, pid: 700) }
        let p = path(ev, 700)
        #expect(!p.contains { $0.hasSuffix(">terminated") }, "\(p)")
        #expect(p.suffix(3) == ["40:running>blocked", "90:blocked>ready", "91:ready>running"], "\(p)")
    }

    @Test("the old leader's last switch-out, reported under the thread's tid after de_thread swapped them, does not end the exec'd image")
    func oldLeaderDiesUnderTheThreadsTid() {
        // Recorded on this machine (times shortened): the leader exits on CPU1; its final
        // switch-out already carries the thread's tid (prev 553, dead); then the exec.
        let ev = run([
            sw(0, cpu: 1, 0, 0, 552),
            SchedEvent(ts: us(1), cpu: 1, current: 552, record: .newTask(tid: 553, cloneFlags: 0x003d_0f00)),
            SchedEvent(ts: us(2), cpu: 1, current: 552, record: .fork(parent: 552, child: 553)),
            wake(3, cpu: 1, by: 552, 553, target: 0),
            sw(4, cpu: 0, 0, 0, 553), sw(5, cpu: 0, 553, 2, 0),          // the thread blocks
            wake(48, cpu: 1, by: 552, 553, target: 0),
            sw(49, cpu: 0, 0, 0, 553),                                  // the thread runs the exec
            SchedEvent(ts: us(50), cpu: 1, current: 552, record: .exit(tid: 552)),
            sw(51, cpu: 1, 553, 0x10, 0),                                // old leader, swapped tid, dead
            SchedEvent(ts: us(60), cpu: 0, current: 552, record: .exec(pid: 552, oldPid: 553)),
            sw(70, cpu: 0, 552, 1, 0),                                  // the new image sleeps
            wake(120, cpu: 1, by: 0, 552, target: 0), sw(121, cpu: 0, 0, 0, 552),
        ]) { $0.track(tid: 552, pid: 552) }
        let leader = path(ev, 552)
        #expect(!leader.contains { $0.hasSuffix(">terminated") }, "\(leader)")
        #expect(leader.suffix(3) == ["70:running>blocked", "120:blocked>ready", "121:ready>running"], "\(leader)")
        #expect(pathProblems(steps(ev, tid: 553)) == [])
        #expect(pathProblems(steps(ev, tid: 552), mustTerminate: false) == [])
    }

    /// What `validate` checks of a tid's written path: each `from` is the state before, except
    /// right after an `unknown`; times never go back.
    func modelProblems(_ events: [TraceEvent], tid: Int) -> [String] {
        var problems: [String] = []
        var cur: ProcState = .new
        var lastT = Int64.min
        for e in events {
            switch e.kind {
            case let .state(_, tt, from, to, _) where tt == tid:
                if from != cur && cur != .unknown { problems.append("\(e.t / 1000): \(from)>\(to) but the model has it \(cur)") }
                cur = to
            case let .stateUnknown(_, tt, _) where tt == tid:
                cur = .unknown
            default:
                continue
            }
            if e.t < lastT { problems.append("\(e.t / 1000): time goes back") }
            lastT = e.t
        }
        return problems
    }

    func lost(_ t: Int64, cpu: Int32) -> SchedEvent { SchedEvent(ts: us(t), cpu: cpu, current: 0, record: .lost(count: 3)) }

    func unknowns(_ ev: [TraceEvent]) -> [(t: Int64, tid: Int)] {
        ev.compactMap { if case let .stateUnknown(_, tid?, _) = $0.kind { return ($0.t / 1000, tid) }; return nil }
    }

    @Test("a loss read after later events of another CPU is placed before them: those events still say where their task is")
    func lossReadLateComesBeforeTheStatesAfterIt() {
        var m = SchedStateMachine(origin: 0)
        m.track(tid: 100, pid: 100)
        m.track(tid: 300, pid: 300)
        m.feed(sw(10, cpu: 0, 7, 0, 100))             // 100 runs on CPU0
        m.feed(sw(20, cpu: 1, 7, 0, 300))             // 300 runs on CPU1
        m.feed(sw(40, cpu: 0, 100, 0, 7))             // 100 preempted
        m.feed(sw(100, cpu: 0, 7, 0, 100))            // 100 runs again
        m.feed(SchedEvent(ts: us(105), cpu: 0, current: 100, record: .fork(parent: 100, child: 400)))
        m.feed(wake(106, cpu: 0, by: 100, 400, new: true))
        // CPU1's events after 49 were overwritten; its next page is read only now.
        m.feed(lost(50, cpu: 1))
        m.feed(wake(110, cpu: 0, by: 100, 200))       // 100 is current on CPU0: still running
        m.feed(sw(120, cpu: 0, 100, 1, 7))            // 100 sleeps
        m.feed(sw(130, cpu: 1, 300, 1, 0))            // 300 seen again: it was running
        let ev = m.take(upTo: .max)
        #expect(modelProblems(ev, tid: 100) == [], "\(path(ev, 100))")
        #expect(modelProblems(ev, tid: 300) == [])
        #expect(ev.map(\.t) == ev.map(\.t).sorted())
        // Every task there at the loss is unknown from it: 100 until its switch-in at 100 µs
        // (known since), 300 until it is seen; 400, born after it, is not.
        #expect(unknowns(ev).map(\.t) == [50, 50])
        #expect(Set(unknowns(ev).map(\.tid)) == [100, 300])
        #expect(m.state(of: 100) == .blocked)
        #expect(path(ev, 100).suffix(2) == ["100:ready>running", "120:running>blocked"])
        #expect(path(ev, 400) == ["106:new>ready"])
    }

    @Test("a loss that stops the feed, read after later events, withdraws them: nothing is claimed after the stop")
    func stoppingLossReadLateWithdrawsWhatFollowsIt() {
        var m = SchedStateMachine(origin: 0)
        m.stopOnLoss = true
        m.track(tid: 100, pid: 100)
        m.feed(sw(10, cpu: 0, 7, 0, 100))
        m.feed(sw(40, cpu: 0, 100, 0, 7))
        m.feed(sw(100, cpu: 0, 7, 0, 100))            // later than the loss below
        m.feed(SchedEvent(ts: us(105), cpu: 0, current: 100, record: .exit(tid: 100)))
        m.feed(lost(50, cpu: 1))
        let ev = m.take(upTo: .max)
        #expect(modelProblems(ev, tid: 100) == [])
        #expect(ev.allSatisfy { $0.t <= us(50) }, "\(path(ev, 100))")
        #expect(unknowns(ev).map(\.t) == [50])
        #expect(m.withdrawnAfterStop == 2)
        #expect(m.stoppedUnknowns == 1)
    }

    @Test("events are released in time order, never behind a pending inference")
    func holdBack() {
        var m = SchedStateMachine(origin: 0)
        m.track(tid: 600, pid: 600)
        m.track(tid: 601, pid: 601)
        m.feed(sw(0, cpu: 1, 600, 1, 0))
        m.feed(wake(100, cpu: 1, by: 0, 600, target: 1))     // pending on CPU1
        m.feed(sw(110, cpu: 0, 0, 0, 601))                    // 601 runs on CPU0
        let early = m.take(upTo: .max)
        #expect(early.allSatisfy { $0.t < us(100) })
        m.feed(sw(150, cpu: 1, 600, 1, 0))                    // evidence: 600 ran on CPU1
        let rest = m.take(upTo: .max)
        #expect(rest.map(\.t) == rest.map(\.t).sorted())
        #expect(path(rest, 600) == ["100:blocked>ready", "100:ready>running", "150:running>blocked"])
    }
}
#endif

/// Pairing the kernel's tids with a pid namespace's, on hand-made event sequences.
@Suite struct PidNamespaceMapTests {
    func ev(_ current: Int32, _ r: SchedRecord) -> SchedEvent { SchedEvent(ts: 0, cpu: 0, current: current, record: r) }

    @Test("the root is proctrace's first child that is not a thread; the rest pair in each creator's order")
    func pairsInOrder() {
        var m = PidNamespaceMap(selfGlobal: 500)
        m.rootPending = 6
        // proctrace's own threads come first and are not the root.
        #expect(m.see(ev(500, .newTask(tid: 501, cloneFlags: 0x003d_0f00))).root == nil)
        #expect(m.see(ev(500, .fork(parent: 500, child: 501))).root == nil)
        _ = m.see(ev(500, .newTask(tid: 502, cloneFlags: 0x0120_0011)))
        #expect(m.see(ev(500, .fork(parent: 500, child: 502))).root == 502)
        #expect(m.ns(502) == 6 && m.global(6) == 502)
        // The root makes two tasks: the kernel reports them before ptrace does, then ptrace.
        _ = m.see(ev(502, .fork(parent: 502, child: 510)))
        _ = m.see(ev(502, .fork(parent: 502, child: 511)))
        #expect(m.ns(510) == nil)
        #expect(m.ptraceMade(child: 7, byThread: 6).map(\.ns) == [7])
        #expect(m.ptraceMade(child: 8, byThread: 6).map(\.ns) == [8])
        #expect(m.ns(510) == 7 && m.ns(511) == 8)
        // A grandchild reported by ptrace before its creator is paired: it waits for the chain.
        #expect(m.ptraceMade(child: 9, byThread: 12).isEmpty)
        _ = m.see(ev(511, .fork(parent: 511, child: 520)))
        _ = m.see(ev(520, .fork(parent: 520, child: 530)))
        #expect(m.ns(520) == nil)
        let paired = m.ptraceMade(child: 12, byThread: 8)
        #expect(paired.map(\.ns).sorted() == [9, 12])
        #expect(m.ns(520) == 12 && m.ns(530) == 9)
    }

    @Test("the kernel's fork of the root may be read before the recorder says which pid it has here")
    func rootForkSeenBeforeTheRecorderTracksIt() {
        var m = PidNamespaceMap(selfGlobal: 500)
        _ = m.see(ev(500, .newTask(tid: 502, cloneFlags: 0x0120_0011)))
        #expect(m.see(ev(500, .fork(parent: 500, child: 502))).root == 502)
        _ = m.see(ev(502, .fork(parent: 502, child: 510)))
        #expect(m.ns(502) == nil)
        // The recorder, slowed down, tracks its root only now.
        #expect(m.rootStarted(6).map(\.ns) == [6])
        #expect(m.ns(502) == 6)
        #expect(m.ptraceMade(child: 7, byThread: 6).map(\.ns) == [7])
        #expect(m.ns(510) == 7)
    }

    @Test("a thread's states wait for the thread's own pairing, not only its process's")
    func threadWaitsForItsPairing() {
        var r = NamespaceRenumbering(selfGlobal: 500)
        _ = r.map.rootStarted(6)
        _ = r.map.see(ev(500, .newTask(tid: 502, cloneFlags: 0x0120_0011)))
        _ = r.map.see(ev(500, .fork(parent: 500, child: 502)))
        _ = r.map.see(ev(502, .fork(parent: 502, child: 503)))   // a thread of the root
        let thread = TraceEvent(t: 10, .state(pid: 502, tid: 503, from: .new, to: .ready, why: nil))
        #expect(r.renumber([thread], now: 10, final: false).isEmpty)
        _ = r.map.ptraceMade(child: 7, byThread: 6)
        let out = r.renumber([], now: 20, final: false)
        #expect(out.count == 1)
        if case let .state(pid, tid, _, _, _)? = out.first?.kind { #expect(pid == 6 && tid == 7) }
    }

    @Test("a reused pid here stops naming its earlier task's kernel tid once ptrace reports the new task")
    func reusedNumberWaitsForItsNewPairing() {
        var m = PidNamespaceMap(selfGlobal: 500)
        _ = m.rootStarted(6)
        _ = m.see(ev(500, .newTask(tid: 502, cloneFlags: 0x0120_0011)))
        _ = m.see(ev(500, .fork(parent: 500, child: 502)))
        _ = m.see(ev(502, .fork(parent: 502, child: 510)))
        _ = m.ptraceMade(child: 7, byThread: 6)
        #expect(m.ns(510) == 7 && m.global(7) == 510)
        // 7 is reaped and handed out again here: ptrace reports it before the kernel's fork is read.
        #expect(m.ptraceMade(child: 7, byThread: 6).isEmpty)
        #expect(m.global(7) == nil)
        #expect(m.ns(510) == 7)   // the earlier task's late events still renumber
        _ = m.see(ev(502, .fork(parent: 502, child: 530)))
        #expect(m.global(7) == 530 && m.ns(530) == 7)
    }
}
