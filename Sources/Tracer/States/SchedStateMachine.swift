import CProcTrace
import Lifecycle

/// Turns raw scheduler events into five-state transitions of the traced tasks.
///
/// Feed it `SchedEvent`s in time order (`feed`), tell it which tasks are traced (`track`;
/// children of tracked tasks are tracked automatically from `sched_process_fork`, so the
/// new→ready at `sched_wakeup_new` is not lost even though ptrace reports the fork later),
/// and pull `state` events with `take(upTo:)`. Not thread-safe: `SchedSource` wraps it in a lock.
///
/// The kernel's record is incomplete (on these VMs no idle→task `sched_switch` is emitted on
/// CPU1), so transitions are inferred: a task seen running (switching out, or current in any
/// event) was switched in; a task woken in the idle context of its target CPU runs as soon as
/// that CPU leaves idle; a wakeup of a running or ready task changes nothing.
struct SchedStateMachine {
    /// A tracked task.
    struct Task {
        var pid: Int
        var state: ProcState
    }

    /// A task woken onto an idle CPU whose idle→task switch may not be reported.
    struct PendingIdleWake {
        var tid: Int32
        var t: Int64   // monotonic ns of the wakeup
        /// Raised in the idle context of the target CPU itself (not a guess from another CPU).
        var certain: Bool
    }

    /// CLOCK_MONOTONIC ns of the trace's t = 0.
    let origin: Int64
    /// Consulted on every →blocked from a sleep (S/D) that has no noted `why`: tid, trace-relative t.
    var whyProvider: ((_ tid: Int, _ t: Int64) -> String?)?
    /// Maps a new task (tid, its creator's pid) to its process when the lead has not said
    /// (`SchedSource` checks `/proc/CREATOR/task/TID`); nil means a new process (pid = tid).
    var pidResolver: (_ tid: Int, _ creatorPid: Int) -> Int? = { _, _ in nil }
    /// When a non-leader thread's exec gave it each leader's tid (monotonic ns).
    private var execTookTid: [Int32: Int64] = [:]
    /// Whether each task announced by `task_newtask` (and not yet by its fork) is a thread.
    private var newTaskIsThread: [Int32: Bool] = [:]

    private(set) var tasks: [Int32: Task] = [:]
    /// Processes that have (or had) a followed task other than their main thread: only their
    /// main thread's end needs the search of `transition` (a scan of every task ever followed).
    private var pidsWithThreads: Set<Int> = []
    /// How many `state` events of each tid wait in `output` (for `hasOutput`, asked at every
    /// fork: a scan of `output` each time cost the reader more than the rest of the fork).
    var statesWaiting: [Int32: Int] = [:]
    private var whyNotes: [Int32: [(why: String, from: Int64, to: Int64?)]] = [:]
    var output: [TraceEvent] = []
    /// Index in `output` of the latest →blocked without a why, per tid (for `fillSleepKinds`).
    var unexplained: [Int32: Int] = [:]
    private var currentOnCPU: [Int32: Int32] = [:]
    private var lastIdleSeen: [Int32: Int64] = [:]
    var pending: [Int32: [PendingIdleWake]] = [:]
    var releasedUpTo: Int64 = 0
    /// Latest event time fed (monotonic ns).
    private(set) var lastFed: Int64 = Int64.min
    /// Events fed that arrived earlier than an event already fed (cross-CPU stragglers).
    private(set) var lateEvents = 0

    /// One fewer `state` event of `tid` waits in `output`.
    private mutating func unwait(_ tid: Int32) {
        if let n = statesWaiting[tid] { statesWaiting[tid] = n > 1 ? n - 1 : nil }
    }

    /// Events fed, by kind (`FeedCounts`), for measurements (`PROCTRACE_TIMES`).
    private(set) var counts = FeedCounts()

