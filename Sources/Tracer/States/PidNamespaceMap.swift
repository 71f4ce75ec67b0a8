#if os(Linux)
import CProcTrace
import Lifecycle

/// Pairs the kernel's task numbers with a pid namespace's (a container's).
///
/// Scheduler tracepoints carry the tids of the initial pid namespace; ptrace and /proc carry
/// the tracer's own. Inside a container the two differ, and nothing in the container says
/// which global tid a task has. But both sides see every task being made, each in its
/// creator's order: the kernel's `sched_process_fork` (creator's global tid, child's global
/// tid) and ptrace's fork/vfork/clone events (creator's tid, child's tid, here). So the k-th
/// task a thread makes on one side is the k-th on the other. The chain starts at proctrace's
/// own main thread, whose global tid a `trace_marker` write reveals (the marker's
/// `common_pid`), and whose first child that is not a thread is the workload's root.
struct PidNamespaceMap {
    /// proctrace's main thread (global tid), the maker of the root.
    var selfGlobal: Int32
    /// The root's tid here, until the kernel's fork of it is seen.
    var rootPending: Int?
    /// The root's global tid, from the kernel's fork of it (which the reader may see before
    /// the recorder, busy starting it, says which tid it has here).
    private(set) var rootGlobal: Int32?
    private(set) var toNS: [Int32: Int] = [:]
    private(set) var toGlobal: [Int: Int32] = [:]
    /// Whether each task proctrace's main thread makes is a thread (task_newtask).
    private var selfChildIsThread: [Int32: Bool] = [:]
    /// Tasks made and not yet paired: kernel side by global creator, ptrace side by creator here.
    private var kernelSide: [Int32: [Int32]] = [:]
    private var ptraceSide: [Int: [Int]] = [:]

    init(selfGlobal: Int32) { self.selfGlobal = selfGlobal }

    func ns(_ global: Int32) -> Int? { toNS[global] }
    func global(_ ns: Int) -> Int32? { toGlobal[ns] }

    /// Sees a scheduler event (before the state machine does). Returns the pairs it made, and
    /// the root's global tid when this was the root's fork.
    mutating func see(_ e: SchedEvent) -> (paired: [(global: Int32, ns: Int)], root: Int32?) {
        switch e.record {
        case let .newTask(tid, flags) where e.current == selfGlobal:
            selfChildIsThread[tid] = flags & UInt64(PT_CLONE_THREAD) != 0
        case let .fork(parent, child) where parent == selfGlobal:
            // proctrace's main thread makes one process: the root (its other tasks are threads).
            let isThread = selfChildIsThread.removeValue(forKey: child)
            if rootGlobal == nil, isThread == false {
                rootGlobal = child
                guard let root = rootPending else { return ([], child) }
                rootPending = nil
                pair(child, root)
                return ([(child, root)], child)
            }
        case let .fork(parent, child):
            kernelSide[parent, default: []].append(child)
            return (resolve(), nil)
        // (A thread that execs takes its leader's tid on both sides alike; its own pairing
        // stays, for its last events, until a new task reuses the numbers.)
        default:
            break
        }
        return ([], nil)
    }

    /// The recorder started the root, `tid` here. Returns its pairing if the kernel's fork of
    /// it was seen already.
    mutating func rootStarted(_ tid: Int) -> [(global: Int32, ns: Int)] {
        guard toGlobal.isEmpty, rootPending == nil else { return [] }
        guard let g = rootGlobal else { rootPending = tid; return [] }
        pair(g, tid)
        return [(g, tid)] + resolve()
    }

    /// ptrace says thread `creator` (here) made `child` (here).
    mutating func ptraceMade(child: Int, byThread creator: Int) -> [(global: Int32, ns: Int)] {
        // A reused number: it no longer names its earlier task (whose events, by its global
        // tid, still renumber to it), and notes for it wait for the new task's pairing.
        toGlobal[child] = nil
        ptraceSide[creator, default: []].append(child)
        return resolve()
    }

    private mutating func pair(_ g: Int32, _ n: Int) {
        toNS[g] = n
        toGlobal[n] = g
    }

