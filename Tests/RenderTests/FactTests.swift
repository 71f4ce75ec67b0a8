import Foundation
import Testing
import Lifecycle
@testable import Render

@Suite("facts the pictures must show")
struct FactTests {
    let family: ProcessHistory
    init() throws { family = try ProcessHistory(path: fixture("render-family.jsonl")) }

    @Test func reparentedGrandchildGetsDashedEdgeFromAdopter() {
        let dot = ProcessTreeDOT.dot(family)
        // 4111 was forked by 4110 (solid edge) and adopted by pid 1, which is not traced.
        #expect(dot.contains("p4110_1 -> p4111_1;"))
        #expect(dot.contains("ext1 -> p4111_1 [class=\"adopted\", style=dashed"))
        #expect(dot.contains("ext1 [id=\"ext1\", class=\"untraced\""))
    }

    @Test func classesAndLegend() throws {
        let dot = ProcessTreeDOT.dot(family, options: TreeOptions(collapse: false))
        func line(_ node: String) -> String { dot.split(separator: "\n").first { $0.hasPrefix("  \(node) [") }.map(String.init) ?? "" }
        #expect(line("p4106_1").contains("class=\"process killed\""))
        #expect(line("p4107_1").contains("class=\"process nonzero\""))
        #expect(line("p4112_1").contains("autoreaped") && line("p4112_1").contains("shape=octagon"))
        #expect(line("p4111_1").contains("orphaned") && line("p4111_1").contains("dashed"))
        let svg = try GraphvizRenderer.shared.render(dot: dot, engine: "dot", format: .svg)
        let parsed = try SVGProbe.parse(svg)
        #expect(parsed["legend"]?.texts.contains("killed by a signal") == true)
        #expect(parsed["p4106_1"]?.texts.contains("killed by SIGKILL") == true)
        #expect(parsed["p4111_1"]?.texts.contains("zombie 18.0 ms") == true)
        // The tooltip carries the full argv.
        #expect(parsed["p4102_1"]?.title?.contains("argv: gcc -c f0.c -o f0.o") == true)
    }