    /// How long (ns) an idle-context wakeup waits for evidence before the task is taken as running.
    var idleWakeTimeout: Int64 = 2_000_000
    /// A main thread that dies while other threads of its process live may be a non-leader
    /// exec in progress (the kernel kills the leader, then gives its tid to the exec'ing
    /// thread, then reports `sched_process_exec`). Its →terminated is held back this long
    /// (ns) so that the exec can withdraw it even when the reader is slow.
    var leaderExitHold: Int64 = 250_000_000
    /// Main threads whose →terminated is held, with its kernel time.
    var heldLeaderExits: [Int32: Int64] = [:]
    /// Set once the source has stopped for good (`feedStopped`): no event is fed any more,
    /// and every task tracked from then on is unknown from its start.
    private(set) var stoppedReason: String?
    /// `unknown` events emitted because the source stopped for good: each such task missed at
    /// least its `sched_process_exit`, so each counts as one lost event at least.
    private(set) var stoppedUnknowns = 0
    /// Ring-buffer losses seen (`.lost` records fed).
    private(set) var lossesSeen = 0
    /// A loss stops the feed for good instead of leaving tasks unknown until seen again: in a
    /// pid namespace the kernel's tids are paired with ours by the order of fork events, and
    /// a loss may have taken some, after which no event can be trusted to name its task.
    var stopOnLoss = false

    init(origin: Int64) { self.origin = origin }

    // MARK: tracking

    /// Starts following `tid` (of process `pid`). A task never seen before starts `new`;
    /// for one already followed (auto-tracked at its fork) this only fixes its pid. A tid whose
    /// task has terminated is a reused one: its new task is made by the kernel's fork event
    /// (which, read late, may come after this call), and the old task's events keep their pid.
    mutating func track(tid: Int, pid: Int, at: Int64? = nil) {
        let k = Int32(truncatingIfNeeded: tid)
        if let task = tasks[k], task.state != .terminated {
            setPid(k, pid)
        } else if let reason = stoppedReason {
            // Nothing will be heard of it (nor of a reused tid's new task): unknown from the start.
            tasks[k] = Task(pid: pid, state: .unknown)
            noteTask(k, of: pid)
            output.append(TraceEvent(t: max(at ?? releasedUpTo, releasedUpTo), .stateUnknown(pid: pid, tid: tid, reason: reason)))
            stoppedUnknowns += 1
        } else if tasks[k] != nil {
            // A terminated task's tid, reused: the kernel's fork of it makes the new task.
        } else {
            tasks[k] = Task(pid: pid, state: .new)
            noteTask(k, of: pid)
        }
    }

    /// The source lost events at `ts` (monotonic ns): from then on the state of every
    /// followed live task is unknown, until an event about it says more (an `unknown` event
    /// each, then a `state` event whose `from` is what that event implies).
    mutating func lostEvents(at ts: Int64, reason: String) {
        lossesSeen += 1
        markUnknown(at: ts, reason: reason)
    }

    /// The source stopped for good at `ts` (monotonic ns; the last instant it was known to
    /// work): every followed live task is unknown from then on, and nothing more is fed.
    mutating func feedStopped(at ts: Int64, reason: String) {
        guard stoppedReason == nil else { return }
        stoppedUnknowns += markUnknown(at: ts, reason: reason, stop: true)
        stoppedReason = reason
    }

    /// `state` events withdrawn because they were later than the instant the feed stopped at
    /// (fed before a loss that was read late, see `markUnknown`): counted as lost.
    private(set) var withdrawnAfterStop = 0

    /// Makes every followed live task unknown from `ts` (monotonic ns) on; returns how many.
    ///
    /// A loss can be read after events of another CPU that are later than it: a CPU's events
    /// reach the reader late, and its loss is placed right after the last event read from it.
    /// Those events, already fed, say where their tasks are after the loss, as they would had
    /// they been fed after it: such a task gets its `unknown` at the loss (taking the events
    /// out sorts it before them) and keeps the state they left it in. Marking it unknown after
    /// them instead made its next transition start from a state the written path had already
    /// left (validate: "recorded ready→running but the model has it running"). A task whose
    /// path starts after the loss (its `from:"new"` event is later) was not there to lose.
    /// When the loss stops the feed (`stop`), nothing after it is claimed: those later events
    /// are withdrawn (and counted as lost), and their tasks are unknown from the loss too.
    @discardableResult
    private mutating func markUnknown(at ts: Int64, reason: String, stop: Bool = false) -> Int {
        // What was inferred but not settled is not known either.
        pending = [:]
        heldLeaderExits = [:]
        let t = max(ts - origin, releasedUpTo)
        // (Nothing taken is later than `releasedUpTo`: every event later than `t` is still here.)
        var later: Set<Int32> = []
        var startsLater: Set<Int32> = []
        for e in output where e.t > t {
            switch e.kind {
            case let .state(_, tid?, from, _, _):
                later.insert(Int32(truncatingIfNeeded: tid))
                if from == .new { startsLater.insert(Int32(truncatingIfNeeded: tid)) }
            case let .stateUnknown(_, tid?, _):
                later.insert(Int32(truncatingIfNeeded: tid))
            default:
                break
            }
        }
        if stop && !later.isEmpty { withdraw(after: t) }
        var n = 0
        for tid in tasks.keys.sorted() {
            guard var task = tasks[tid] else { continue }
            if later.contains(tid) && !stop {
                // Known again after the loss from events already fed: unknown only until them.
                if startsLater.contains(tid) { continue }
            } else {
                guard later.contains(tid) || (task.state != .unknown && task.state != .terminated) else { continue }
                task.state = .unknown
                tasks[tid] = task
                unexplained[tid] = nil
            }
            output.append(TraceEvent(t: t, .stateUnknown(pid: task.pid, tid: Int(tid), reason: reason)))
            n += 1
        }
        return n
    }

