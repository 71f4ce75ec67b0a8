import Lifecycle

/// The output side of `SchedStateMachine`: releasing the `state` events in time order and
/// filling in why tasks sleep. (Its stored properties `output`, `unexplained`, `statesWaiting`,
/// `pending`, `heldLeaderExits` and `releasedUpTo` are internal for this file, not private.)
extension SchedStateMachine {
    /// The earliest time (monotonic ns) an event still to be emitted could carry.
    var holdBound: Int64 {
        var b = Int64.max
        for list in pending.values { for p in list { b = min(b, p.t) } }
        for t in heldLeaderExits.values { b = min(b, t) }
        return b
    }

    /// Releases the state events with `t` ≤ `upTo` (trace-relative ns) that can no longer be
    /// preceded by an inferred one, sorted by time.
    mutating func take(upTo: Int64) -> [TraceEvent] {
        let bound = min(upTo, holdBound == Int64.max ? Int64.max : holdBound - origin - 1)
        var out: [TraceEvent]
        if !output.contains(where: { $0.t > bound }) {
            // Usually everything goes: hand the array over whole (copying each event into a
            // growing array cost the merger more than its merge).
            let n = output.count
            out = output
            output = []
            output.reserveCapacity(n)
            unexplained = [:]
            statesWaiting.removeAll(keepingCapacity: true)
        } else {
            out = []
            out.reserveCapacity(output.count)
            var keep: [TraceEvent] = []
            var keptIndex: [Int: Int] = [:]
            for (i, ev) in output.enumerated() {
                if ev.t <= bound { out.append(ev) } else { keptIndex[i] = keep.count; keep.append(ev) }
            }
            output = keep
            statesWaiting.removeAll(keepingCapacity: true)
            for ev in keep { if case let .state(_, tid?, _, _, _) = ev.kind { statesWaiting[Int32(truncatingIfNeeded: tid), default: 0] += 1 } }
            var newUnexplained: [Int32: Int] = [:]
            for (tid, i) in unexplained { if let j = keptIndex[i] { newUnexplained[tid] = j } }
            unexplained = newUnexplained
        }
        if !out.isEmpty {
            out = out.stableSorted(by: \.t)
            releasedUpTo = max(releasedUpTo, out.last!.t)
        }
        return out
    }

    /// Gives a `why` (syscall or sleep kind) to the latest unexplained →blocked of tasks that
    /// are still blocked, from `reader(tid)` (e.g. `/proc/TID/syscall`); call after a batch.
    mutating func fillSleepKinds(_ reader: (Int) -> String?) {
        var whys: [Int: String] = [:]
        for tid in unexplainedTids { if let w = reader(tid) { whys[tid] = w } }
        fillSleepKinds(whys)
    }

    /// Tasks whose latest →blocked has no why yet and that are still blocked.
    var unexplainedTids: [Int] {
        unexplained.keys.filter { tasks[$0]?.state == .blocked }.map { Int($0) }
    }

    /// Applies whys read for `unexplainedTids` (to the tasks still unexplained and blocked).
    mutating func fillSleepKinds(_ whys: [Int: String]) {
        for (tid, i) in unexplained where i < output.count {
            guard tasks[tid]?.state == .blocked, let why = whys[Int(tid)] else { continue }
            if case .state(let p, let tt, let f, let to, nil) = output[i].kind {
                output[i].kind = .state(pid: p, tid: tt, from: f, to: to, why: why)
            }
        }
        unexplained = [:]
    }

    /// Events emitted but not yet taken.
    var pendingOutputCount: Int { output.count }
}
