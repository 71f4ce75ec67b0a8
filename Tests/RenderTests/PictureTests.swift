import Foundation
import Testing
import Lifecycle
@testable import Render

/// A trace's events as Foundation decodes them, independently of the model the renderer uses:
/// what the pictures must show is worked out from these.
struct TraceLines {
    var events: [[String: Any]]
    init(_ path: String) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        events = try text.split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:]
        }
    }
    func of(_ type: String) -> [[String: Any]] { events.filter { $0["type"] as? String == type } }
    static func int(_ o: [String: Any], _ key: String) -> Int? { (o[key] as? NSNumber)?.intValue }

    /// Each task's state bands in time order, as the timeline names them: the state before its
    /// first change, then each state it changed to (a blocked stretch is "stopped by tracer"
    /// when the tracer stopped it, "blocked in wait call" when it sleeps in wait4/waitid),
    /// keyed by tid. Stretches of zero length are left out (their band has no extent).
    func stateBands() -> [Int: [String]] {
        var out: [Int: [String]] = [:]
        var last: [Int: (name: String, t: Int)] = [:]
        var start: [Int: Int] = [:]
        for e in of("thread") where e["phase"] as? String == "start" {
            if let tid = Self.int(e, "tid"), let t = Self.int(e, "t") { start[tid] = t }
        }
        for e in of("spawn") + of("fork") {
            if let pid = Self.int(e, e["type"] as? String == "fork" ? "child" : "pid"), let t = Self.int(e, "t") { start[pid] = t }
        }
        func name(_ state: String, _ why: String?) -> String {
            guard state == "blocked" else { return state }
            if let why, why.hasPrefix("traced") { return "stopped by tracer" }
            if let why, ["wait4", "waitid", "waitpid"].contains(why) { return "blocked in wait call" }
            return "blocked"
        }
        for e in of("state") {
            guard let pid = Self.int(e, "pid"), let t = Self.int(e, "t"),
                  let from = e["from"] as? String, let to = e["to"] as? String else { continue }
            let tid = Self.int(e, "tid") ?? pid
            let prev = last[tid] ?? (name(from, nil), start[tid] ?? t)
            if t > prev.t { out[tid, default: []].append(prev.name) }
            last[tid] = to == "terminated" ? nil : (name(to, e["why"] as? String), t)
        }
        return out
    }
}

/// One timeline band: its lane, what its tooltip calls it, where and in what colour it is drawn.
struct Band {
    var pid: Int
    var tid: Int?          // nil: the process's own lane
    var name: String
    var fill: String
    var x0: Double
    var x1: Double
    var midY: Double
    var tooltip: String

    /// The states this band stands for, in order: its name; N times its name for a band
    /// merged from N stretches of one state ("running (3 stretches)"); for a mixed band
    /// (stretches too narrow to draw one by one) the sequence its tooltip lists.
    var stands: [String] {
        guard let open = tooltip.range(of: "stretches") else { return [name] }
        let count = Int(tooltip[..<open.lowerBound].split(separator: "(").last?.trimmingCharacters(in: .whitespaces) ?? "") ?? 1
        guard name == "mixed" else { return Array(repeating: name, count: count) }
        let rest = tooltip[open.upperBound...]
        guard rest.hasPrefix(": "), let close = rest.firstIndex(of: ")") else { return ["mixed ×\(count), sequence not listed"] }
        return rest[rest.index(rest.startIndex, offsetBy: 2)..<close].components(separatedBy: " → ")
    }
    /// For a mixed band: the state drawn at the top of its bar, whose colour fills it.
    var topShare: String? {
        guard name == "mixed", let semi = tooltip.range(of: "; ", options: .backwards) else { return nil }
        let first = tooltip[semi.upperBound...].split(separator: ",").first.map(String.init) ?? ""
        return first.split(separator: " ").dropLast().joined(separator: " ")
    }

    /// For a mixed band: a state with at least 95% of its time, whose part covers the bar.
    var coveringShare: String? {
        guard name == "mixed", let semi = tooltip.range(of: "; ", options: .backwards) else { return nil }
        for share in tooltip[semi.upperBound...].split(separator: ",") {
            let words = share.split(separator: " ")
            if let pct = words.last.flatMap({ Int($0.dropLast()) }), pct >= 95 { return words.dropLast().joined(separator: " ") }
        }
        return nil
    }

