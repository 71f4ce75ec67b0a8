import Lifecycle

/// Writes a trace in the Chrome JSON trace-event format that ui.perfetto.dev imports.
/// See docs/perfetto.md for what each event becomes and why.
public enum PerfettoExport {
    /// The whole export as bytes: `{"traceEvents":[…],"displayTimeUnit":"ns",…}`.
    public static func json(_ history: ProcessHistory, model: StateModel = .five) -> [UInt8] {
        var w = JSONWriter()
        w.bytes.reserveCapacity(history.processes.count * 1500 + 1024)
        w.bytes.append(contentsOf: "{\"traceEvents\":[\n".utf8)
        var first = true
        func emit(_ pairs: [(String, JSONValue)]) {
            if !first { w.bytes.append(contentsOf: ",\n".utf8) }
            first = false
            w.write(.object(JSONObject(pairs)))
        }
        /// Trace nanoseconds as microseconds, keeping the nanoseconds as decimals.
        func us(_ ns: Int64) -> JSONValue { .double(Double(ns) / 1000) }
        func i(_ v: Int) -> JSONValue { .int(Int64(v)) }
        func s(_ v: String) -> JSONValue { .string(v) }
        let span = max(history.endTime, 1)

        // Metadata: one process_name per pid (a reused pid lists each command it carried).
        var namesByPid: [Int: [String]] = [:]
        var pidOrder: [Int] = []
        // Look-alike siblings (36 × gcc) carry what tells them apart: "gcc -o lapi.o lapi.c".
        let hints = ArgvHints.hints(history, shown: Set(history.processes.map(\.id)), limit: 40)
        for p in history.processes {
            if namesByPid[p.pid] == nil { pidOrder.append(p.pid) }
            let label = (p.execChain.last ?? "?") + (hints[p.id].map { " " + $0 } ?? "")
            if !(namesByPid[p.pid]?.contains(label) ?? false) { namesByPid[p.pid, default: []].append(label) }
        }
        for (k, pid) in pidOrder.enumerated() {
            let name = namesByPid[pid]!.joined(separator: " | ")
            emit([("ph", s("M")), ("name", s("process_name")), ("pid", i(pid)), ("tid", i(pid)), ("args", .object(JSONObject([("name", s(name))])))])
            emit([("ph", s("M")), ("name", s("process_sort_index")), ("pid", i(pid)), ("tid", i(pid)), ("args", .object(JSONObject([("sort_index", i(k))])))])
        }
        // One thread_name per (pid, tid) track; with pid reuse one track serves each process
        // that had the pid in turn, and its name lists what each of them called that thread.
        struct Track: Hashable { var pid: Int; var tid: Int }
        var threadNames: [Track: [String]] = [:]
        var trackOrder: [Track] = []
        for p in history.processes {
            for t in p.threads {
                let key = Track(pid: p.pid, tid: t.tid)
                let name = t.tid == p.pid ? "\(p.execChain.last ?? "?") (main)" : "\(p.execChain.last ?? "?") thread \(t.tid)"
                if threadNames[key] == nil { trackOrder.append(key) }
                if !(threadNames[key]?.contains(name) ?? false) { threadNames[key, default: []].append(name) }
            }
        }
        for key in trackOrder {
            let name = threadNames[key]!.joined(separator: " | ")
            emit([("ph", s("M")), ("name", s("thread_name")), ("pid", i(key.pid)), ("tid", i(key.tid)), ("args", .object(JSONObject([("name", s(name))])))])
        }

        var flowID = 0
        for p in history.processes {
            // State slices per thread; whole-process intervals go on the main thread.
            let label = { (st: ProcState) -> String in
                if st == .unknown { return "state unknown" }
                if history.states == .none {
                    return st == .blocked ? "in wait call" : st == .terminated ? "zombie" : "alive"
                }
                return model.label(st, source: history.states)
            }
            for iv in nonOverlapping(p.stateIntervals, mainTid: p.pid) {
                let tid = iv.tid ?? p.pid
                var name = label(iv.state)
                if iv.state == .blocked, iv.why == "traced" { name = "stopped by tracer" }
                var args: [(String, JSONValue)] = [("state", s(iv.state.rawValue))]
                if let why = iv.why { args.append((iv.state == .unknown ? "reason" : "why", s(why))) }
                args.append(("source", s(history.states.rawValue)))
                emit([("ph", s("X")), ("cat", s("state")), ("name", s(name)), ("pid", i(p.pid)), ("tid", i(tid)),
                      ("ts", us(iv.start)), ("dur", us(iv.end - iv.start)), ("args", .object(JSONObject(args)))])
            }
            // An attached process was not forked in the trace: an instant says where it begins.
            if p.attached {
                var args: [(String, JSONValue)] = [("parent", i(p.parentPid))]
                if let age = p.ageAtAttach { args.append(("running_for_us", us(age))) }
                emit([("ph", s("i")), ("s", s("t")), ("cat", s("lifecycle")), ("name", s("already running at attach")), ("pid", i(p.pid)), ("tid", i(p.pid)),
                      ("ts", us(p.birth)), ("args", .object(JSONObject(args)))])
            }
            // Fork arrow: from the parent's thread at the fork to the child's first slice.
            if !p.attached, let parentID = p.parent, let parent = history.record(for: parentID) {
                flowID += 1
                // The trace does not say which thread forked: the main thread's track carries it.
                let parentTid = parent.pid
                let fname = "\(p.via) \(p.pid)"
                emit([("ph", s("s")), ("cat", s("fork")), ("name", s(fname)), ("id", i(flowID)),
                      ("pid", i(parent.pid)), ("tid", i(parentTid)), ("ts", us(p.birth))])
                emit([("ph", s("f")), ("cat", s("fork")), ("name", s(fname)), ("id", i(flowID)), ("bp", s("e")),
                      ("pid", i(p.pid)), ("tid", i(p.pid)), ("ts", us(p.birth))])
            }
            func instant(_ name: String, _ t: Int64, _ args: [(String, JSONValue)]) {
                emit([("ph", s("i")), ("s", s("p")), ("cat", s("lifecycle")), ("name", s(name)), ("pid", i(p.pid)), ("tid", i(p.pid)),
                      ("ts", us(t)), ("args", .object(JSONObject(args)))])
            }
            for u in p.unknownStates {
                instant("state source stopped", u.t, [("tid", i(u.tid ?? p.pid)), ("reason", s(u.reason))])
            }
            for e in p.execs {
                instant("exec \(ProcessRecord.base(e.path))", e.t, [("path", s(e.path)), ("argv", .array(e.argv.map(s)))])
            }
            for sg in p.signals {
                var a: [(String, JSONValue)] = [("sig", s(sg.sig))]
                if let f = sg.from { a.append(("from", i(f))) }
                if let c = sg.code { a.append(("code", s(c))) }
                instant("signal \(sg.sig)", sg.t, a)
            }
            for rp in p.reparents {
                instant("reparent \(rp.from)→\(rp.to)", rp.t, [("from", i(rp.from)), ("to", i(rp.to))])
            }
            if let x = p.exitTime {
                instant("exit: \(p.endSummary)", x, [("status", p.exitStatus?.json ?? .null)])
            }
            if let r = p.reapTime {
                var a: [(String, JSONValue)] = [("how", s(p.reapHow?.rawValue ?? "?"))]
                if let by = p.reapedBy { a.append(("by", i(by))) }
                if let z = p.zombieDuration { a.append(("zombie_ns", .int(z))) }
                instant("reap by \(p.reapedBy.map(String.init) ?? "?") (\(p.reapHow?.rawValue ?? "?"))", r, a)
            }
        }
        w.bytes.append(contentsOf: "\n],\"displayTimeUnit\":\"ns\",\"otherData\":".utf8)
        var other: [(String, JSONValue)] = [("exporter", s("proctrace")), ("states", s(history.states.rawValue)),
                                            ("model", s(model.rawValue)), ("span_ns", .int(span))]
        if case .array(let a)? = history.header["argv"] { other.append(("argv", .array(a))) }
        w.write(.object(JSONObject(other)))
        w.bytes.append(contentsOf: "}\n".utf8)
        return w.bytes
    }

    /// Per-thread intervals sorted and clipped so that no two overlap on one thread: Perfetto
    /// nests `X` slices on a track and rejects partial overlaps.
    static func nonOverlapping(_ ivs: [StateInterval], mainTid: Int) -> [StateInterval] {
        var byTid: [Int: [StateInterval]] = [:]
        var order: [Int] = []
        for iv in ivs where iv.end > iv.start {
            let tid = iv.tid ?? mainTid
            if byTid[tid] == nil { order.append(tid) }
            byTid[tid, default: []].append(iv)
        }
        var out: [StateInterval] = []
        for tid in order {
            var lastEnd = Int64.min
            for var iv in byTid[tid]!.sorted(by: { $0.start < $1.start }) {
                if iv.start < lastEnd { iv.start = lastEnd }
                guard iv.end > iv.start else { continue }
                out.append(iv)
                lastEnd = iv.end
            }
        }
        return out
    }
}
