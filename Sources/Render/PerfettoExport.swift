import Lifecycle

/// Writes a trace in the Chrome JSON trace-event format that ui.perfetto.dev imports.
/// See docs/perfetto.md for what each event becomes and why.
public enum PerfettoExport {
    /// The whole export as bytes: `{"traceEvents":[…],"displayTimeUnit":"ns",…}`.
    public static func json(_ history: ProcessHistory, model: StateModel = .five) -> [UInt8] {
        var out: [UInt8] = []
        write(history, model: model, chunkSize: Int.max) { out.append(contentsOf: $0) }
        return out
    }

    /// The export handed to `sink` in pieces of about `chunkSize` bytes (the last may be
    /// shorter), in order: a file gets it without the whole export ever being in memory (at
    /// 50,000 processes it is 140 MB). A `sink` that throws stops the export.
    public static func write<E: Error>(_ history: ProcessHistory, model: StateModel = .five, chunkSize: Int = 1 << 20,
                                       to sink: ([UInt8]) throws(E) -> Void) throws(E) {
        var w = JSONWriter()
        w.bytes.reserveCapacity(min(chunkSize, history.processes.count * 1500) + 64 * 1024)
        /// Hands what is buffered to the sink once it holds a chunk.
        func drain(force: Bool = false) throws(E) {
            guard w.bytes.count >= chunkSize || (force && !w.bytes.isEmpty) else { return }
            try sink(w.bytes)
            w.bytes.removeAll(keepingCapacity: true)
        }
        w.bytes.append(contentsOf: "{\"traceEvents\":[\n".utf8)
        var first = true
        // Events are written straight into the buffer, key by key, without building a
        // JSONObject per event (a million slices: that was most of the export's time).
        func write(_ v: Value) {
            switch v {
            case .string(let x): w.writeString(x)
            case .int(let x): w.writeInt(x)
            case .micros(let ns): writeMicros(ns, into: &w)
            case .json(let x): w.write(x)
            case .strings(let xs):
                w.bytes.append(UInt8(ascii: "["))
                for (k, x) in xs.enumerated() {
                    if k > 0 { w.bytes.append(UInt8(ascii: ",")) }
                    w.writeString(x)
                }
                w.bytes.append(UInt8(ascii: "]"))
            case .object(let pairs): writeObject(pairs)
            }
        }
        func writeObject(_ pairs: [(String, Value)]) {
            w.bytes.append(UInt8(ascii: "{"))
            for (k, (key, v)) in pairs.enumerated() {
                if k > 0 { w.bytes.append(UInt8(ascii: ",")) }
                w.writeString(key)
                w.bytes.append(UInt8(ascii: ":"))
                write(v)
            }
            w.bytes.append(UInt8(ascii: "}"))
        }
        func emit(_ pairs: [(String, Value)]) {
            if !first { w.bytes.append(contentsOf: ",\n".utf8) }
            first = false
            writeObject(pairs)
        }
        /// Trace nanoseconds as microseconds, keeping the nanoseconds as decimals.
        func us(_ ns: Int64) -> Value { .micros(ns) }
        func i(_ v: Int) -> Value { .int(Int64(v)) }
        func s(_ v: String) -> Value { .string(v) }
        let span = max(history.endTime, 1)

        // Metadata: one process_name per pid (a reused pid lists each command it carried).
        var namesByPid: [Int: [String]] = [:]
        var pidOrder: [Int] = []
        // Look-alike siblings (36 × gcc) carry what tells them apart: "gcc -o lapi.o lapi.c".
        let hints = ArgvHints.hints(history, shown: Set(history.processes.map(\.id)), limit: 40)
        for p in history.processes {
            if namesByPid[p.pid] == nil { pidOrder.append(p.pid) }
            let label = p.execName + (hints[p.id].map { " " + $0 } ?? "")
            if !(namesByPid[p.pid]?.contains(label) ?? false) { namesByPid[p.pid, default: []].append(label) }
        }
        for (k, pid) in pidOrder.enumerated() {
            let name = namesByPid[pid]!.joined(separator: " | ")
            emit([("ph", s("M")), ("name", s("process_name")), ("pid", i(pid)), ("tid", i(pid)), ("args", .object([("name", s(name))]))])
            emit([("ph", s("M")), ("name", s("process_sort_index")), ("pid", i(pid)), ("tid", i(pid)), ("args", .object([("sort_index", i(k))]))])
            try drain()
        }
        // One thread_name per (pid, tid) track; with pid reuse one track serves each process
        // that had the pid in turn, and its name lists what each of them called that thread.
        var threadNames: [Track: [String]] = [:]
        var trackOrder: [Track] = []
        for p in history.processes {
            for t in p.threads {
                let key = Track(pid: p.pid, tid: t.tid)
                let name = t.tid == p.pid ? "\(p.execName) (main)" : "\(p.execName) thread \(t.tid)"
                if threadNames[key] == nil { trackOrder.append(key) }
                if !(threadNames[key]?.contains(name) ?? false) { threadNames[key, default: []].append(name) }
            }
        }
        for key in trackOrder {
            let name = threadNames[key]!.joined(separator: " | ")
            emit([("ph", s("M")), ("name", s("thread_name")), ("pid", i(key.pid)), ("tid", i(key.tid)), ("args", .object([("name", s(name))]))])
            try drain()
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
                if iv.state == .blocked, iv.why?.hasPrefix("stopped") == true { name = "stopped by signal" }
                // The commonest event, written without building its pairs: the same object as
                // {"ph":"X","cat":"state","name":…,"pid":…,"tid":…,"ts":…,"dur":…,"args":{…}}.
                if !first { w.bytes.append(contentsOf: ",\n".utf8) }
                first = false
                w.bytes.append(contentsOf: #"{"ph":"X","cat":"state","name":"#.utf8)
                w.writeString(name)
                w.bytes.append(contentsOf: #","pid":"#.utf8)
                w.writeInt(Int64(p.pid))
                w.bytes.append(contentsOf: #","tid":"#.utf8)
                w.writeInt(Int64(tid))
                w.bytes.append(contentsOf: #","ts":"#.utf8)
                writeMicros(iv.start, into: &w)
                w.bytes.append(contentsOf: #","dur":"#.utf8)
                writeMicros(iv.end - iv.start, into: &w)
                w.bytes.append(contentsOf: #","args":{"state":"#.utf8)
                w.writeString(iv.state.rawValue)
                if let why = iv.why {
                    w.bytes.append(contentsOf: (iv.state == .unknown ? #","reason":"# : #","why":"#).utf8)
                    w.writeString(why)
                }
                w.bytes.append(contentsOf: #","source":"#.utf8)
                w.writeString(history.states.rawValue)
                w.bytes.append(contentsOf: "}}".utf8)
            }
            // An attached process was not forked in the trace: an instant says where it begins.
            if p.attached {
                var args: [(String, Value)] = [("parent", i(p.parentPid))]
                if let age = p.ageAtAttach { args.append(("running_for_us", us(age))) }
                emit([("ph", s("i")), ("s", s("t")), ("cat", s("lifecycle")), ("name", s("already running at attach")), ("pid", i(p.pid)), ("tid", i(p.pid)),
                      ("ts", us(p.birth)), ("args", .object(args))])
            }
            // Fork arrow: from the parent's thread at the fork to the child's first slice.
            if !p.attached, let parentID = p.parent, history.contains(parentID) {
                flowID += 1
                // The trace does not say which thread forked: the main thread's track carries it.
                let parent = parentID, parentTid = parent.pid
                let fname = "\(p.via) \(p.pid)"
                emit([("ph", s("s")), ("cat", s("fork")), ("name", s(fname)), ("id", i(flowID)),
                      ("pid", i(parent.pid)), ("tid", i(parentTid)), ("ts", us(p.birth))])
                emit([("ph", s("f")), ("cat", s("fork")), ("name", s(fname)), ("id", i(flowID)), ("bp", s("e")),
                      ("pid", i(p.pid)), ("tid", i(p.pid)), ("ts", us(p.birth))])
            }
            func instant(_ name: String, _ t: Int64, _ args: [(String, Value)]) {
                emit([("ph", s("i")), ("s", s("p")), ("cat", s("lifecycle")), ("name", s(name)), ("pid", i(p.pid)), ("tid", i(p.pid)),
                      ("ts", us(t)), ("args", .object(args))])
            }
            for u in p.unknownStates {
                instant("state source stopped", u.t, [("tid", i(u.tid ?? p.pid)), ("reason", s(u.reason))])
            }
            for e in p.execs {
                instant("exec \(ProcessRecord.base(e.path))", e.t, [("path", s(e.path)), ("argv", .strings(e.argv))])
            }
            for sg in p.signals {
                var a: [(String, Value)] = [("sig", s(sg.sig))]
                if let f = sg.from { a.append(("from", i(f))) }
                if let c = sg.code { a.append(("code", s(c))) }
                instant("signal \(sg.sig)", sg.t, a)
            }
            for rp in p.reparents {
                instant("reparent \(rp.from)→\(rp.to)", rp.t, [("from", i(rp.from)), ("to", i(rp.to))])
            }
            if let x = p.exitTime {
                instant("exit: \(p.endSummary)", x, [("status", .json(p.exitStatus?.json ?? .null))])
            }
            if let r = p.reapTime {
                var a: [(String, Value)] = [("how", s(p.reapHow?.rawValue ?? "?"))]
                if let by = p.reapedBy { a.append(("by", i(by))) }
                if let z = p.zombieDuration { a.append(("zombie_ns", .int(z))) }
                instant("reap by \(p.reapedBy.map(String.init) ?? "?") (\(p.reapHow?.rawValue ?? "?"))", r, a)
            }
            try drain()
        }
        w.bytes.append(contentsOf: "\n],\"displayTimeUnit\":\"ns\",\"otherData\":".utf8)
        var other: [(String, Value)] = [("exporter", s("proctrace")), ("states", s(history.states.rawValue)),
                                        ("model", s(model.rawValue)), ("span_ns", .int(span))]
        if case .array(let a)? = history.header["argv"] { other.append(("argv", .json(.array(a)))) }
        writeObject(other)
        w.bytes.append(contentsOf: "}\n".utf8)
        try drain(force: true)
    }

    /// One thread track: a (pid, tid) pair, which pid reuse can share between processes.
    struct Track: Hashable { var pid: Int; var tid: Int }

    /// A value of an exported event.
    indirect enum Value {
        case string(String)
        case int(Int64)
        /// Trace nanoseconds, written as microseconds with the nanoseconds as decimals.
        case micros(Int64)
        case strings([String])
        case object([(String, Value)])
        case json(JSONValue)
    }

    /// `ns` as microseconds: `1234.5` for 1,234,500 ns, `12` for 12,000 (exact, no rounding
    /// through a Double, and no allocation).
    static func writeMicros(_ ns: Int64, into w: inout JSONWriter) {
        let whole = ns / 1000, frac = Int((ns % 1000).magnitude)
        if ns < 0 && whole == 0 { w.bytes.append(UInt8(ascii: "-")) }
        w.writeInt(whole)
        guard frac != 0 else { return }
        w.bytes.append(UInt8(ascii: "."))
        let digits = [frac / 100, frac / 10 % 10, frac % 10]
        let used = digits[2] != 0 ? 3 : digits[1] != 0 ? 2 : 1
        for d in digits.prefix(used) { w.bytes.append(UInt8(ascii: "0") + UInt8(d)) }
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