    /// Pairs, in order, what each mapped creator made on both sides, until nothing moves.
    private mutating func resolve() -> [(global: Int32, ns: Int)] {
        var out: [(global: Int32, ns: Int)] = []
        var moved = true
        while moved {
            moved = false
            for creator in Array(kernelSide.keys) {
                guard let n = toNS[creator], var theirs = ptraceSide[n], !theirs.isEmpty,
                      var ours = kernelSide[creator], !ours.isEmpty else { continue }
                while !ours.isEmpty && !theirs.isEmpty {
                    let g = ours.removeFirst(), c = theirs.removeFirst()
                    pair(g, c)
                    out.append((g, c))
                }
                kernelSide[creator] = ours.isEmpty ? nil : ours
                ptraceSide[n] = theirs.isEmpty ? nil : theirs
                moved = true
            }
        }
        return out
    }
}

/// The scheduler source's side of a pid namespace: the pairing, and what waits for it. The
/// state machine runs on the kernel's tids; its events are renumbered on the way out.
struct NamespaceRenumbering {
    typealias Note = (why: String, from: Int64, to: Int64?)

    var map: PidNamespaceMap
    /// State events (kernel tids) waiting for their task's pairing, in time order.
    private var unpaired: [TraceEvent] = []
    /// Why-notes of tasks (our tids) not paired yet, each closed by its own end.
    private var pendingNotes: [Int: [Note]] = [:]
    /// State events dropped because their task was never paired (counted in `lost`).
    private(set) var dropped = 0
    /// Tasks the tracer follows (our tid → our pid) whose kernel tid is not known yet. When the
    /// feed stops for good they are never paired: each is unknown from then on, and counted.
    var awaitingPair: [Int: Int] = [:]

    init(selfGlobal: Int32) { map = PidNamespaceMap(selfGlobal: selfGlobal) }

    /// The earliest state event still waiting: the source's watermark stays below it.
    var earliestWaiting: Int64? { unpaired.first?.t }

    /// A why-note for `tid` (ours): its kernel tid when paired, else the note waits for it.
    mutating func note(tid: Int, _ n: Note) -> Int32? {
        if let g = map.global(tid) { return g }
        pendingNotes[tid, default: []].append(n)
        return nil
    }

    /// Ends `tid`'s open notes at `at`: its kernel tid when paired, else the waiting notes end.
    mutating func end(tid: Int, at: Int64) -> Int32? {
        if let g = map.global(tid) { return g }
        if var notes = pendingNotes[tid] {
            for i in notes.indices where notes[i].to == nil { notes[i].to = at }
            pendingNotes[tid] = notes
        }
        return nil
    }

    /// The notes that waited for newly paired tasks, by kernel tid.
    mutating func notes(for pairs: [(global: Int32, ns: Int)]) -> [(tid: Int32, note: Note)] {
        pairs.flatMap { p in (pendingNotes.removeValue(forKey: p.ns) ?? []).map { (p.global, $0) } }
    }

    /// Renumbers state events to our tids, in order, up to the first whose task is not paired
    /// yet (a task is paired once both sides reported its fork). One that stays unpaired for
    /// 2 s of trace time (`now`), or to the end (`final`), cannot be placed and is dropped.
    mutating func renumber(_ events: [TraceEvent], now: Int64, final: Bool) -> [TraceEvent] {
        unpaired += events
        var out: [TraceEvent] = []
        var k = 0
        while k < unpaired.count {
            var e = unpaired[k]
            // Both the process and the thread must be paired: a thread not paired yet waits
            // (renumbered without its tid, it would pass for its process's main thread).
            if case let .state(gp, gt, from, to, why) = e.kind, let p = map.ns(Int32(gp)),
               gt == nil || map.ns(Int32(gt!)) != nil {
                e.kind = .state(pid: p, tid: gt.flatMap { map.ns(Int32($0)) }, from: from, to: to, why: why)
                out.append(e)
            } else if case let .stateUnknown(gp, gt, reason) = e.kind, let p = map.ns(Int32(gp)),
                      gt == nil || map.ns(Int32(gt!)) != nil {
                e.kind = .stateUnknown(pid: p, tid: gt.flatMap { map.ns(Int32($0)) }, reason: reason)
                out.append(e)
            } else if final || now - e.t > 2_000_000_000 {
                dropped += 1
            } else {
                break
            }
            k += 1
        }
        unpaired.removeFirst(k)
        return out
    }
}

#endif
