/// What each event type means to the table (`ProcessTable.apply` dispatches here).
extension ProcessTable {
    /// The ways one event disagrees with the model, at its line.
    struct Violations {
        let line: Int
        var list: [ModelViolation] = []
        mutating func add(_ message: String, state: Bool = false) {
            list.append(ModelViolation(line: line, message, isStateTransition: state))
        }
    }

    /// The header: the schema and where states come from.
    mutating func header(schema: String, states: StateSource, _ v: inout Violations) {
        if schema != "proctrace/1" { v.add("unsupported schema \"\(schema)\" (expected proctrace/1)") }
        source = states
    }

    /// The root is born.
    mutating func spawn(pid: Int, argv: [String], ppid: Int?, pgid: Int?, sid: Int?, at t: Int64, _ v: inout Violations) {
        if rootPid != nil { v.add("a second spawn (the root was pid \(rootPid!))") }
        if let old = processes[pid] { v.add("spawn of pid \(pid), which still exists (born at line \(old.birthLine))") }
        rootPid = pid
        var p = newProcess(pid: pid, ppid: ppid ?? 0, argv: argv, image: nil, t: t, line: v.line)
        p.pgid = pgid
        p.sid = sid
        insert(p)
    }

    /// A process already running when the recording attached: its state is not known until
    /// the state source first reports it.
    mutating func attach(pid: Int, ppid: Int, argv: [String], exe: String?, state: String?, threads: [Int]?, pgid: Int?, sid: Int?,
                         at t: Int64, _ v: inout Violations) {
        if let old = processes[pid], !old.isZombie { v.add("attach of pid \(pid), which still exists (born at line \(old.birthLine))") }
        var p = newProcess(pid: pid, ppid: ppid, argv: argv, image: exe ?? argv.first, t: t, line: v.line)
        p.pgid = pgid
        p.sid = sid
        let tids = threads ?? [pid]
        p.threadCount = max(1, tids.count)
        if source != .none {
            let initial = ProcState.atAttach(procState: state)
            for tid in tids { p.threads[tid] = ThreadState(state: initial.state, since: t, why: initial.why) }
            p.hasRecordedStates = true
            p.attachedAt = t
        }
        refreshState(&p, t: t)
        insert(p)
    }

    /// A process is born to `parent` (the creator, or its parent with CLONE_PARENT).
    mutating func fork(creator: Int, child: Int, parent: Int, at t: Int64, _ v: inout Violations) {
        let c = processes[creator]
        if c == nil { v.add("fork by pid \(creator), which does not exist") }
        else if c!.isZombie { v.add("fork by pid \(creator) after its exit") }
        if parent != creator, let c, parent != c.ppid {
            v.add("fork: parent \(parent) is neither the creator \(creator) nor the creator's parent \(c.ppid)")
        }
        if let old = processes[child] {
            v.add("fork of pid \(child), which still exists (born at line \(old.birthLine), not reaped): a pid is reused only after its reap")
        }
        // Before its first exec a child runs its creator's image (its argv[0] when the creator
        // has not exec'd either: the root before its exec).
        var p = newProcess(pid: child, ppid: parent, argv: c?.argv ?? [], image: c.flatMap { $0.image ?? $0.argv.first }, t: t, line: v.line)
        let g = processes[parent] ?? c
        p.pgid = g?.pgid; p.sid = g?.sid
        insert(p)
    }

    /// A thread starts or ends.
    mutating func thread(pid: Int, tid: Int, phase: ThreadPhase, at t: Int64, _ v: inout Violations) {
        guard var p = alive(pid, "thread \(phase)", &v) else { return }
        if phase == .start {
            p.threadCount += 1
        } else {
            p.threadCount = max(1, p.threadCount - 1)
            if let ts = p.threads.removeValue(forKey: tid), ts.state == .running { p.cpuTime += t - ts.since }
            refreshState(&p, t: t)
        }
        processes[pid] = p
    }

    /// A new image; one thread is left.
    mutating func exec(pid: Int, path: String, argv: [String], formerTid: Int?, at t: Int64, _ v: inout Violations) {
        guard var p = alive(pid, "exec", &v) else { return }
        p.image = path; p.argv = argv; p.execCount += 1
        // Exec leaves one thread, which takes the leader's tid. The kernel swaps the tids
        // before the exec is reported, so scheduler events for the leader's tid already
        // describe the exec'ing thread: its state is the one to keep when there is one.
        p.threadCount = 1
        let keep = p.threads[pid] ?? formerTid.flatMap { p.threads[$0] }
        for (tid, ts) in p.threads where ts.state == .running && tid != pid { p.cpuTime += t - ts.since }
        p.threads = [:]
        if let keep { p.threads[pid] = keep }
        refreshState(&p, t: t)
        processes[pid] = p
    }

    /// A failed exec (with `error`): the process runs its old image on.
    mutating func failedExec(pid: Int, _ v: inout Violations) {
        // A failed exec (with `error`): the process runs its old image on.
        if let p = alive(pid, "exec", &v) { processes[pid] = p }
    }

    /// A wait call begins.
    mutating func waitBegin(pid: Int, call: WaitCall, target: Int, options: [String], tid: Int?, at t: Int64, _ v: inout Violations) {
        guard var p = alive(pid, "wait begin", &v) else { return }
        p.pendingWaits.append(PendingWait(tid: tid, begin: t, call: call, target: target, options: options))
        refreshState(&p, t: t)
        processes[pid] = p
    }

