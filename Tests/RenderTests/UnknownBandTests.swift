import Foundation
import Testing
import Lifecycle
@testable import Render

/// Where a state source stopped, the pictures and the Perfetto export say "unknown".
@Suite struct UnknownBandTests {
    let h: ProcessHistory
    init() throws { h = try ProcessHistory(path: fixture("unknown-states.jsonl")) }

    @Test func timelineDrawsAHatchedUnknownBandWithALegendEntry() throws {
        let dot = TimelineDOT.dot(h, options: TimelineOptions())
        let bands = dot.split(separator: "\n").filter { $0.contains("class=\"unknown\"") && $0.contains("tooltip") && !$0.contains("legend") }
        // 100: 10–30 ms; 101: 10–20 ms; nothing else.
        #expect(bands.count == 2)
        #expect(bands.contains { $0.contains("100 state unknown (ring buffer overrun on cpu 1): 10.0 ms → 30.0 ms") })
        #expect(bands.contains { $0.contains("101 state unknown (ring buffer overrun on cpu 1): 10.0 ms → 20.0 ms") })
        #expect(bands.allSatisfy { $0.contains("style=striped") })
        // No state band of either process claims any of that time.
        #expect(!dot.contains("100 running (") || !dot.contains("100 running: 10.0 ms"))
        let svg = try GraphvizRenderer.shared.render(dot: dot, engine: "nop2", format: .svg)
        let text = String(decoding: svg, as: UTF8.self)
        #expect(text.contains("unknown (the state source stopped: lost events, nothing recorded)"))
        #expect(text.contains("id=\"legend_unknown\""))
    }

    @Test func perfettoHasUnknownSlicesAndAnInstantWhereTheSourceStopped() throws {
        let json = try #require(try JSONSerialization.jsonObject(with: Data(PerfettoExport.json(h))) as? [String: Any])
        let events = try #require(json["traceEvents"] as? [[String: Any]])
        let unknown = events.filter { $0["ph"] as? String == "X" && $0["name"] as? String == "state unknown" }
        #expect(unknown.count == 2)
        let root = try #require(unknown.first { $0["pid"] as? Int == 100 })
        #expect(root["ts"] as? Double == 10_000 && root["dur"] as? Double == 20_000)
        #expect((root["args"] as? [String: Any])?["reason"] as? String == "ring buffer overrun on cpu 1")
        let stops = events.filter { $0["ph"] as? String == "i" && $0["name"] as? String == "state source stopped" }
        #expect(Set(stops.compactMap { $0["pid"] as? Int }) == [100, 101])
        // Nothing says running in the unknown stretch.
        let running = events.filter { $0["ph"] as? String == "X" && $0["pid"] as? Int == 100 && $0["name"] as? String == "running" }
        #expect(running.allSatisfy { ($0["ts"] as! Double) + ($0["dur"] as! Double) <= 10_000 })
    }
}