    /// Takes the events later than `t` (trace-relative ns) out of the output: the feed stopped
    /// before them. The `state` events among them count as lost (`withdrawnAfterStop`).
    private mutating func withdraw(after t: Int64) {
        var kept: [TraceEvent] = []
        var newIndex: [Int: Int] = [:]
        for (i, e) in output.enumerated() {
            if e.t <= t {
                newIndex[i] = kept.count
                kept.append(e)
            } else if case .state = e.kind {
                withdrawnAfterStop += 1
            }
        }
        output = kept
        unexplained = unexplained.compactMapValues { newIndex[$0] }
        statesWaiting.removeAll()
        for e in output { if case let .state(_, tid?, _, _, _) = e.kind { statesWaiting[Int32(truncatingIfNeeded: tid), default: 0] += 1 } }
    }

    /// Corrects a task's pid, also in the events not taken yet.
    private mutating func setPid(_ tid: Int32, _ pid: Int) {
        guard var task = tasks[tid], task.pid != pid else { return }
        task.pid = pid
        tasks[tid] = task
        noteTask(tid, of: pid)
        for i in output.indices {
            if case .state(_, let tt, let f, let to, let w) = output[i].kind, tt == Int(tid) {
                output[i].kind = .state(pid: pid, tid: Int(tid), from: f, to: to, why: w)
            } else if case .stateUnknown(_, let tt, let r) = output[i].kind, tt == Int(tid) {
                output[i].kind = .stateUnknown(pid: pid, tid: Int(tid), reason: r)
            }
        }
    }

    /// Whether events of `tid` wait in the output (not taken yet).
    private func hasOutput(_ tid: Int32) -> Bool { statesWaiting[tid] != nil }

    /// Notes that `tid` is a task of process `pid` (see `pidsWithThreads`).
    private mutating func noteTask(_ tid: Int32, of pid: Int) { if pid != Int(tid) { pidsWithThreads.insert(pid) } }

    /// Stops following `tid`; later events about it are ignored.
    mutating func untrack(tid: Int) {
        let k = Int32(truncatingIfNeeded: tid)
        tasks[k] = nil
        whyNotes[k] = nil
    }

    /// Whether `tid` is followed now.
    func isTracked(tid: Int) -> Bool { tasks[Int32(truncatingIfNeeded: tid)] != nil }

    /// Whether any live followed task belongs to process `pid`.
    func followsProcess(pid: Int) -> Bool {
        tasks.values.contains { $0.pid == pid && $0.state != .terminated }
    }

    /// The current state of a followed task.
    func state(of tid: Int) -> ProcState? { tasks[Int32(truncatingIfNeeded: tid)]?.state }

    /// Says why `tid` blocks between `from` and `to` (trace-relative ns; `to` nil = until
    /// `endWhy`): `wait4`, `waitid`, `stopped:SIGSTOP`… Used for any →blocked in that interval.
    mutating func noteWhy(tid: Int, why: String, from: Int64, to: Int64? = nil) {
        let k = Int32(truncatingIfNeeded: tid)
        whyNotes[k, default: []].append((why, from, to))
        if whyNotes[k]!.count > 16 { whyNotes[k]!.removeFirst(whyNotes[k]!.count - 16) }
    }

    /// Closes the open `noteWhy` intervals of `tid` at `at` (trace-relative ns).
    mutating func endWhy(tid: Int, at: Int64) {
        let k = Int32(truncatingIfNeeded: tid)
        guard var notes = whyNotes[k] else { return }
        for i in notes.indices where notes[i].to == nil { notes[i].to = at }
        whyNotes[k] = notes
    }

    // MARK: feeding