    /// A wait call returns.
    mutating func waitEnd(pid: Int, tid: Int?, at t: Int64, _ v: inout Violations) {
        guard var p = alive(pid, "wait end", &v) else { return }
        if let k = p.pendingWaits.lastIndex(where: { $0.tid == tid }) {
            p.pendingWaits.remove(at: k)
        } else {
            v.add("wait end by pid \(pid)\(tid.map { " tid \($0)" } ?? "") without a wait begin")
        }
        refreshState(&p, t: t)
        processes[pid] = p
    }

    /// The process ends: a zombie until its reap.
    mutating func exit(pid: Int, status: ExitStatus, at t: Int64, _ v: inout Violations) {
        guard var p = processes.removeValue(forKey: pid) else { v.add("exit of pid \(pid), which does not exist"); return }
        if p.isZombie { v.add("second exit of pid \(pid)"); processes[pid] = p; return }
        p.exitTime = t; p.exitStatus = status
        for (_, ts) in p.threads where ts.state == .running { p.cpuTime += t - ts.since }
        let already = p.threads[pid]?.state == .terminated ? p.threads[pid] : nil
        p.threads = p.hasRecordedStates ? [pid: already ?? ThreadState(state: .terminated, since: t)] : [:]
        p.pendingWaits = []
        p.threadCount = 1
        refreshState(&p, t: t)
        processes[pid] = p
    }

    /// The zombie is gone.
    mutating func reap(pid: Int, by: Int, how: ReapHow, _ v: inout Violations) {
        guard let p = processes[pid] else { v.add("reap of pid \(pid), which does not exist"); return }
        if !p.isZombie {
            v.add("reap of pid \(pid) before its exit (a process must exit before it is reaped)")
        }
        if pid != rootPid && by != p.ppid {
            v.add("pid \(pid) reaped by \(by) (how: \(how)) but its parent is \(p.ppid)")
        }
        processes[pid] = nil
    }

    /// Orphaned: a new parent.
    mutating func reparent(pid: Int, from: Int, to: Int, _ v: inout Violations) {
        guard var p = processes.removeValue(forKey: pid) else { v.add("reparent of pid \(pid), which does not exist"); return }
        if from != p.ppid { v.add("reparent of pid \(pid) from \(from), but its parent is \(p.ppid)") }
        if let f = processes[from], !f.isZombie {
            v.add("reparent of pid \(pid) from \(from) before \(from) exited (a reparent only follows the parent's exit)")
        }
        if to == pid { v.add("reparent of pid \(pid) to itself") }
        p.ppid = to
        p.isOrphaned = true
        processes[pid] = p
    }

    /// A signal delivered: only checked (the table keeps no signals).
    func signal(pid: Int, _ v: inout Violations) {
        if processes[pid] == nil { v.add("signal to pid \(pid), which does not exist") }
    }

    /// New process group and session ids.
    mutating func group(pid: Int, pgid: Int, sid: Int, _ v: inout Violations) {
        guard var p = processes.removeValue(forKey: pid) else { v.add("group change of pid \(pid), which does not exist"); return }
        p.pgid = pgid; p.sid = sid
        processes[pid] = p
    }

    /// A recorded state transition, checked against the model and the machine.
    mutating func state(pid: Int, tid: Int?, from: ProcState, to: ProcState, why: String?, at t: Int64, _ v: inout Violations) {
        guard var p = processes.removeValue(forKey: pid) else { v.add("state of pid \(pid), which does not exist", state: true); return }
        // A trace that said "none" but has states: the states are trusted.
        p.hasRecordedStates = true
        let key = tid ?? pid
        var name: String { tid.map { "pid \(pid) tid \($0)" } ?? "pid \(pid)" }
        if p.isZombie {
            // The exit already made it terminated; a →terminated event at the exit is a repeat.
            if to != .terminated { v.add("\(name): \(from.rawValue)→\(to.rawValue) after its exit", state: true) }
            processes[pid] = p
            return
        }
        // After an `unknown` event, or while an attached task has only /proc's word for its
        // state, the model has no state to check `from` against.
        if let cur = p.threads[key], cur.state != from, cur.state != .unknown, cur.since != p.attachedAt {
            v.add("\(name): recorded \(from.rawValue)→\(to.rawValue) but the model has it \(cur.state.rawValue)", state: true)
        }
        if let problem = ProcessTable.illegalTransition(from: from, to: to, source: source) {
            v.add("\(name): \(problem)", state: true)
        }
        if to == .blocked, let w = why, WaitCall.isWaitReason(w), p.pendingWaits.isEmpty {
            v.add("\(name): blocked in \(w) but no wait call is pending", state: true)
        }
        let prev = p.threads[key]
        if (prev?.state ?? from) == .running { p.cpuTime += t - (prev?.since ?? p.birth) }
        p.threads[key] = ThreadState(state: to, since: t, why: to == .blocked ? why : nil)
        refreshState(&p, t: t)
        processes[pid] = p
    }

    /// The state source stopped knowing this task's state.
    mutating func stateUnknown(pid: Int, tid: Int?, reason: String, at t: Int64, _ v: inout Violations) {
        guard var p = processes.removeValue(forKey: pid) else { v.add("unknown state of pid \(pid), which does not exist", state: true); return }
        // A zombie's state is known (terminated) whatever the source says.
        if !p.isZombie {
            let key = tid ?? pid
            let prev = p.threads[key]
            if let prev, prev.state == .running { p.cpuTime += t - prev.since }
            p.hasRecordedStates = true
            p.threads[key] = ThreadState(state: .unknown, since: t, why: reason)
            refreshState(&p, t: t)
        }
        processes[pid] = p
    }
}
