import Lifecycle

/// The chain of processes that set the end time, through fork → exit → reap dependencies.
///
/// Walking back from the root's exit: a process that sat in `wait` (or blocked) when a child
/// of its own exited, and then reaped that child, could not go on before that exit; the
/// path goes from the parent's time after the exit into the child, through the child's life
/// (the same rule inside it), and back into the parent at the fork that made the child. A
/// child that exited while its parent was busy elsewhere was not waited for: it is not on the
/// path. The segments tile the root's life exactly.
enum CriticalPath {
    /// Without states, a reap this long after the exit by a parent that was not in a blocking
    /// wait means the parent was busy elsewhere: the child's exit was not what it waited for.
    static let prompt: Int64 = 10_000_000

    static func compute(_ c: Context, root: ProcessRecord, until end: Int64) -> [TraceAnalysis.Segment] {
        let h = c.history
        var reversed: [TraceAnalysis.Segment] = []
        // An explicit stack instead of recursion: a deep chain of forks must not overflow.
        // Each frame walks one process backwards from `hi` to `lo`.
        /// A child that its parent reaped, by index, with the times the walk compares.
        struct Kid { var index: Int; var pid: Int; var birth: Int64; var exit: Int64; var reap: Int64 }
        struct Frame { var index: Int; var lo: Int64; var hi: Int64; var candidates: [Kid] }
        func frame(_ i: Int, _ lo: Int64, _ hi: Int64) -> Frame {
            let pid = h.processes[i].pid
            // Its children that it reaped, latest exit first.
            var kids: [Kid] = []
            for k in c.children(h.processes[i].id) {
                let r = h.processes[k]
                guard r.reapedBy == pid, r.reapHow == .wait, let x = r.exitTime, let rp = r.reapTime else { continue }
                kids.append(Kid(index: k, pid: r.pid, birth: r.birth, exit: x, reap: rp))
            }
            kids.sort { ($0.exit, $0.reap) > ($1.exit, $1.reap) }
            return Frame(index: i, lo: lo, hi: hi, candidates: kids)
        }
        func emit(_ i: Int, _ s: Int64, _ e: Int64) {
            guard e > s else { return }
            let r = h.processes[i]
            reversed.append(TraceAnalysis.Segment(id: r.id, command: r.command, argv: r.argv, start: s, end: e))
        }
        guard let rootIndex = c.index[root.id] else { return [] }
        var stack = [frame(rootIndex, root.birth, max(root.birth, end))]
        while var f = stack.popLast() {
            // The child that released the parent last before `hi`: it exited latest among
            // those reaped by then, and the parent was waiting for it.
            let next = f.candidates.first { k in
                k.reap <= f.hi && k.exit <= f.hi && k.birth >= f.lo && k.exit >= k.birth
                    && waitedFor(h.processes[f.index], c.mergedStates[f.index], k.pid, exit: k.exit, reap: k.reap)
            }
            if let k = next {
                emit(f.index, k.exit, f.hi)
                f.hi = k.birth
                f.candidates.removeAll { $0.birth >= k.birth }
                stack.append(f)
                stack.append(frame(k.index, k.birth, k.exit))
            } else {
                emit(f.index, f.lo, f.hi)
            }
        }
        // Merge neighbours in the same process (a child of zero length between them).
        var out: [TraceAnalysis.Segment] = []
        for s in reversed.reversed() {
            if var last = out.last, last.id == s.id, last.end == s.start {
                last.end = s.end
                out[out.count - 1] = last
            } else {
                out.append(s)
            }
        }
        return out
    }

    /// Whether the parent was waiting for this child when it exited: the blocking wait that
    /// reaped it had begun by then; or (a child reaped by a `WNOHANG` call after SIGCHLD, as
    /// make does) the parent was blocked, other than by proctrace's own stops, from before the
    /// exit until about then (the kernel wakes the parent a few µs before proctrace sees the
    /// exit). Without states: the parent reaped it within `prompt`. A blocking wait that began
    /// just after the exit (the parent was runnable, not blocked, when the child exited: a
    /// preempted make about to wait for its last compile) is judged like a `WNOHANG` reap.
    static func waitedFor(_ p: ProcessRecord, _ merged: [StateInterval], _ child: Int, exit x: Int64, reap r: Int64) -> Bool {
        if let w = p.waits.last(where: { $0.end == r && $0.result == .pid(child) }), !w.options.contains("WNOHANG"), w.begin <= x {
            return true
        }
        if p.statesRecorded {
            // The first interval that ends at or after x − slack (merged is in time order).
            var lo = 0, hi = merged.count
            while lo < hi { let m = (lo + hi) / 2; if merged[m].end < x - slack { lo = m + 1 } else { hi = m } }
            var k = lo
            while k < merged.count && merged[k].start <= x {
                let iv = merged[k]
                if iv.state == .blocked && iv.why != "traced" && iv.end > iv.start { return true }
                k += 1
            }
        }
        return r - x <= prompt
    }

    /// How far before a child's exit event its parent's wake-up may be recorded.
    static let slack: Int64 = 1_000_000
}
