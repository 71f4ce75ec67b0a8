import Lifecycle

/// What `render -f html` is asked for beyond the trace.
public struct ViewerOptions: Sendable {
    /// The model the page opens in (it can switch).
    public var model: StateModel = .five
    /// The critical path as `analyze` finds it, highlighted on demand (empty: none).
    public var criticalPath: [PathSegment] = []
    /// The page title (the trace's name).
    public var title = "proctrace"
    /// The window the page opens on (`--from`, `--to`); nil: the whole trace.
    public var from: Int64?
    public var to: Int64?
    /// Open with the critical path highlighted (`--critical-path`).
    public var highlightCriticalPath = false
    public init() {}
}

/// The interactive viewer: one self-contained HTML file (inline script and style, nothing
/// fetched) with the process tree on the left, one lane per process on a canvas on the right,
/// a cursor whose side panel is the world at that instant exactly as `replay --at` prints it
/// (from `ViewerStream`), a details panel, search, and the critical path.
///
/// The data is embedded as one JSON object of columns (arrays of numbers, one per field, and a
/// table of strings), not one object per event: a 50,000-process trace stays a few bytes per
/// event. `docs/viewer.md` describes the fields.
public enum HTMLViewer {
    /// The whole page.
    public static func page(_ history: ProcessHistory, stream: ViewerStream, options: ViewerOptions) -> [UInt8] {
        var out: [UInt8] = []
        let data = self.data(history, stream: stream, options: options)
        out.reserveCapacity(data.count + 80_000)
        let (before, after) = ViewerPage.template(title: htmlEscape(options.title))
        out.append(contentsOf: before.utf8)
        out.append(contentsOf: data)
        out.append(contentsOf: after.utf8)
        return out
    }

    static func htmlEscape(_ s: String) -> String {
        var o = ""
        for c in TerminalText.escape(s) {
            switch c {
            case "&": o += "&amp;"
            case "<": o += "&lt;"
            case ">": o += "&gt;"
            case "\"": o += "&quot;"
            default: o.append(c)
            }
        }
        return o
    }

