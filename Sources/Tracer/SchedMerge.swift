#if os(Linux)
import Lifecycle

/// Interleaves the recorder's lifecycle events (stamped when ptrace reports them) with a
/// state source's events (stamped by the kernel, delivered a few ms late) into one stream
/// that keeps the trace contract: times non-decreasing, and no `state` line for a task
/// before the line that introduces it (`spawn`/`fork` for a process, `thread` start for a
/// thread). A child's `new→ready` happens in the kernel before the tracer sees the fork, so
/// such events are held and stamped at the introducing line's time.
///
/// Use from the recorder's thread: `add` every lifecycle event as it happens (non-decreasing
/// t), call `ready()` often (at least every ~10 ms, also while the workload is quiet) and
/// write what it returns; at the end `finish(stateEvents: source.stop())`.
public struct StateMerger {
    /// Lifecycle events not yet written (t non-decreasing).
    private var lifecycle: [TraceEvent] = []
    /// State events released by the source and not yet written (t order).
    private var states: [TraceEvent] = []
    /// State events of tasks not introduced yet, by tid.
    private var held: [Int: [TraceEvent]] = [:]
    private var introduced: Set<Int> = []
    private var lastT: Int64 = 0
    /// State events dropped at `finish` because their task was never introduced.
    public private(set) var droppedUnintroduced = 0

    public init() {}

    /// Marks a task as introduced by a line written outside the merger (e.g. the root's spawn).
    public mutating func introduce(tid: Int) { introduced.insert(tid) }

    /// A lifecycle event from the recorder.
    public mutating func add(_ event: TraceEvent) { lifecycle.append(event) }

    /// The events that can be written now, given the source's watermark and new state events.
    public mutating func ready(source: StateSource) -> [TraceEvent] {
        let w = source.watermark
        return release(upTo: w, newStates: source.take(upTo: w))
    }

    /// Everything left, after `source.stop()` returned `stateEvents`.
    public mutating func finish(stateEvents: [TraceEvent]) -> [TraceEvent] {
        let out = release(upTo: Int64.max, newStates: stateEvents)
        droppedUnintroduced += held.values.reduce(0) { $0 + $1.count }
        held = [:]
        return out
    }

    /// Releases lifecycle events with t ≤ `upTo` merged with the state events (lifecycle
    /// first on equal times, so a fork precedes its child's first state).
    mutating func release(upTo: Int64, newStates: [TraceEvent]) -> [TraceEvent] {
        states.append(contentsOf: newStates)
        var out: [TraceEvent] = []
        var li = 0, si = 0
        let lifecycleCount = lifecycle.prefix { $0.t <= upTo }.count
        while li < lifecycleCount || si < states.count {
            let takeLifecycle = si >= states.count || (li < lifecycleCount && lifecycle[li].t <= states[si].t)
            if takeLifecycle {
                let e = lifecycle[li]; li += 1
                emit(e, into: &out)
                for tid in introducedTids(by: e) where !introduced.contains(tid) {
                    introduced.insert(tid)
                    for var h in held.removeValue(forKey: tid) ?? [] {
                        h.t = max(h.t, e.t)
                        emit(h, into: &out)
                    }
                }
            } else {
                let e = states[si]; si += 1
                guard case let .state(pid, tid, _, _, _) = e.kind else { emit(e, into: &out); continue }
                let key = tid ?? pid
                if introduced.contains(key) { emit(e, into: &out) } else { held[key, default: []].append(e) }
            }
        }
        lifecycle.removeFirst(li)
        states.removeAll()
        return out
    }

    private mutating func emit(_ e: TraceEvent, into out: inout [TraceEvent]) {
        var e = e
        if e.t < lastT { e.t = lastT }
        lastT = e.t
        out.append(e)
    }

    private func introducedTids(by e: TraceEvent) -> [Int] {
        switch e.kind {
        case let .spawn(pid, _): return [pid]
        case let .fork(_, child, _, _): return [child]
        case let .thread(_, tid, phase) where phase == "start": return [tid]
        default: return []
        }
    }
}
#endif