    /// Applies one scheduler event (monotonic time order across CPUs).
    mutating func feed(_ e: SchedEvent) {
        if stoppedReason != nil { return }
        if case let .lost(count) = e.record {
            let what = count.map { "\($0) events lost" } ?? "events lost"
            let reason = "ring buffer overrun on cpu \(e.cpu) (\(what))"
            if stopOnLoss {
                lossesSeen += 1
                feedStopped(at: e.ts, reason: reason + "; in a pid namespace tids cannot be paired after a loss")
            } else {
                lostEvents(at: e.ts, reason: reason)
            }
            return
        }
        if e.ts < lastFed { lateEvents += 1 } else { lastFed = e.ts }
        expirePending(now: e.ts)
        // (What expired would have expired at the next event just the same.)
        let outputBefore = output.count
        if !heldLeaderExits.isEmpty { heldLeaderExits = heldLeaderExits.filter { e.ts - $0.value <= leaderExitHold } }
        resolvePending(on: e)
        // What a leader's old task did (its death in de_thread) but was read only after the exec
        // that gave its tid to the exec'ing thread (a CPU's events can reach the reader late on a
        // loaded VM) is not about the tid's new owner, which lives on: it is skipped.
        func old(_ tid: Int32) -> Bool { execTookTid[tid].map { e.ts <= $0 } ?? false }
        if !execTookTid.isEmpty, let subject = e.subject, old(subject) { return }
        let cpu = e.cpu
        // Whoever is current on a CPU is running: covers switch-ins the kernel did not report.
        if e.current == 0 {
            lastIdleSeen[cpu] = e.ts
        } else if let task = tasks[e.current], task.state != .running, task.state != .terminated, !old(e.current) {
            becomeRunning(e.current, at: e.ts)
        }
        currentOnCPU[cpu] = e.current
        switch e.record {
        case let .switchTask(prev, prevState, next):
            counts.switches += 1
            if let task = tasks[prev], task.state != .terminated, !old(prev) {
                // From unknown, switching out says only "was running": no stretch is invented.
                if task.state != .running && task.state != .unknown { becomeRunning(prev, at: e.ts) }
                switchedOut(prev, state: prevState, at: e.ts)
            }
            currentOnCPU[cpu] = next
            if next == 0 {
                lastIdleSeen[cpu] = e.ts
            } else {
                pending[cpu] = nil
                if let task = tasks[next], task.state != .running, task.state != .terminated {
                    becomeRunning(next, at: e.ts)
                }
            }
        case let .wakeup(tid, target, _):
            counts.count(e.record)
            guard let task = tasks[tid] else {
                // Its only use: `current` (a task seen running, or settling a pending wakeup).
                counts.wakeupsOfOthers += 1
                if output.count != outputBefore { counts.changedByOthers += 1 }
                if e.current == 0 { counts.wakeupsOfOthersFromIdle += 1 }
                break
            }
            switch task.state {
            case .new, .blocked:
                transition(tid, to: .ready, at: e.ts)
                let certain = e.cpu == target && e.current == 0
                if certain || (e.cpu != target && currentOnCPU[target] == 0) {
                    pending[target, default: []].append(PendingIdleWake(tid: tid, t: e.ts, certain: certain))
                }
            case .ready, .running, .terminated, .unknown:
                // A wakeup of an unknown task says runnable, not whether it runs: still unknown.
                break
            }
        case let .newTask(tid, flags):
            counts.newTasks += 1
            if tasks[e.current] != nil { newTaskIsThread[tid] = flags & UInt64(PT_CLONE_THREAD) != 0 }
        case let .fork(parent, child):
            counts.forks += 1
            let isThread = newTaskIsThread.removeValue(forKey: child)
            // A new task, even when its tid is still followed: the kernel hands out a tid only
            // once its previous task is gone (pid reuse), so that task's end was lost or its
            // exit is not fed yet. Unless `track` made it new already (it has no events yet).
            let fresh = tasks[child].map { $0.state == .new && !hasOutput(child) } ?? false
            if tasks[parent] != nil, !fresh {
                // The clone flags say it exactly; /proc only if they were not seen (it can be
                // too late there: a thread that has exec'd is gone from its task list).
                let pid = isThread.map { $0 ? tasks[parent]!.pid : Int(child) }
                    ?? pidResolver(Int(child), tasks[parent]!.pid) ?? Int(child)
                tasks[child] = Task(pid: pid, state: .new)
                noteTask(child, of: pid)
                // Why-notes of the tid's earlier task end before this one was made.
                let made = e.ts - origin
                whyNotes[child] = whyNotes[child]?.filter { $0.from >= made }
                unexplained[child] = nil
                heldLeaderExits[child] = nil
                execTookTid[child] = nil
            }
        case let .exit(tid, _):
            counts.exits += 1
            if let task = tasks[tid], task.state != .terminated {
                transition(tid, to: .terminated, at: e.ts)
            }
        case let .exec(pid, oldPid):
            counts.execs += 1
            if pid == oldPid { counts.plainExecs += 1 }
            if oldPid != pid, tasks[oldPid] != nil { threadExec(thread: oldPid, leader: pid, at: e.ts) }
        case .lost, .signalDeliver:
            break
        case .waitEnter:
            // The task is in wait4 from here (read from the ring: no tracer note needed).
            if tasks[e.current] != nil { noteWhy(tid: Int(e.current), why: "wait4", from: e.ts - origin) }
        case .waitExit:
            // Closes only the ring's own wait4 notes: the tracer's notes (a stop that came after)
            // reach the machine before this event, which is fed later.
            let t = e.ts - origin
            if var notes = whyNotes[e.current] {
                for i in notes.indices where notes[i].to == nil && notes[i].from <= t && notes[i].why == "wait4" { notes[i].to = t }
                whyNotes[e.current] = notes
            }
        }
    }

