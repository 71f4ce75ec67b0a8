import Foundation
import Testing
import Lifecycle
@testable import Render

/// One node where several would draw the same thing (issue 13: a 10,000-lane timeline gave
/// Graphviz 185,000 nodes): signals on one point of the axis share a mark, and a mixed bar
/// that one part covers whole is drawn in that part's colour alone.
@Suite("shapes drawn once")
struct SharedMarkTests {
    /// Root 100 lives 30 ms → 1030 ms (1 s over 900 pt: ~1.1 ms a point). Its child 101, from
    /// 40 ms, cycles 1 µs ready / 98 µs running / 1 µs blocked for 4 ms (mixed bars whose
    /// running part, 98%, is drawn over all of the bar: a 9.8 pt part is 10 pt, centred), then
    /// 30 µs ready / 70 µs running for 4 ms (bars of two visible parts), and exits at 50 ms.
    /// 100 receives three SIGCHLD at 60 ms (one point) and one at 500 ms.
    static func trace() -> [String] {
        var l = [#"{"type":"trace","t":0,"schema":"proctrace/1","argv":["./p"],"cwd":"/","start":"2026-11-26T22:00:00.000000Z","# +
                 #""host":{"kernel":"6.18","arch":"x86_64","cpus":2},"tracer":"proctrace 0.1.0","states":"sched","pid":99}"#,
                 #"{"type":"spawn","t":30000000,"pid":100,"argv":["./p"],"ppid":99}"#,
                 #"{"type":"state","t":30000000,"pid":100,"tid":100,"from":"new","to":"running"}"#,
                 #"{"type":"fork","t":40000000,"pid":100,"child":101,"parent":100,"via":"fork"}"#,
                 #"{"type":"state","t":40000000,"pid":101,"tid":101,"from":"new","to":"ready"}"#]
        var t: Int64 = 40_000_000
        var from = "ready"
        func to(_ s: String, after d: Int64) {
            t += d
            l.append(#"{"type":"state","t":\#(t),"pid":101,"tid":101,"from":"\#(from)","to":"\#(s)"}"#)
            from = s
        }
        for _ in 0..<40 { to("running", after: 1_000); to("blocked", after: 98_000); to("ready", after: 1_000) }
        for _ in 0..<40 { to("running", after: 30_000); to("ready", after: 70_000) }
        to("terminated", after: 2_000_000)
        l.append(#"{"type":"exit","t":\#(t),"pid":101,"status":{"exited":0}}"#)
        l.append(#"{"type":"reap","t":\#(t + 1_000_000),"pid":101,"by":100,"how":"wait"}"#)
        for from in [101, 101, 101] {
            l.append(#"{"type":"signal","t":60000000,"pid":100,"sig":"SIGCHLD","from":\#(from)}"#)
        }
        l.append(#"{"type":"signal","t":500000000,"pid":100,"sig":"SIGCHLD","from":101}"#)
        l.append(#"{"type":"state","t":1030000000,"pid":100,"tid":100,"from":"running","to":"terminated"}"#)
        l.append(#"{"type":"exit","t":1030000000,"pid":100,"status":{"exited":0}}"#)
        l.append(#"{"type":"reap","t":1030000000,"pid":100,"by":99,"how":"wait"}"#)
        l.append(#"{"type":"end","t":1040000000,"status":{"exited":0},"events":\#(l.count + 1),"lost":0}"#)
        return l
    }

    static func picture() throws -> (SVGPicture, ProcessHistory) {
        let h = try history("shared", trace())
        var options = TimelineOptions()
        options.breakAxis = false
        let svg = try GraphvizRenderer.shared.render(dot: TimelineDOT.dot(h, options: options), engine: "nop2", format: .svg)
        try Data(svg).write(to: inspectionPath("shared.timeline.svg"))
        return (try SVGPicture(svg: svg), h)
    }

    @Test func signalsOnOnePointShareOneMarkThatListsThem() throws {
        let (pic, _) = try Self.picture()
        // (The lane's label lists every signal too: its tooltip starts with the pid.)
        let marks = pic.nodes.filter { $0.tooltip?.hasPrefix("SIGCHLD") == true || $0.tooltip?.contains("signals at this point") == true }
        #expect(marks.count == 2, "\(marks.map { $0.tooltip ?? "" })")
        let shared = try #require(marks.first { $0.tooltip?.hasPrefix("3 signals at this point:") == true })
        #expect(shared.tooltip?.components(separatedBy: "SIGCHLD from 101 at 60 ms").count == 4, "\(shared.tooltip ?? "")")
        #expect(marks.contains { $0.tooltip == "SIGCHLD from 101 at 500 ms" }, "\(marks.map { $0.tooltip ?? "" })")
    }

    @Test func aMixedBarOnePartCoversIsDrawnInItsColourAlone() throws {
        let (pic, _) = try Self.picture()
        let running = try #require(pic.legendColour("running ("))
        let ready = try #require(pic.legendColour("ready ("))
        let mixed = pic.nodes.filter { $0.classes.contains("mixed") }
        let covered = mixed.filter { $0.tooltip?.contains("running 98%") == true }
        let split = mixed.filter { $0.tooltip?.contains("ready 30%") == true }
        try #require(!covered.isEmpty && !split.isEmpty, "\(mixed.map { $0.tooltip ?? "" })")
        // Nothing else is drawn on a covered bar: it is one running-coloured box.
        for bar in covered {
            let body = try #require(bar.body)
            #expect(body.fill == running)
            let over = pic.nodes.filter { n in
                n.tooltip == nil && n.body.map { abs($0.x0 - body.x0) < 0.01 && abs($0.x1 - body.x1) < 0.01 && abs($0.midY - body.midY) < 6 } == true
            }
            #expect(over.isEmpty, "a covered bar at \(body.x0) has \(over.count) parts drawn over it")
        }
        // A bar of two visible parts keeps both: ready on top filling it, running drawn over 70% of it.
        for bar in split {
            let body = try #require(bar.body)
            #expect(body.fill == ready)
            let parts = pic.nodes.filter { n in
                n.tooltip == nil && n.body.map { abs($0.x0 - body.x0) < 0.01 && abs($0.midY - body.midY) < 6 } == true
            }
            #expect(parts.count == 1 && parts.first?.body?.fill == running, "bar at \(body.x0): \(parts.count) parts")
        }
    }
}