    /// The embedded JSON (safe inside a `<script>` element: `<` is written `\u003c`).
    static func data(_ history: ProcessHistory, stream s: ViewerStream, options: ViewerOptions) -> [UInt8] {
        var strings = s.strings
        var w = ColumnWriter()

        // The page's processes: the history's, in tree order, then any the stream knows alone.
        var procs: [ProcessRecord] = history.processes
        var index: [ProcessID: Int] = [:]
        for (i, r) in procs.enumerated() { index[r.id] = i }
        for sp in s.procs where index[sp.id] == nil {
            index[sp.id] = procs.count
            var r = ProcessRecord(id: sp.id, parent: nil, parentPid: 0, creator: nil, via: .unseen, birth: sp.birth, birthLine: 0, initialArgv: [])
            r.lastSeen = sp.end ?? s.lastT
            procs.append(r)
        }
        let hints = ArgvHints.hints(history, shown: Set(history.processes.map(\.id)))
        let streamOf: [Int] = {
            var m = [Int](repeating: -1, count: procs.count)
            for (k, sp) in s.procs.enumerated() { if let i = index[sp.id] { m[i] = k } }
            return m
        }()

        var pid: [Int64] = [], parent: [Int64] = [], birth: [Int64] = [], label: [Int64] = [], hint: [Int64] = []
        var fill: [Int64] = [], exitT: [Int64] = [], exitS: [Int64] = [], reapT: [Int64] = [], reapBy: [Int64] = []
        var reapHow: [Int64] = [], flags: [Int64] = [], argv0: [Int64] = [], via: [Int64] = [], ppid0: [Int64] = []
        var nthreads: [Int64] = [], lastSeen: [Int64] = [], idText: [Int64] = []
        var sBirth: [Int64] = [], sEnd: [Int64] = [], vOff: [Int64] = [], iOff: [Int64] = []
        var vt: [Int64] = [], vl: [Int64] = [], cpuFix: [Int64] = []
        var it: [Int64] = [], ip: [Int64] = [], ig: [Int64] = [], isid: [Int64] = [], ih: [Int64] = [], ic: [Int64] = []
        var ep: [Int64] = [], et: [Int64] = [], epath: [Int64] = [], eargv: [Int64] = []
        var sgp: [Int64] = [], sgt: [Int64] = [], sgs: [Int64] = [], sgf: [Int64] = []
        var rp: [Int64] = [], rt: [Int64] = [], rf: [Int64] = [], rto: [Int64] = []
        var wp: [Int64] = [], wb: [Int64] = [], we: [Int64] = [], wc: [Int64] = [], wr: [Int64] = []
        var fxp: [Int64] = [], fxt: [Int64] = [], fxs: [Int64] = []

        for (i, r) in procs.enumerated() {
            pid.append(Int64(r.pid))
            idText.append(Int64(strings.id(r.id.description)))
            parent.append(Int64(r.parent.flatMap { index[$0] } ?? -1))
            birth.append(r.birth)
            label.append(Int64(strings.id(TerminalText.escape(r.execChain.joined(separator: " → ")))))
            hint.append(Int64(hints[r.id].map { strings.id(TerminalText.escape($0)) } ?? -1))
            fill.append(r.wasKilled ? 2 : (r.exitedNonZero ? 1 : (r.exitStatus == nil ? 3 : 0)))
            exitT.append(r.exitTime ?? -1)
            exitS.append(Int64(r.exitStatus.map { strings.id(TerminalText.escape($0.description)) } ?? -1))
            reapT.append(r.reapTime ?? -1)
            reapBy.append(Int64(r.reapedBy ?? -1))
            reapHow.append(Int64(r.reapHow.map { strings.id($0.rawValue) } ?? -1))
            flags.append((r.isOrphaned ? 1 : 0) | (r.reapUnobserved ? 2 : 0) | (r.innerPid != nil ? 4 : 0))
            argv0.append(Int64(strings.id(TerminalText.escape(ProcessRecord.shellQuoted(r.initialArgv)))))
            via.append(Int64(strings.id(r.via.rawValue)))
            ppid0.append(Int64(r.parentPid))
            nthreads.append(Int64(r.threads.count))
            lastSeen.append(r.lastSeen)
            for e in r.execs {
                ep.append(Int64(i)); et.append(e.t)
                epath.append(Int64(strings.id(TerminalText.escape(e.path))))
                eargv.append(Int64(strings.id(TerminalText.escape(ProcessRecord.shellQuoted(e.argv)))))
            }
            for f in r.failedExecs {
                fxp.append(Int64(i)); fxt.append(f.t)
                fxs.append(Int64(strings.id(TerminalText.escape("\(f.path): \(f.error)"))))
            }
            for g in r.signals {
                sgp.append(Int64(i)); sgt.append(g.t); sgs.append(Int64(strings.id(TerminalText.escape(g.sig)))); sgf.append(Int64(g.from ?? -1))
            }
            for x in r.reparents {
                rp.append(Int64(i)); rt.append(x.t); rf.append(Int64(x.from)); rto.append(Int64(x.to))
            }
            for x in r.waits {
                wp.append(Int64(i)); wb.append(x.begin); we.append(x.end ?? -1)
                let args = ["\(x.target)"] + x.options
                wc.append(Int64(strings.id(TerminalText.escape("\(x.call)(\(args.joined(separator: ", ")))"))))
                var res = ""
                switch x.result {
                case .pid(let p)?: res = "\(p)"
                case .nothing?: res = "0"
                case .error(let e)?: res = e
                case nil: res = ""
                }
                // `101 (exited 7; restarted after a signal at 0.100123s)`.
                let notes = [x.status?.description, x.restartNote].compactMap { $0 }
                if !notes.isEmpty { res += " (" + notes.joined(separator: "; ") + ")" }
                wr.append(Int64(strings.id(TerminalText.escape(res))))
            }
            // The stream's versions of this process.
            vOff.append(Int64(vt.count)); iOff.append(Int64(it.count))
            let k = streamOf[i]
            if k < 0 { sBirth.append(-1); sEnd.append(-1); continue }
            let sp = s.procs[k]
            sBirth.append(sp.birth); sEnd.append(sp.end ?? -1)
            var prevT = sp.birth, prevCPU: Int64 = 0, prevRun = 0
            for j in sp.vt.indices {
                let t = sp.vt[j]
                vt.append(t - prevT)
                vl.append(Int64(sp.vlook[j]))
                let predicted = j == 0 ? 0 : prevCPU + Int64(prevRun) * (t - prevT)
                if sp.vcpu[j] != predicted { cpuFix.append(Int64(vt.count - 1)); cpuFix.append(sp.vcpu[j]) }
                prevT = t; prevCPU = sp.vcpu[j]; prevRun = s.looks[Int(sp.vlook[j])].running
            }
            for d in sp.idents {
                it.append(d.t); ip.append(Int64(d.ppid)); ig.append(Int64(d.pgid)); isid.append(Int64(d.sid))
                ih.append(Int64(d.head)); ic.append(Int64(d.command))
            }
        }
        vOff.append(Int64(vt.count)); iOff.append(Int64(it.count))

        var cpP: [Int64] = [], cpS: [Int64] = [], cpE: [Int64] = []
        for seg in options.criticalPath { if let i = index[seg.id] { cpP.append(Int64(i)); cpS.append(seg.start); cpE.append(seg.end) } }

        let health = TraceHealth(history)
        w.open()
        w.string("title", options.title)
        w.string("source", history.states.rawValue)
        w.string("model", options.model.rawValue)
        w.int("end", s.lastT)
        w.int("from", options.from ?? -1)
        w.int("to", options.to ?? -1)
        w.int("showCrit", options.highlightCriticalPath ? 1 : 0)
        w.int("lost", Int64(history.end?.lost ?? 0))
        w.int("complete", history.end == nil ? 0 : 1)
        w.int("tracer", Int64(history.tracerPid ?? -1))
        w.strings("warnings", health.warnings.map { TerminalText.escape($0) })
        for (name, col) in [("pid", pid), ("idText", idText), ("parent", parent), ("birth", birth), ("label", label), ("hint", hint),
                            ("fill", fill), ("exitT", exitT), ("exitS", exitS), ("reapT", reapT), ("reapBy", reapBy),
                            ("reapHow", reapHow), ("flags", flags), ("argv0", argv0), ("via", via), ("ppid0", ppid0),
                            ("nthreads", nthreads), ("lastSeen", lastSeen),
                            ("sBirth", sBirth), ("sEnd", sEnd), ("vOff", vOff), ("iOff", iOff), ("vt", vt), ("vl", vl), ("cpuFix", cpuFix),
                            ("it", it), ("ip", ip), ("ig", ig), ("is", isid), ("ih", ih), ("ic", ic),
                            ("lS5", s.looks.map { Int64($0.suffix5) }), ("lS3", s.looks.map { Int64($0.suffix3) }),
                            ("lStat", s.looks.map { Int64($0.stat) }), ("lRun", s.looks.map { Int64($0.running) }),
                            ("lBand", s.looks.map { Int64($0.band) }),
                            ("ep", ep), ("et", et), ("epath", epath), ("eargv", eargv),
                            ("fxp", fxp), ("fxt", fxt), ("fxs", fxs),
                            ("sgp", sgp), ("sgt", sgt), ("sgs", sgs), ("sgf", sgf),
                            ("rp", rp), ("rt", rt), ("rf", rf), ("rto", rto),
                            ("wp", wp), ("wb", wb), ("we", we), ("wc", wc), ("wr", wr),
                            ("cpP", cpP), ("cpS", cpS), ("cpE", cpE)] {
            w.ints(name, col)
        }
        w.strings("S", strings.list)
        w.close()
        return w.bytes
    }
}

