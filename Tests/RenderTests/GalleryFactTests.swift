import Foundation
import Testing
import Lifecycle
@testable import Render

/// Writes a small trace (one JSON object per line) to a temporary file and folds it.
func history(_ name: String, _ lines: [String]) throws -> ProcessHistory {
    let path = inspectionPath(name + ".jsonl")
    try (lines.joined(separator: "\n") + "\n").write(to: path, atomically: true, encoding: .utf8)
    return try ProcessHistory(path: path.path)
}

let ms: Int64 = 1_000_000

/// Root 100 spawned at 30 ms (after proctrace's own setup), forks 101 at 40 ms and blocks in
/// wait4 from 41 to 80 ms; 101 exits 3 at 60 ms (a zombie until 80 ms); the root exits at 90
/// ms; the `end` line comes much later, at 500 ms.
let waitTrace = [
    #"{"type":"trace","t":0,"schema":"proctrace/1","argv":["./w"],"cwd":"/","start":"2026-11-26T22:00:00.000000Z","host":{"kernel":"6.18","arch":"x86_64","cpus":2},"tracer":"proctrace 0.1.0","states":"sched","pid":99}"#,
    #"{"type":"spawn","t":30000000,"pid":100,"argv":["./w"],"ppid":99}"#,
    #"{"type":"state","t":30000000,"pid":100,"tid":100,"from":"new","to":"ready"}"#,
    #"{"type":"state","t":30100000,"pid":100,"tid":100,"from":"ready","to":"running"}"#,
    #"{"type":"exec","t":31000000,"pid":100,"path":"/usr/bin/w","argv":["w"]}"#,
    #"{"type":"exec","t":31100000,"pid":100,"path":"/usr/bin/w2","argv":["w2"]}"#,
    #"{"type":"fork","t":40000000,"pid":100,"child":101,"parent":100,"via":"fork"}"#,
    #"{"type":"state","t":40000000,"pid":101,"tid":101,"from":"new","to":"ready"}"#,
    #"{"type":"state","t":40100000,"pid":101,"tid":101,"from":"ready","to":"running"}"#,
    #"{"type":"state","t":41000000,"pid":100,"tid":100,"from":"running","to":"blocked","why":"wait4"}"#,
    #"{"type":"wait","t":41000000,"pid":100,"phase":"begin","call":"wait4","target":-1,"options":[]}"#,
    #"{"type":"state","t":45000000,"pid":101,"tid":101,"from":"running","to":"blocked","why":"traced"}"#,
    #"{"type":"signal","t":44900000,"pid":101,"sig":"SIGSTOP","from":100}"#,
    #"{"type":"signal","t":50000000,"pid":101,"sig":"SIGCONT","from":100}"#,
    #"{"type":"state","t":50000000,"pid":101,"tid":101,"from":"blocked","to":"running"}"#,
    #"{"type":"state","t":60000000,"pid":101,"tid":101,"from":"running","to":"terminated"}"#,
    #"{"type":"exit","t":60000000,"pid":101,"status":{"exited":3}}"#,
    #"{"type":"state","t":80000000,"pid":100,"tid":100,"from":"blocked","to":"running"}"#,
    #"{"type":"wait","t":80000000,"pid":100,"phase":"end","call":"wait4","target":-1,"options":[],"result":101,"status":{"exited":3}}"#,
    #"{"type":"reap","t":80000000,"pid":101,"by":100,"how":"wait"}"#,
    #"{"type":"state","t":90000000,"pid":100,"tid":100,"from":"running","to":"terminated"}"#,
    #"{"type":"exit","t":90000000,"pid":100,"status":{"exited":0}}"#,
    #"{"type":"reap","t":90000000,"pid":100,"by":99,"how":"wait"}"#,
    #"{"type":"end","t":500000000,"status":{"exited":0},"events":24,"lost":0}"#,
]

/// The x of a pinned node's centre in timeline DOT, found by its id.
func nodeX(_ dot: String, id: String) -> Double? {
    guard let line = dot.split(separator: "\n").first(where: { $0.contains("id=\"\(id)\"") }),
          let r = line.range(of: "pos=\"") else { return nil }
    return Double(line[r.upperBound...].prefix { $0 != "," })
}