    /// Resolves every pending idle wakeup (at the end of the trace).
    mutating func flushPending() {
        for (cpu, list) in pending {
            if let first = list.first, first.certain { becomeRunningAfterIdle(first, cpu: cpu) }
        }
        pending = [:]
        heldLeaderExits = [:]
    }

    // MARK: transitions

    /// A non-leader thread exec'd and now carries the leader's id: the thread's id ends, the
    /// leader's id lives on in the thread's state. The leader's →terminated (its exit in
    /// `de_thread`, just before) is withdrawn if it has not been taken yet.
    private mutating func threadExec(thread: Int32, leader: Int32, at ts: Int64) {
        guard tasks[thread] != nil else { return }
        heldLeaderExits[leader] = nil
        execTookTid[leader] = ts
        // The thread belonged to the leader's process, whatever was guessed at its clone.
        setPid(thread, tasks[leader]?.pid ?? Int(leader))
        let t = tasks[thread]!
        if var l = tasks[leader], l.state == .terminated,
           let i = output.lastIndex(where: { if case .state(_, Int(leader)?, _, .terminated, _) = $0.kind { return true }; return false }),
           case let .state(_, _, before, _, _) = output[i].kind {
            output.remove(at: i)
            unwait(leader)
            unexplained = unexplained.compactMapValues { $0 == i ? nil : ($0 > i ? $0 - 1 : $0) }
            l.state = before
            tasks[leader] = l
        }
        // `sched_process_exec` is raised by the exec'ing task itself, on a CPU: whatever its old
        // tid last showed (a late event; or the old leader's final switch-out, which the kernel
        // reports under the thread's tid because de_thread has already swapped their ids), the
        // leader's id now runs. The thread's id ends here unless that death already ended it.
        if t.state != .terminated {
            if t.state != .running { becomeRunning(thread, at: ts) }
            transition(thread, to: .terminated, at: ts)
        }
        guard let l = tasks[leader] else {
            tasks[leader] = Task(pid: t.pid, state: .running)
            noteTask(leader, of: t.pid)
            return
        }
        if l.state == .terminated {
            tasks[leader] = Task(pid: l.pid, state: .running) // already taken: the path has a gap
            noteTask(leader, of: l.pid)
        } else if l.state != .running {
            becomeRunning(leader, at: ts)
        }
    }

    /// Bits of sched_switch's `prev_state` (the kernel's `TASK_REPORT` states, in no
    /// user-space header: `include/linux/sched.h`).
    private enum PrevState {
        static let stopped: Int64 = 0x4, traced: Int64 = 0x8, dead: Int64 = 0x10, zombie: Int64 = 0x20
        /// TASK_REPORT_MAX: the task was preempted (still runnable).
        static let preempted: Int64 = 0x100
        static let reportMask: Int64 = 0xff
    }