    /// The bands of a timeline picture, read from the tooltips Graphviz put in the SVG.
    static func all(_ pic: SVGPicture) -> [Band] {
        let names = ["new", "ready", "running", "blocked in wait call", "blocked", "stopped by tracer", "stopped by signal",
                     "zombie", "alive", "runnable", "mixed"]
        return pic.nodes.compactMap { e -> Band? in
            guard let tip = e.tooltip?.split(separator: "\n").first.map(String.init), let body = e.body,
                  let colon = tip.firstIndex(of: ":") else { return nil }
            var words = tip[..<colon].split(separator: " ").map(String.init)
            guard let pid = Int(words.first ?? "") else { return nil }
            words.removeFirst()
            var tid: Int?
            if words.first == "thread", words.count > 1, let t = Int(words[1]) { tid = t; words.removeFirst(2) }
            let label = words.joined(separator: " ")
            guard let name = names.first(where: { label == $0 || label.hasPrefix($0 + " (") }) else { return nil }
            return Band(pid: pid, tid: tid, name: name, fill: body.fill ?? "", x0: body.x0, x1: body.x1, midY: body.midY, tooltip: tip)
        }
    }
}

/// The legend entry each band name is drawn in.
let legendPrefix = [
    "new": "new (", "ready": "ready (", "running": "running (", "blocked": "blocked (sleeping",
    "blocked in wait call": "blocked in wait4()", "stopped by tracer": "stopped by the tracer",
    "zombie": "zombie (", "alive": "alive (",
]

@Suite("what the pictures draw")
struct PictureTests {
    /// Every process of the trace is a box that names it, every fork an arrow from parent to
    /// child, an adoption by a process outside the trace a dashed arrow from it, and each box is
    /// filled with the legend's colour for how the process ended.
    @Test func treeDrawsEachProcessForkAndOutcome() throws {
        let path = fixture("render-family.jsonl")
        let trace = try TraceLines(path)
        let dot = ProcessTreeDOT.dot(try ProcessHistory(path: path), options: TreeOptions(collapse: false))
        let svg = try GraphvizRenderer.shared.render(dot: dot, engine: "dot", format: .svg)
        try Data(svg).write(to: inspectionPath("family.tree.svg"))   // for a human to look at
        let pic = try SVGPicture(svg: svg)

        let born = trace.of("spawn").compactMap { TraceLines.int($0, "pid") } + trace.of("fork").compactMap { TraceLines.int($0, "child") }
        #expect(Set(pic.nodes.filter { $0.classes.contains("process") }.compactMap(\.id)) == Set(born.map { "p\($0)_1" }))
        var outcomes: [Int: String] = [:]
        for e in trace.of("exit") {
            guard let pid = TraceLines.int(e, "pid"), let status = e["status"] as? [String: Any] else { continue }
            if status["signaled"] != nil { outcomes[pid] = "killed by a signal" }
            else if TraceLines.int(status, "exited") == 0 { outcomes[pid] = "exited 0" }
            else { outcomes[pid] = "exited with a non-zero status" }
        }
        #expect(Set(outcomes.values).count == 3, "the fixture shows all three outcomes")
        for pid in born {
            let box = try #require(pic.node("p\(pid)_1"), "no box for \(pid)")
            let command = try #require(box.texts.first)
            #expect(command.hasPrefix("\(pid) "), "box of \(pid) says \(command)")
            let outcome = outcomes[pid] ?? "still running"
            let colour = try #require(pic.legendColour(outcome), "legend lacks \(outcome)")
            #expect(box.body?.fill == colour, "\(pid) \(outcome): filled \(box.body?.fill ?? "-"), legend \(colour)")
        }
        for f in trace.of("fork") {
            let (parent, child) = (TraceLines.int(f, "pid")!, TraceLines.int(f, "child")!)
            let arrow = try #require(pic.edge("p\(parent)_1", "p\(child)_1"), "no arrow \(parent) → \(child)")
            #expect(arrow.shapes.allSatisfy { !$0.dashed })
        }
        let traced = Set(born)
        let adoptions = trace.of("reparent").filter { !traced.contains(TraceLines.int($0, "to")!) }
        #expect(!adoptions.isEmpty)
        for r in adoptions {
            let (pid, to) = (TraceLines.int(r, "pid")!, TraceLines.int(r, "to")!)
            let arrow = try #require(pic.edge("ext\(to)", "p\(pid)_1"), "no adoption arrow \(to) → \(pid)")
            #expect(arrow.shapes.contains { $0.dashed })
            #expect(pic.node("ext\(to)") != nil)
        }
        #expect(pic.edges.count == trace.of("fork").count + adoptions.count)
    }

