import Foundation
import Testing
import Lifecycle
@testable import Render

/// Fewer shapes for the same picture on compact timelines (issue 13: the 10,000-lane
/// timeline): neighbouring merged stretches drawn in one colour are one box, and the idle
/// cuts are found without sorting every instant.
@Suite("joined bars and idle cuts")
struct JoinedBarTests {
    static let children = 320
    static func child(_ k: Int) -> Int { 1000 + k }
    static func forkTime(_ k: Int) -> Int64 { 40 * ms + Int64(k) * 3 * ms }

    /// Root 100 runs from 30 ms to 1030 ms (1 s over 900 pt: ~1.1 ms a point) and forks 320
    /// children, one every 3 ms from 40 ms: 321 lanes, a compact picture. Each child lives
    /// 8 ms (~7 pt) and is reaped 1 ms after its exit. An even child cycles 98 µs running,
    /// 1 µs blocked, 1 µs ready, 80 times (mixed bars that running covers whole); an odd one
    /// 30 µs ready, 70 µs running (bars of two visible parts).
    static func trace() -> [String] {
        var ev: [(t: Int64, line: String)] = [
            (30 * ms, #"{"type":"spawn","t":30000000,"pid":100,"argv":["./fan"],"ppid":99}"#),
            (30 * ms, #"{"type":"state","t":30000000,"pid":100,"tid":100,"from":"new","to":"running"}"#),
        ]
        for k in 0..<children {
            let pid = child(k)
            var t = forkTime(k)
            ev.append((t, #"{"type":"fork","t":\#(t),"pid":100,"child":\#(pid),"parent":100,"via":"fork"}"#))
            var from = "new"
            func to(_ s: String, at time: Int64) {
                ev.append((time, #"{"type":"state","t":\#(time),"pid":\#(pid),"tid":\#(pid),"from":"\#(from)","to":"\#(s)"}"#))
                from = s
            }
            if k % 2 == 0 {
                to("running", at: t)
                for _ in 0..<80 { t += 98_000; to("blocked", at: t); t += 1_000; to("ready", at: t); t += 1_000; to("running", at: t) }
            } else {
                to("ready", at: t)
                for _ in 0..<80 { t += 30_000; to("running", at: t); t += 70_000; to("ready", at: t) }
            }
            let end = forkTime(k) + 8 * ms
            to("terminated", at: end)
            ev.append((end, #"{"type":"exit","t":\#(end),"pid":\#(pid),"status":{"exited":0}}"#))
            ev.append((end + ms, #"{"type":"reap","t":\#(end + ms),"pid":\#(pid),"by":100,"how":"wait"}"#))
        }
        ev.append((1030 * ms, #"{"type":"state","t":1030000000,"pid":100,"tid":100,"from":"running","to":"terminated"}"#))
        ev.append((1030 * ms, #"{"type":"exit","t":1030000000,"pid":100,"status":{"exited":0}}"#))
        ev.append((1030 * ms, #"{"type":"reap","t":1030000000,"pid":100,"by":99,"how":"wait"}"#))
        var lines = [#"{"type":"trace","t":0,"schema":"proctrace/1","argv":["./fan"],"cwd":"/","start":"2026-11-26T22:00:00.000000Z","# +
                     #""host":{"kernel":"6.18","arch":"x86_64","cpus":2},"tracer":"proctrace 0.1.0","states":"sched","pid":99}"#]
        lines += ev.enumerated().sorted { ($0.element.t, $0.offset) < ($1.element.t, $1.offset) }.map(\.element.line)
        lines.append(#"{"type":"end","t":1040000000,"status":{"exited":0},"events":\#(lines.count + 1),"lost":0}"#)
        return lines
    }

    /// The state bands of `pid`'s lane (not its label, marks or zombie sliver), left to right.
    static func bands(_ pic: SVGPicture, _ pid: Int) -> [SVGPicture.Element] {
        pic.nodes.filter { n in
            guard let tip = n.tooltip, tip.hasPrefix("\(pid) ") else { return false }
            return ["mixed", "running", "ready", "blocked", "new"].contains { tip.hasPrefix("\(pid) \($0)") }
        }.sorted { ($0.body?.x0 ?? 0) < ($1.body?.x0 ?? 0) }
    }

    /// The number of stretches a band stands for: "(N stretches)", else one.
    static func stretches(_ tip: String) -> Int {
        guard let r = tip.range(of: " stretches") else { return 1 }
        return Int(tip[..<r.lowerBound].split(separator: "(").last ?? "") ?? 1
    }

    @Test func compactLanesDrawARunOfOneColourAsOneBoxOverItsWholeTime() throws {
        let h = try history("joined", Self.trace())
        var options = TimelineOptions()
        options.breakAxis = false
        let dot = TimelineDOT.dot(h, options: options)
        let svg = try GraphvizRenderer.shared.render(dot: dot, engine: "nop2", format: .svg)
        try Data(svg).write(to: inspectionPath("joined.timeline.svg"))
        let pic = try SVGPicture(svg: svg)
        let running = try #require(pic.legendColour("running ("))
        let ready = try #require(pic.legendColour("ready ("))
        // The axis: 30 ms → 1030 ms over 900 points from the label gutter.
        func x(_ t: Int64) -> Double { TimelineDOT.labelWidth + 10 + Double(t - 30 * ms) * 900 / Double(1000 * ms) }
        for k in 0..<Self.children {
            let pid = Self.child(k)
            let lane = Self.bands(pic, pid)
            // Nothing is lost: the lane's bands stand for every state stretch of the child.
            let expected = k % 2 == 0 ? 240 : 160
            #expect(lane.reduce(0) { $0 + Self.stretches($1.tooltip ?? "") } == expected, "lane of \(pid)")
            if k % 2 == 0 {
                // Running covers every bar: one box, in running's colour, over the whole life.
                try #require(lane.count == 1, "lane of \(pid): \(lane.map { $0.tooltip ?? "" })")
                let bar = try #require(lane[0].body)
                #expect(lane[0].classes.contains("mixed") && bar.fill == running)
                #expect(lane[0].tooltip?.contains("running 98%") == true, "\(lane[0].tooltip ?? "")")
                #expect(abs(bar.x0 - x(Self.forkTime(k))) < 0.75 && abs(bar.x1 - x(Self.forkTime(k) + 8 * ms)) < 0.75,
                        "\(pid): \(bar.x0)…\(bar.x1), lived \(x(Self.forkTime(k)))…\(x(Self.forkTime(k) + 8 * ms))")
                // Nothing else is drawn over it.
                let over = pic.nodes.filter { n in
                    n.tooltip == nil && n.body.map { $0.x0 >= bar.x0 - 0.01 && $0.x1 <= bar.x1 + 0.01 && abs($0.midY - bar.midY) < 6 } == true
                }
                #expect(over.isEmpty, "\(pid): \(over.count) parts over the joined bar")
            } else {
                // Bars of two visible parts stay what they are: at most two points each, ready
                // on top, with running drawn over 70% of it.
                #expect(lane.count >= 3, "lane of \(pid): \(lane.count) bands")
                for band in lane {
                    let bar = try #require(band.body)
                    #expect(bar.x1 - bar.x0 <= 2.9 && bar.fill == ready, "\(band.tooltip ?? ""): \(bar.x1 - bar.x0) pt, \(bar.fill ?? "-")")
                }
            }
        }
    }

    @Test func stackIndexIsThePlaceInTheStackOrder() {
        for (k, band) in TimelineDOT.stackOrder.enumerated() { #expect(TimelineDOT.stackIndex(band) == k, "\(band)") }
        #expect(TimelineDOT.stackIndex(.zombie) == nil && TimelineDOT.stackIndex(.mixed) == nil && TimelineDOT.stackIndex(.unknown) == nil)
    }

    /// The cuts as they were found before: every instant sorted, each silence longer than the
    /// threshold, a margin kept on either side.
    static func sortedCuts(_ procs: [ProcessRecord], t0: Int64, t1: Int64) -> [TimelineAxis.Cut] {
        let span = t1 - t0
        var ts: [Int64] = [t0, t1]
        TimelineAxis.forEachEventTime(procs) { if $0 > t0 && $0 < t1 { ts.append($0) } }
        ts.sort()
        let threshold = max(span / 4, 250_000_000)
        let gaps = zip(ts, ts.dropFirst()).filter { $0.1 - $0.0 > threshold }
        let kept = span - gaps.reduce(0) { $0 + ($1.1 - $1.0) }
        return gaps.map { g in
            TimelineAxis.Cut(a: g.0 + min(max(kept / 40, 1), (g.1 - g.0) / 10), b: g.1 - min(max(kept / 12, 1), (g.1 - g.0) / 10))
        }
    }

    /// One process whose state changes come in bursts separated by silences of every length
    /// around the threshold (a fixed pseudo-random sequence), and the window cut anywhere.
    @Test func idleCutsAreTheSilencesBetweenSortedInstants() throws {
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ n: Int64) -> Int64 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int64((seed >> 33) % UInt64(n))
        }
        var found = 0
        for round in 0..<40 {
            var lines = [#"{"type":"trace","t":0,"schema":"proctrace/1","argv":["./b"],"cwd":"/","start":"2026-11-26T22:00:00.000000Z","# +
                         #""host":{"kernel":"6.18","arch":"x86_64","cpus":2},"tracer":"proctrace 0.1.0","states":"sched","pid":99}"#,
                         #"{"type":"spawn","t":10000000,"pid":100,"argv":["./b"],"ppid":99}"#]
            var t: Int64 = 10 * ms
            var from = "new"
            for _ in 0..<(2 + next(6)) {
                for _ in 0..<(1 + next(20)) {
                    t += 1 + next(5 * ms)
                    let to = from == "running" ? "blocked" : "running"
                    lines.append(#"{"type":"state","t":\#(t),"pid":100,"tid":100,"from":"\#(from)","to":"\#(to)"}"#)
                    from = to
                }
                t += next(round % 2 == 0 ? 900 * ms : 3_000 * ms)   // a silence, long or not
            }
            t += 1
            lines.append(#"{"type":"state","t":\#(t),"pid":100,"tid":100,"from":"\#(from)","to":"terminated"}"#)
            lines.append(#"{"type":"exit","t":\#(t),"pid":100,"status":{"exited":0}}"#)
            lines.append(#"{"type":"reap","t":\#(t),"pid":100,"by":99,"how":"wait"}"#)
            lines.append(#"{"type":"end","t":\#(t + 1),"status":{"exited":0},"events":\#(lines.count + 1),"lost":0}"#)
            let h = try history("idlecuts", lines)
            let (w0, w1) = TimelineDOT.window(h.processes, from: nil, to: nil)
            for (a, b) in [(w0, w1), (w0 + next(w1 - w0), w1), (w0, w1 - next(w1 - w0))] where b > a {
                let cuts = TimelineAxis.idleCuts(h.processes, t0: a, t1: b)
                #expect(cuts == Self.sortedCuts(h.processes, t0: a, t1: b), "round \(round), window \(a)…\(b)")
                found += cuts.count
            }
        }
        #expect(found > 10, "the rounds should hold silences long enough to cut: \(found)")
    }
}