    private mutating func switchedOut(_ tid: Int32, state: Int64, at ts: Int64) {
        let s = state & PrevState.reportMask
        if state & (PrevState.dead | PrevState.zombie) != 0 {   // X (dead) or Z (zombie)
            transition(tid, to: .terminated, at: ts)
        } else if s == 0 || state & PrevState.preempted != 0 {  // preempted, still runnable
            transition(tid, to: .ready, at: ts)
        } else if state & PrevState.traced != 0 {               // t: ptrace stop
            // A job-control stop of a traced task also sits in TASK_TRACED (the tracer keeps it
            // stopped with PTRACE_LISTEN): the tracer's note tells it from its own stops.
            let noted = noteFor(tid, at: ts)
            transition(tid, to: .blocked, at: ts, why: noted?.hasPrefix("stopped:") == true ? noted : "traced")
        } else if state & PrevState.stopped != 0 {              // T: job-control stop
            let noted = noteFor(tid, at: ts)
            transition(tid, to: .blocked, at: ts, why: noted.map { $0.hasPrefix("stopped") ? $0 : "stopped" } ?? "stopped")
        } else {                               // S, D, I, P: asleep
            var why = noteFor(tid, at: ts)
            if why == nil, let provider = whyProvider { why = provider(Int(tid), ts - origin) }
            transition(tid, to: .blocked, at: ts, why: why)
            if why == nil { unexplained[tid] = output.count - 1 }
        }
    }

    private func noteFor(_ tid: Int32, at ts: Int64) -> String? {
        guard let notes = whyNotes[tid] else { return nil }
        let t = ts - origin
        // The latest note that covers t (notes from the ring reach the machine later than the
        // tracer's, so the order they were noted in is not their time order).
        var best: (why: String, from: Int64)?
        for n in notes.reversed() where n.from <= t && (n.to.map { t <= $0 } ?? true) && n.from > (best?.from ?? .min) { best = (n.why, n.from) }
        return best?.why
    }

    /// Moves a task to running, through the states the kernel did not report.
    private mutating func becomeRunning(_ tid: Int32, at ts: Int64) {
        guard let task = tasks[tid] else { return }
        if task.state == .new || task.state == .blocked { transition(tid, to: .ready, at: ts) }
        transition(tid, to: .running, at: ts)
        for (cpu, list) in pending where list.contains(where: { $0.tid == tid }) {
            pending[cpu] = list.filter { $0.tid != tid }
            if pending[cpu]!.isEmpty { pending[cpu] = nil }
        }
    }

    private mutating func becomeRunningAfterIdle(_ p: PendingIdleWake, cpu: Int32) {
        guard tasks[p.tid]?.state == .ready else { return }
        let t = max(p.t, lastIdleSeen[cpu] ?? p.t)
        transition(p.tid, to: .running, at: t)
    }

    /// Pending idle wakeups on the event's CPU are settled by the first non-idle event there.
    private mutating func resolvePending(on e: SchedEvent) {
        guard let list = pending[e.cpu], e.current != 0 else { return }
        pending[e.cpu] = nil
        if case .switchTask(let prev, _, _) = e.record, prev == 0 { return } // reported idle→task
        if let p = list.first(where: { $0.tid == e.current }) { becomeRunningAfterIdle(p, cpu: e.cpu) }
    }

    /// An idle CPU that raised no event for a while after waking a task in its idle context
    /// is running that task; a guess made from another CPU is dropped (the task stays ready
    /// until it is seen).
    private mutating func expirePending(now: Int64) {
        for (cpu, list) in pending {
            guard let first = list.first, now - first.t > idleWakeTimeout else { continue }
            if first.certain { becomeRunningAfterIdle(first, cpu: cpu) }
            pending[cpu] = nil
        }
    }

    private mutating func transition(_ tid: Int32, to: ProcState, at ts: Int64, why: String? = nil) {
        guard var task = tasks[tid], task.state != to else { return }
        // Out of unknown, `from` is what the observation implies: a task switched in was
        // ready; one that blocks, is preempted or exits was running.
        let from = task.state == .unknown ? (to == .running ? .ready : .running) : task.state
        task.state = to
        tasks[tid] = task
        let t = max(ts - origin, releasedUpTo)
        output.append(TraceEvent(t: t, .state(pid: task.pid, tid: Int(tid), from: from, to: to, why: why)))
        statesWaiting[tid, default: 0] += 1
        if to == .terminated, task.pid == Int(tid), pidsWithThreads.contains(task.pid),
           tasks.contains(where: { $0.key != tid && $0.value.pid == task.pid && $0.value.state != .terminated }) {
            heldLeaderExits[tid] = ts
        }
    }
}
