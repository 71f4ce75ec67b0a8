#if os(Linux)

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
            selfChildIsThread[tid] = flags & 0x0001_0000 != 0
        case let .fork(parent, child) where parent == selfGlobal:
            let isThread = selfChildIsThread.removeValue(forKey: child)
            if let root = rootPending, isThread == false {
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

    /// ptrace says thread `creator` (here) made `child` (here).
    mutating func ptraceMade(child: Int, byThread creator: Int) -> [(global: Int32, ns: Int)] {
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

#endif