    @Test func identicalSiblingsCollapseUnlessAsked() {
        let collapsed = ProcessTreeDOT.dot(family)
        #expect(collapsed.contains("4*[gcc]"))
        #expect(collapsed.contains("pids 4102–4105"))
        #expect(!collapsed.contains("p4103_1 ["))
        let full = ProcessTreeDOT.dot(family, options: TreeOptions(collapse: false))
        #expect(!full.contains("4*[gcc]"))
        for pid in 4102...4105 { #expect(full.contains("p\(pid)_1 [")) }
    }

    @Test func forkEdgesFollowForkOrder() {
        let dot = ProcessTreeDOT.dot(family, options: TreeOptions(collapse: false))
        let kids = dot.split(separator: "\n").filter { $0.hasPrefix("  p4101_1 -> ") }.map { String($0.dropFirst(13).prefix(7)) }
        #expect(kids == ["p4102_1", "p4103_1", "p4104_1", "p4105_1", "p4106_1", "p4107_1"])
    }

    @Test func hostileArgvYieldsWellFormedSVG() throws {
        let h = try ProcessHistory(path: fixture("render-hostile.jsonl"))
        let tree = try GraphvizRenderer.shared.render(dot: ProcessTreeDOT.dot(h), engine: "dot", format: .svg)
        let parsedTree = try SVGProbe.parse(tree)
        let node = try #require(parsedTree["p5001_1"])
        #expect(node.texts.first?.hasPrefix("5001 <prog>&\"\u{240A}") == true)
        #expect(node.title?.contains("evil\"]; x [label=\"pwn") == true)
        #expect(node.title?.contains("C:\\path\\N\\G\\") == true)
        #expect(node.title?.contains("/tmp/we \u{FFFD}\u{FFFD} ird\\dir") == true)
        let timeline = try GraphvizRenderer.shared.render(dot: TimelineDOT.dot(h), engine: "nop2", format: .svg)
        _ = try SVGProbe.parse(timeline)
        // Exactly the nodes we made: nothing injected.
        #expect(Set(parsedTree.keys.filter { $0.hasPrefix("p") || $0.hasPrefix("ext") }) == ["p5000_1", "p5001_1"])
    }

    @Test func timelineHasLanesLegendAndArrows() throws {
        let dot = TimelineDOT.dot(family)
        #expect(dot.contains("id=\"legend\""))
        #expect(dot.components(separatedBy: "class=\"fork\"").count - 1 == 10)
        #expect(dot.contains("class=\"reparent\"") || dot.contains("adopted by init (1)"))
        #expect(dot.contains("stopped by the tracer (ptrace)"))
        #expect(dot.contains("zombie (exited, not yet reaped)"))
        let three = TimelineDOT.dot(family, options: TimelineOptions(model: .three))
        #expect(!three.contains("new (created, not yet scheduled)"))
        let svg = try GraphvizRenderer.shared.render(dot: dot, engine: "nop2", format: .svg)
        _ = try SVGProbe.parse(svg)
    }

    @Test func timelineWithoutStatesIsHonest() throws {
        let h = try ProcessHistory(path: fixture("zombie.jsonl"))
        let dot = TimelineDOT.dot(h)
        #expect(dot.contains("alive (no scheduler states recorded)"))
        #expect(!dot.contains("running (on a CPU)"))
    }

    @Test func filtersSelectSubtreesAndCommands() {
        let sub = ProcessFilter(pids: [4101]).select(family)
        #expect(Set(sub.map(\.pid)) == Set([4101, 4102, 4103, 4104, 4105, 4106, 4107]))
        let gcc = ProcessFilter(match: "gcc").select(family)
        #expect(Set(gcc.map(\.pid)) == Set([4102, 4103, 4104, 4105, 4106]))  // cc1 lives under /usr/lib/gcc
    }
}

@Suite("Perfetto export")
struct PerfettoTests {
    @Test func structureTheImporterNeeds() throws {
        let h = try ProcessHistory(path: fixture("render-family.jsonl"))
        let data = Data(PerfettoExport.json(h))
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let events = try #require(root["traceEvents"] as? [[String: Any]])
        func ints(_ e: [String: Any], _ k: String) -> Int? { (e[k] as? NSNumber)?.intValue }

        // Every event has a phase, a pid and a tid; every pid has exactly one process_name.
        var processNames: [Int: Int] = [:]
        var threadNames = Set<Int>()
        for e in events {
            #expect(e["ph"] is String && ints(e, "pid") != nil && ints(e, "tid") != nil)
            if e["ph"] as? String == "M", e["name"] as? String == "process_name" { processNames[ints(e, "pid")!, default: 0] += 1 }
            if e["ph"] as? String == "M", e["name"] as? String == "thread_name" { threadNames.insert(ints(e, "tid")!) }
        }
        let pids = Set(events.compactMap { ints($0, "pid") })
        #expect(Set(processNames.keys) == pids)
        #expect(processNames.values.allSatisfy { $0 == 1 })
        let tids = Set(events.filter { $0["ph"] as? String != "M" }.compactMap { ints($0, "tid") })
        #expect(tids.isSubset(of: threadNames))
        #expect(threadNames.contains(4150))

        // ts in microseconds: the fork of 4101 at 2 ms is at 2000 µs.
        let slices = events.filter { $0["ph"] as? String == "X" }
        #expect(slices.allSatisfy { ($0["dur"] as? NSNumber).map { $0.doubleValue > 0 } ?? false })
        let forkStart = events.first { $0["ph"] as? String == "s" && ints($0, "pid") == 4100 }
        #expect((forkStart?["ts"] as? NSNumber)?.doubleValue == 2000)

        // Flows are paired: one start and one end per id, the end binding to its enclosing slice.
        var starts: [Int: Int] = [:], ends: [Int: Int] = [:]
        for e in events {
            if e["ph"] as? String == "s" { starts[ints(e, "id")!, default: 0] += 1 }
            if e["ph"] as? String == "f" { ends[ints(e, "id")!, default: 0] += 1; #expect(e["bp"] as? String == "e") }
        }
        #expect(starts == ends && starts.values.allSatisfy { $0 == 1 } && starts.count == 10)

        // Slices on one thread never partially overlap (the importer nests X events).
        var byTid: [Int: [(Double, Double)]] = [:]
        for e in slices { byTid[ints(e, "tid")!, default: []].append(((e["ts"] as! NSNumber).doubleValue, (e["dur"] as! NSNumber).doubleValue)) }
        for (_, list) in byTid {
            let sorted = list.sorted { $0.0 < $1.0 }
            for k in sorted.indices.dropFirst() { #expect(sorted[k].0 >= sorted[k - 1].0 + sorted[k - 1].1 - 1e-6) }
        }
        // Lifecycle instants: process-scoped, one reap per process.
        let instants = events.filter { $0["ph"] as? String == "i" }
        #expect(instants.allSatisfy { $0["s"] as? String == "p" })
        #expect(instants.filter { ($0["name"] as? String)?.hasPrefix("reap") == true }.count == h.processes.count)
        #expect(instants.contains { ($0["name"] as? String) == "reparent 4110→1" })
    }

    /// `export -o FILE` streams the export in pieces (at 50,000 processes it is 140 MB, which
    /// was held whole in memory, twice while the buffer grew): the pieces, put together, are
    /// the export, byte for byte, whatever the piece size.
    @Test func streamedInPiecesItIsTheSameExport() throws {
        for name in ["render-family.jsonl", "render-hostile.jsonl"] {
            let h = try ProcessHistory(path: fixture(name))
            let whole = PerfettoExport.json(h)
            for size in [1, 100, 4096] {
                var pieces: [[UInt8]] = []
                PerfettoExport.write(h, chunkSize: size) { pieces.append($0) }
                #expect(Array(pieces.joined()) == whole, "\(name), pieces of \(size) bytes")
                // Every piece but the last holds at least a chunk; there are several.
                #expect(pieces.dropLast().allSatisfy { $0.count >= size })
                #expect(pieces.count >= min(whole.count / size, 2), "\(name): \(pieces.count) pieces of \(size)")
            }
        }
    }

    @Test func hostileArgvStaysValidJSON() throws {
        let h = try ProcessHistory(path: fixture("render-hostile.jsonl"))
        let bytes = PerfettoExport.json(h)
        let root = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]
        let events = root?["traceEvents"] as? [[String: Any]] ?? []
        let exec = events.first { ($0["args"] as? [String: Any])?["argv"] != nil && ($0["pid"] as? Int) == 5001 }
        let argv = (exec?["args"] as? [String: Any])?["argv"] as? [String]
        #expect(argv?.contains("evil\"]; x [label=\"pwn") == true)
        #expect(argv?.contains("two\nlines") == true)
    }
}