    /// Collapsed, four look-alike gcc siblings are one box that says so; the others stay.
    @Test func treeCollapsesLookalikeSiblingsIntoOneBox() throws {
        let dot = ProcessTreeDOT.dot(try ProcessHistory(path: fixture("render-family.jsonl")))
        let pic = try SVGPicture(svg: try GraphvizRenderer.shared.render(dot: dot, engine: "dot", format: .svg))
        let group = pic.nodes.filter { $0.texts.first == "4*[gcc]" }
        #expect(group.count == 1)
        #expect(group.first?.texts.contains { $0.contains("pids 4102–4105") } == true)
        #expect(group.first?.id == "p4102_1")   // the group is drawn as its first member
        for pid in 4103...4105 { #expect(pic.node("p\(pid)_1") == nil) }
        for pid in [4100, 4101, 4106, 4107, 4110, 4111, 4112] { #expect(pic.node("p\(pid)_1") != nil) }
    }

    /// On each process's lane, the timeline draws the trace's state changes in order, each in
    /// its legend colour, then the zombie time from exit to reap; every band of a lane sits at
    /// the height of that lane's label, and lanes do not share a height.
    @Test func timelineLanesShowEachStateInItsLegendColour() throws {
        // 4100, with two threads, is checked by its thread rows in the test below.
        try checkTimeline(path: fixture("render-family.jsonl"), expectedLanes: 10)
    }

    /// A real recording (the gallery's threads workload): one row per thread, each thread's own
    /// state changes, in order and in the legend's colours.
    @Test func timelineThreadRowsShowEachThreadsStates() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("traces/threads.jsonl").path
        try checkTimeline(path: path, expectedLanes: 4, threads: true)
    }

    /// The fixture's multi-threaded process: its main thread's first state events carry no
    /// `tid`, and thread 4150's exit is written before its last state change at the same
    /// instant. Its thread rows still show each thread's own states (no running band from
    /// 4150's start to its exit drawn over its blocked time).
    @Test func timelineThreadRowsOfAMixedTidTrace() throws {
        try checkTimeline(path: fixture("render-family.jsonl"), expectedLanes: 2, threads: true)
    }

    func checkTimeline(path: String, expectedLanes: Int, threads: Bool = false) throws {
        let trace = try TraceLines(path)
        let h = try ProcessHistory(path: path)
        let svg = try GraphvizRenderer.shared.render(dot: TimelineDOT.dot(h), engine: "nop2", format: .svg)
        try Data(svg).write(to: inspectionPath(URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent + ".timeline.svg"))
        let pic = try SVGPicture(svg: svg)
        let bands = Band.all(pic)
        let expected = trace.stateBands()
        let exits = Dictionary(trace.of("exit").map { (TraceLines.int($0, "pid")!, TraceLines.int($0, "t")!) }, uniquingKeysWith: min)
        let reaps = Dictionary(trace.of("reap").map { (TraceLines.int($0, "pid")!, TraceLines.int($0, "t")!) }, uniquingKeysWith: min)
        let multi = Set(trace.of("thread").compactMap { TraceLines.int($0, "pid") })
        var lanes: [String: Double] = [:]
        for (tid, names) in expected {
            // A multi-threaded process: its threads' rows; otherwise the process's lane.
            let pidOfTid = trace.of("state").first { (TraceLines.int($0, "tid") ?? TraceLines.int($0, "pid")) == tid }
                .flatMap { TraceLines.int($0, "pid") } ?? tid
            let isThreadRow = multi.contains(pidOfTid)
            if isThreadRow != threads { continue }
            let lane = bands.filter { isThreadRow ? ($0.pid == pidOfTid && $0.tid == tid) : ($0.pid == tid && $0.tid == nil) }
                .sorted { $0.x0 < $1.x0 }
            var want = names
            if !isThreadRow, let x = exits[tid], let r = reaps[tid], r > x { want.append("zombie") }
            #expect(lane.flatMap(\.stands) == want, "lane of \(tid)")
            // Bands follow each other. Graphviz sizes boxes in hundredths of an inch (0.72 pt),
            // so neighbours may touch by up to a point; more is a band drawn over another.
            for (a, b) in zip(lane, lane.dropFirst()) {
                #expect(a.x1 <= b.x0 + 1.0, "bands of \(tid) overlap: \(a.name) \(a.x0)…\(a.x1) and \(b.name) \(b.x0)…\(b.x1)")
            }
            for band in lane {
                let shown = band.topShare ?? band.name
                let colour = pic.legendColour(legendPrefix[shown] ?? shown)
                // A mixed bar one part covers whole at the picture's scale ("running 99%") is
                // drawn in that part's colour (the top part would be hidden under it).
                let cover = band.coveringShare.flatMap { pic.legendColour(legendPrefix[$0] ?? $0) }
                #expect(colour != nil && (band.fill == colour || band.fill == cover),
                        "\(tid) \(band.name) drawn in \(band.fill), legend \(colour ?? "-")")
            }
            let heights = Set(lane.map { ($0.midY * 10).rounded() })
            #expect(heights.count == 1, "lane of \(tid) drawn at \(heights.count) heights")
            lanes["\(tid)"] = lane.first?.midY
        }
        #expect(lanes.count == expectedLanes)
        #expect(Set(lanes.values.map { ($0 * 10).rounded() }).count == lanes.count, "two lanes share a height")
    }
}
