import Foundation
import Testing
import Lifecycle
@testable import Render

/// Root 100 spawned at 30 ms forks 101 at 40 ms (exits 3 at 60 ms, reaped at 70 ms), then
/// sleeps in the kernel until 1070 ms, forks 102 at 1080 ms (exits at 1090 ms, reaped at
/// 1095 ms) and exits at 1100 ms: a second of nothing in the middle.
let idleTrace = [
    #"{"type":"trace","t":0,"schema":"proctrace/1","argv":["./idle"],"cwd":"/","start":"2026-11-26T22:00:00.000000Z","host":{"kernel":"6.18","arch":"x86_64","cpus":2},"tracer":"proctrace 0.1.0","states":"sched","pid":99}"#,
    #"{"type":"spawn","t":30000000,"pid":100,"argv":["./idle"],"ppid":99}"#,
    #"{"type":"state","t":30000000,"pid":100,"tid":100,"from":"new","to":"running"}"#,
    #"{"type":"fork","t":40000000,"pid":100,"child":101,"parent":100,"via":"fork"}"#,
    #"{"type":"state","t":40000000,"pid":101,"tid":101,"from":"new","to":"running"}"#,
    #"{"type":"state","t":60000000,"pid":101,"tid":101,"from":"running","to":"terminated"}"#,
    #"{"type":"exit","t":60000000,"pid":101,"status":{"exited":3}}"#,
    #"{"type":"reap","t":70000000,"pid":101,"by":100,"how":"wait"}"#,
    #"{"type":"state","t":70000000,"pid":100,"tid":100,"from":"running","to":"blocked"}"#,
    #"{"type":"state","t":1070000000,"pid":100,"tid":100,"from":"blocked","to":"running"}"#,
    #"{"type":"fork","t":1080000000,"pid":100,"child":102,"parent":100,"via":"fork"}"#,
    #"{"type":"state","t":1080000000,"pid":102,"tid":102,"from":"new","to":"running"}"#,
    #"{"type":"state","t":1090000000,"pid":102,"tid":102,"from":"running","to":"terminated"}"#,
    #"{"type":"exit","t":1090000000,"pid":102,"status":{"exited":0}}"#,
    #"{"type":"reap","t":1095000000,"pid":102,"by":100,"how":"wait"}"#,
    #"{"type":"state","t":1100000000,"pid":100,"tid":100,"from":"running","to":"terminated"}"#,
    #"{"type":"exit","t":1100000000,"pid":100,"status":{"exited":0}}"#,
    #"{"type":"reap","t":1100000000,"pid":100,"by":99,"how":"wait"}"#,
    #"{"type":"end","t":1200000000,"status":{"exited":0},"events":18,"lost":0}"#,
]

@Suite("broken time axis")
struct AxisBreakTests {
    @Test func longIdleStretchIsCutWithMarkAndLabel() throws {
        let h = try history("idle", idleTrace)
        let (t0, t1) = TimelineDOT.window(h.processes, from: nil, to: nil)
        #expect(t0 == 30 * ms && t1 == 1100 * ms)
        let cuts = TimelineAxis.idleCuts(h.processes, t0: t0, t1: t1)
        try #require(cuts.count == 1)
        let c = cuts[0]
        // Inside the stretch with no event (70 ms → 1070 ms), most of it.
        #expect(c.a > 70 * ms && c.b < 1070 * ms && c.b - c.a > 900 * ms)
        let dot = TimelineDOT.dot(h)
        #expect(dot.contains("class=\"axisbreak\""))
        #expect(dot.contains("id=\"break_1\""))
        #expect(dot.contains("label=\"… \(TimelineAxis.cutText(c.b - c.a)) …\""))
        #expect(dot.contains("axis broken"))
        // The compressed mapping: kept time over 900 points minus one 44-point gap.
        let x0 = TimelineDOT.labelWidth + 10
        let s = (900.0 - TimelineAxis.gapWidth) / Double((t1 - t0) - (c.b - c.a))
        let before = try #require(nodeX(dot, id: "exit_101_1"))
        #expect(abs(before - (x0 + Double(60 * ms - t0) * s)) < 0.01)
        let after = try #require(nodeX(dot, id: "exit_102_1"))
        #expect(abs(after - (x0 + Double(c.a - t0) * s + TimelineAxis.gapWidth + Double(1090 * ms - c.b) * s)) < 0.01)
        // The event after the break is well inside the picture, not squeezed to its edge.
        let linear = TimelineDOT.dot(h, options: { var o = TimelineOptions(); o.breakAxis = false; return o }())
        let afterLinear = try #require(nodeX(linear, id: "exit_102_1"))
        let beforeLinear = try #require(nodeX(linear, id: "exit_101_1"))
        #expect(after - before > 0)
        #expect(before - x0 > 10 * (beforeLinear - x0))
        #expect(afterLinear > after)
    }

    @Test func noBreakDrawsTheLinearAxis() throws {
        let h = try history("idle-linear", idleTrace)
        var o = TimelineOptions()
        o.breakAxis = false
        let dot = TimelineDOT.dot(h, options: o)
        #expect(!dot.contains("axisbreak"))
        #expect(!dot.contains("axis broken"))
        let x0 = TimelineDOT.labelWidth + 10
        let x = try #require(nodeX(dot, id: "exit_102_1"))
        #expect(abs(x - (x0 + 900.0 * Double(1060 * ms) / Double(1070 * ms))) < 0.01)
    }

    @Test func shortPausesDoNotBreakTheAxis() throws {
        let h = try history("no-idle", waitTrace)
        #expect(!TimelineDOT.dot(h).contains("axisbreak"))
    }

    @Test func galleryOrphanBreaksAndTicksStayTrue() throws {
        let h = try ProcessHistory(path: fixture("render-orphan.jsonl"))
        let dot = TimelineDOT.dot(h)
        #expect(dot.contains("class=\"axisbreak\""))
        #expect(dot.contains("… 1.57 s …"))
        // Every tick label is at the x of the time it reads.
        let (t0, t1) = TimelineDOT.window(h.processes, from: nil, to: nil)
        let axis = TimelineAxis(t0: t0, t1: t1, x0: TimelineDOT.labelWidth + 10, width: 900,
                                cuts: TimelineAxis.idleCuts(h.processes, t0: t0, t1: t1))
        var checked = 0
        for line in dot.split(separator: "\n") where line.contains(" ms\"") && line.contains("fontsize=8.00") && line.contains("#455a64") {
            guard let lr = line.range(of: "label=\""), let pr = line.range(of: "pos=\""),
                  let v = Double(line[lr.upperBound...].prefix { $0 != " " }),
                  let cx = Double(line[pr.upperBound...].prefix { $0 != "," }) else { continue }
            let w = TimelineDOT.textWidth(String(line[lr.upperBound...].prefix { $0 != "\"" }), 8)
            let tx = axis.x(Int64(v * 1e6))
            // Centred on its tick, or (the first instant after a cut, rounded to the ms) starting
            // just right of it.
            #expect(abs(cx - tx) < 0.01 || abs(cx - w / 2 - (tx + 1)) < 1.5)
            checked += 1
        }
        #expect(checked >= 5)
    }
}