@Suite("what the gallery pictures must not get wrong")
struct GalleryFactTests {
    @Test func defaultWindowRunsFromRootSpawnToLastReap() throws {
        let h = try history("window", waitTrace)
        let (t0, t1) = TimelineDOT.window(h.processes, from: nil, to: nil)
        #expect(t0 == 30 * ms)   // the root's spawn, not the trace start
        #expect(t1 == 90 * ms)   // the last reap, not the `end` line at 500 ms
        // --from/--to are trace time (as replay --at) and override either side.
        #expect(TimelineDOT.window(h.processes, from: 0, to: nil) == (0, 90 * ms))
        #expect(TimelineDOT.window(h.processes, from: 50 * ms, to: 70 * ms) == (50 * ms, 70 * ms))
        let dot = TimelineDOT.dot(h)
        #expect(dot.contains("trace time"))
        #expect(dot.contains("trace end at 500.0 ms not shown"))
    }

    @Test func exitMarkIsAtTheExitInstantNotTheReap() throws {
        let h = try history("exit", waitTrace)
        let dot = TimelineDOT.dot(h)
        // Window 30–90 ms over 900 points from x0 = 200: 101 exits at 60 ms → x = 650
        // (its reap at 80 ms would be x = 950).
        let x0 = TimelineDOT.labelWidth + 10
        let x = try #require(nodeX(dot, id: "exit_101_1"))
        #expect(abs(x - (x0 + 450)) < 0.01)
        // The label starts just right of the mark.
        let label = try #require(dot.split(separator: "\n").first { $0.contains("label=\"exit 3\"") })
        let r = try #require(label.range(of: "pos=\""))
        let cx = try #require(Double(label[r.upperBound...].prefix { $0 != "," }))
        #expect(abs(cx - TimelineDOT.textWidth("exit 3", 7) / 2 - (x0 + 452)) < 0.01)
    }

    @Test func blockedInWaitIsItsOwnBandAndNamed() throws {
        let h = try history("waitband", waitTrace)
        let dot = TimelineDOT.dot(h)
        #expect(dot.contains("100 blocked in wait call (wait4(-1)): 41.0 ms → 80.0 ms"))
        #expect(dot.contains("label=\"wait4(-1)\""))
        #expect(dot.contains("blocked in wait4()/waitid(): waiting for a child"))
        #expect(!dot.contains("blocked (sleeping on something)"))  // no other blocking here
    }

    @Test func jobControlStopIsNotBlamedOnTheTracer() throws {
        let h = try history("stop", waitTrace)
        let dot = TimelineDOT.dot(h)
        #expect(dot.contains("101 stopped by signal (SIGSTOP): 45.0 ms → 50.0 ms"))
        #expect(!dot.contains("stopped by the tracer (ptrace)"))
    }

    @Test func execLabelsNeverOverlap() throws {
        let h = try history("execs", waitTrace)
        let dot = TimelineDOT.dot(h)
        // Two execs 0.1 ms apart (1.5 points): the second name goes below the bar or is dropped.
        let labels = dot.split(separator: "\n").filter { $0.contains("label=\"w\"") || $0.contains("label=\"w2\"") }
        let ys = Set(labels.compactMap { l -> Substring? in
            guard let r = l.range(of: "pos=\"") else { return nil }
            return l[r.upperBound...].split(separator: ",")[1].prefix { $0 != "!" }
        })
        #expect(ys.count == labels.count)
    }

