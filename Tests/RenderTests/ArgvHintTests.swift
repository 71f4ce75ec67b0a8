import Foundation
import Testing
import Lifecycle
@testable import Render

/// Root 10 forks 11, 12, 13, 14; each execs python3 with different arguments, as joblib's
/// resource trackers and workers do. 14's argv carries a quote and a backslash.
let lookalikeTrace: [String] = {
    var l = [#"{"type":"trace","t":0,"schema":"proctrace/1","argv":["./p"],"cwd":"/","start":"2026-11-26T22:00:00.000000Z","host":{"kernel":"6.18","arch":"x86_64","cpus":2},"tracer":"proctrace 0.1.0","states":"none","pid":9}"#,
             #"{"type":"spawn","t":1000,"pid":10,"argv":["./p"],"ppid":9}"#]
    let argvs = [#"["/usr/bin/python3","-B","-c","from multiprocessing.resource_tracker import main;main(11)"]"#,
                 #"["/usr/bin/python3","-m","joblib.externals.loky.backend.popen_loky_posix","--pipe","14"]"#,
                 #"["/usr/bin/python3","-m","joblib.externals.loky.backend.popen_loky_posix","--pipe","15"]"#,
                 #"["/usr/bin/python3","x\"y\\n.py"]"#]
    for (i, a) in argvs.enumerated() {
        let pid = 11 + i, t = 2000 + i * 1000
        l.append(#"{"type":"fork","t":\#(t),"pid":10,"child":\#(pid),"parent":10,"via":"fork"}"#)
        l.append(#"{"type":"exec","t":\#(t + 100),"pid":\#(pid),"path":"/usr/bin/python3","argv":\#(a)}"#)
        l.append(#"{"type":"exit","t":\#(t + 200 + i),"pid":\#(pid),"status":{"exited":0}}"#)
        l.append(#"{"type":"reap","t":\#(t + 300 + i),"pid":\#(pid),"by":10,"how":"wait"}"#)
    }
    l.append(#"{"type":"exit","t":9000,"pid":10,"status":{"exited":0}}"#)
    l.append(#"{"type":"end","t":9500,"status":{"exited":0},"events":20,"lost":0}"#)
    return l
}()

@Suite("tree: siblings running the same exec chain")
struct ArgvHintTests {
    @Test func lookalikeSiblingsGetADistinguishingArgvHint() throws {
        let h = try history("lookalike", lookalikeTrace)
        let hints = ArgvHints.hints(h, shown: Set(h.processes.map(\.id)))
        let by = { (pid: Int) in h.processes.first { $0.pid == pid }.flatMap { hints[$0.id] } }
        #expect(by(10) == nil)   // the root has no look-alike sibling
        #expect(by(11) == "-B -c from multiprocessing.re…")
        #expect(by(12) == "-m joblib.e…d.popen_loky_posix")
        #expect(by(12) == by(13))
        #expect(by(14) == "x\"y\\n.py")
        for pid in 11...14 { #expect((by(pid)?.count ?? 99) <= 30) }
        // In the DOT, each is escaped like every label (the quote and the backslash survive
        // Graphviz's layers), and shows in an SVG.
        let dot = ProcessTreeDOT.dot(h, options: TreeOptions(collapse: false))
        #expect(dot.contains(DOTText.label(["11 python3", "-B -c from multiprocessing.re…"]).dropLast()))
        let svg = try GraphvizRenderer.shared.render(dot: dot, engine: "dot", format: .svg)
        let text = String(decoding: svg, as: UTF8.self)
        #expect(text.contains(">&#45;m joblib.e…d.popen_loky_posix<"))   // Graphviz writes "-" as &#45;
        #expect(text.contains("x&quot;y\\n.py") || text.contains("x\"y\\n.py"))
    }

    @Test func perfettoProcessTracksAreNamedWithTheHint() throws {
        let h = try history("lookalike", lookalikeTrace)
        let obj = try JSONSerialization.jsonObject(with: Data(PerfettoExport.json(h))) as? [String: Any]
        let events = try #require(obj?["traceEvents"] as? [[String: Any]])
        var names: [Int: String] = [:]
        for e in events where e["ph"] as? String == "M" && e["name"] as? String == "process_name" {
            names[e["pid"] as! Int] = (e["args"] as? [String: Any])?["name"] as? String
        }
        #expect(names[10] == "p")
        #expect(names[11] == "python3 -B -c from multiprocessing.resource_tra…")
        #expect(names[12] == "python3 -m joblib.exter…backend.popen_loky_posix")
        #expect(names[14] == "python3 x\"y\\n.py")
    }

    @Test func identicalSiblingsGetNoHint() throws {
        let h = try ProcessHistory(path: fixture("render-family.jsonl"))
        let dot = ProcessTreeDOT.dot(h)
        let hints = ArgvHints.hints(h, shown: Set(h.processes.map(\.id)))
        for (id, hint) in hints {
            // Only processes with a sibling running the same chain with other arguments.
            let r = try #require(h.record(for: id))
            let sibs = h.processes.filter { $0.parent == r.parent && $0.id != r.id && $0.execChain == r.execChain }
            #expect(sibs.contains { $0.argv != r.argv })
            #expect(hint.count <= 30)
        }
        #expect(!dot.isEmpty)
    }
}