/// Writes the embedded JSON object column by column.
struct ColumnWriter {
    var bytes: [UInt8] = []
    var first = true

    mutating func open() { bytes.append(UInt8(ascii: "{")) }
    mutating func close() { bytes.append(UInt8(ascii: "}")) }
    mutating func key(_ k: String) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        first = false
        quoted(k)
        bytes.append(UInt8(ascii: ":"))
    }
    mutating func int(_ k: String, _ v: Int64) { key(k); number(v) }
    mutating func string(_ k: String, _ v: String) { key(k); quoted(v) }
    mutating func ints(_ k: String, _ vs: [Int64]) {
        key(k)
        bytes.append(UInt8(ascii: "["))
        for (i, v) in vs.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            number(v)
        }
        bytes.append(UInt8(ascii: "]"))
    }
    mutating func strings(_ k: String, _ vs: [String]) {
        key(k)
        bytes.append(UInt8(ascii: "["))
        for (i, v) in vs.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            quoted(v)
        }
        bytes.append(UInt8(ascii: "]"))
    }
    mutating func number(_ value: Int64) {
        if value == 0 { bytes.append(UInt8(ascii: "0")); return }
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var v = value.magnitude
        var digits: [UInt8] = []
        digits.reserveCapacity(20)
        while v > 0 { digits.append(UInt8(ascii: "0") + UInt8(v % 10)); v /= 10 }
        bytes.append(contentsOf: digits.reversed())
    }
    /// A JSON string that is also safe inside `<script>`: `<`, `>`, `&`, U+2028 and U+2029 escaped.
    mutating func quoted(_ s: String) {
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        bytes.append(UInt8(ascii: "\""))
        for u in s.unicodeScalars {
            switch u.value {
            case 0x22: bytes.append(contentsOf: [0x5C, 0x22])
            case 0x5C: bytes.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: bytes.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0..<0x20, 0x7F, 0x3C, 0x3E, 0x26, 0x2028, 0x2029:
                let v = u.value
                bytes.append(contentsOf: [0x5C, UInt8(ascii: "u"),
                                          hex[Int((v >> 12) & 0xF)], hex[Int((v >> 8) & 0xF)], hex[Int((v >> 4) & 0xF)], hex[Int(v & 0xF)]])
            default: bytes.append(contentsOf: String(u).utf8)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