    /// A root with children running the same program: `codes` are their exit codes.
    func family(_ codes: [Int], killed: Int = 0) throws -> ProcessHistory {
        var lines = [#"{"type":"trace","t":0,"schema":"proctrace/1","argv":["./burst"],"cwd":"/","start":"2026-11-26T22:00:00.000000Z","host":{"kernel":"6.18","arch":"x86_64","cpus":2},"tracer":"proctrace 0.1.0","states":"none","pid":9}"#,
                     #"{"type":"spawn","t":1000,"pid":10,"argv":["./burst"],"ppid":9}"#]
        var t = 2000
        let all = codes.map { #"{"exited":\#($0)}"# } + Array(repeating: #"{"signaled":"SIGKILL","core":false}"#, count: killed)
        for (i, st) in all.enumerated() {
            lines.append(#"{"type":"fork","t":\#(t),"pid":10,"child":\#(11 + i),"parent":10,"via":"fork"}"#)
            lines.append(#"{"type":"exit","t":\#(t + 100),"pid":\#(11 + i),"status":\#(st)}"#)
            lines.append(#"{"type":"reap","t":\#(t + 200),"pid":\#(11 + i),"by":10,"how":"wait"}"#)
            t += 1000
        }
        lines.append(#"{"type":"exit","t":\#(t),"pid":10,"status":{"exited":0}}"#)
        lines.append(#"{"type":"end","t":\#(t + 10),"status":{"exited":0},"events":\#(lines.count + 1),"lost":0}"#)
        return try history("burst\(codes.count)", lines)
    }

    @Test func collapsedRunNeverHidesADifferentExitStatus() throws {
        // 50 children exiting 0…49 (burst): one node that lists every status.
        let burst = ProcessTreeDOT.dot(try family(Array(0..<50)))
        #expect(burst.contains("50*[burst]"))
        #expect(burst.contains("exit codes 0–49, one each"))
        #expect(burst.contains("class=\"process collapsed mixed nonzero\""))
        // Its stripes are exit-0 green and non-zero orange: the legend explains both colours,
        // and nothing that is not drawn (no process was killed or left running).
        let legend = try #require(burst.split(separator: "\n").first { $0.contains("id=\"legend\"") })
        #expect(legend.contains("exited with a non-zero status") && legend.contains(">exited 0</TD>"))
        #expect(!legend.contains("killed by a signal") && !legend.contains("still running"))
        // Repeated codes are counted.
        let counted = ProcessTreeDOT.dot(try family([0, 0, 0, 1, 2, 2]))
        #expect(counted.contains("exited 0 ×3"))
        #expect(counted.contains("exited 1 ×1"))
        #expect(counted.contains("exited 2 ×2"))
        // A few children with different statuses stay one node each.
        let few = ProcessTreeDOT.dot(try family([1, 3, 0]))
        #expect(!few.contains("*[burst]"))
        for pid in 11...13 { #expect(few.contains("p\(pid)_1 [")) }
        // Identical siblings still collapse; a killed one never joins exited ones.
        let mixed = ProcessTreeDOT.dot(try family([0, 0, 0, 0, 0], killed: 1))
        #expect(mixed.contains("5*[burst]"))
        #expect(!mixed.contains("6*[burst]"))
        #expect(mixed.contains("p16_1 [id=\"p16_1\", class=\"process killed\""))
    }

    /// A committed gallery trace (traces/NAME.jsonl), folded.
    static func gallery(_ name: String) throws -> ProcessHistory {
        try ProcessHistory(path: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("traces/\(name).jsonl").path)
    }

    /// The tree's legend says of a box only what is true of it. The fill says how a process
    /// ended, and nothing about its reaping: the tutorial's children that were never waited
    /// for (auto-reaped with SIGCHLD ignored, orphans adopted by init, the double fork's
    /// grandchild) are green like the waited-for ones, and the legend used to call that green
    /// "exited 0, reaped by its parent's wait". Reaping is the border's and the shape's: every
    /// process drawn with a plain solid border was reaped by its parent's wait, every other one
    /// is dashed (orphaned) or an octagon (auto-reaped), and the legend says so.
    @Test(arguments: ["sigchld_ignore", "orphan", "double_fork", "zombie", "wait_status"])
    func treeLegendSaysOfTheFillOnlyHowItEnded(_ name: String) throws {
        let h = try Self.gallery(name)
        let svg = try GraphvizRenderer.shared.render(dot: ProcessTreeDOT.dot(h), engine: "dot", format: .svg)
        try Data(svg).write(to: inspectionPath("\(name).tree.svg"))
        let pic = try SVGPicture(svg: svg)
        #expect(pic.legend["exited 0"] == Palette.exitedOK, "legend: \(pic.legend)")
        // Only the border's entry speaks of a parent's wait.
        #expect(pic.legend.keys.filter { $0.contains("wait") } == ["solid border: reaped by its parent's wait"], "\(pic.legend.keys)")
        for p in h.processes {
            let box = try #require(pic.node("p\(p.pid)_1"), "no box for \(p.pid)")
            let dashed = box.shapes.contains(where: \.dashed), octagon = box.classes.contains("autoreaped")
            if p.reapHow == .wait && !p.isOrphaned {
                #expect(!dashed && !octagon, "\(p.pid), reaped by its parent's wait, is drawn dashed or as an octagon")
            } else {
                #expect(dashed || octagon, "\(p.pid), reaped \(p.reapHow.map { "\($0)" } ?? "never") by \(p.reapedBy ?? 0), has a plain border")
            }
        }
        if h.processes.contains(where: \.autoReaped) { #expect(pic.legend.keys.contains { $0.hasPrefix("octagon: auto-reaped") }) }
        if h.processes.contains(where: \.isOrphaned) { #expect(pic.legend.keys.contains { $0.hasPrefix("orphaned: reparented") }) }
    }

    /// The DOT node lines of a timeline: pos (centre), width in points, label and tooltip.
    static func timelineNodes(_ dot: String) -> [(x: Double, y: Double, w: Double, label: String?, tooltip: String?)] {
        func field(_ line: Substring, _ key: String) -> String? {
            guard let r = line.range(of: key + "=\"") else { return nil }
            var out = "", escaped = false
            for c in line[r.upperBound...] {
                if escaped { out.append(c); escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { break } else { out.append(c) }
            }
            return out
        }
        return dot.split(separator: "\n").compactMap { line in
            guard let pos = field(line, "pos"), let w = line.range(of: "width=").map({ Double(line[$0.upperBound...].prefix { $0 != "," }) }) ?? nil
            else { return nil }
            let xy = pos.dropLast(pos.hasSuffix("!") ? 1 : 0).split(separator: ",").compactMap { Double($0) }
            guard xy.count == 2 else { return nil }
            return (xy[0], xy[1], w * 72, field(line, "label"), field(line, "tooltip"))
        }
    }

    /// In the tutorial's Semaphore and Pipe pictures what a process waits on is the lesson: a
    /// long blocked stretch names its `why` inside its band, centred on the band's lane (two
    /// workers wait in `futex` on the semaphore, then sleep in `clock_nanosleep` inside it; the
    /// Pipe's reader waits in `read`), as a wait band names its call.
    @Test(arguments: [("mp_semaphore", ["futex", "clock_nanosleep"]), ("mp_pipe", ["read", "clock_nanosleep"])])
    func longBlockedStretchesNameWhatTheySleepIn(_ name: String, _ whys: [String]) throws {
        let h = try Self.gallery(name)
        let nodes = Self.timelineNodes(TimelineDOT.dot(h))
        for why in whys {
            // Every blocked stretch of at least 20 ms in this `why`, one band each.
            let stretches = h.processes.flatMap { p in
                p.processStates().filter { $0.state == .blocked && $0.why == why && $0.end - $0.start >= 20_000_000 }.map { (p.pid, $0) }
            }
            try #require(!stretches.isEmpty, "\(name) has no long stretch blocked in \(why)")
            for (pid, iv) in stretches {
                let band = try #require(nodes.first { $0.tooltip?.hasPrefix("\(pid) blocked (\(why)): ") == true
                    && $0.tooltip?.contains(TimeFormat.labelDuration(iv.end - iv.start)) == true }, "no band for \(pid)'s \(why)")
                let label = nodes.first { $0.label == why && abs($0.y - band.y) < 0.01 && abs($0.x - band.x) <= band.w / 2 }
                #expect(label != nil, "\(pid)'s \(why) band (\(band.w) pt wide) is not named")
            }
        }
        // A wait band still names its call.
        #expect(nodes.contains { $0.label?.hasPrefix("wait4(") == true })
    }
}
