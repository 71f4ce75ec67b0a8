import Foundation
import Lifecycle
import Testing

/// Static pictures of a real wide job (issue 12, "Static pictures that scale"): `xargs -P 8`
/// running 600 `sh -c "sleep 0.001; echo N"`, each sh forking its sleep (1,203 processes, a
/// fan of 600 under xargs), recorded for real and drawn by the built binary. The SVGs are
/// parsed back (Python's XML parser) and what is drawn is checked against the trace.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct ScalingPictureTests {
    static let fanCommand = ["/bin/sh", "-c", "seq 600 | xargs -P 8 -I{} sh -c 'sleep 0.001; echo {} >/dev/null'"]

    /// The fan's parent (xargs) and its children in fork order, from the trace's own lines.
    static func fan(_ run: Harness.Run) throws -> (parent: Int, children: [Int]) {
        let forks = run.objects("fork")
        var byParent: [Int: [Int]] = [:]
        for f in forks { if let p = f["pid"] as? Int, let c = f["child"] as? Int { byParent[p, default: []].append(c) } }
        let (parent, children) = try #require(byParent.max { $0.value.count < $1.value.count })
        return (parent, children)
    }

    static func render(_ run: Harness.Run, _ args: [String]) throws -> (svg: Data, stderr: String) {
        let out = run.path.replacingOccurrences(of: ".jsonl", with: args.contains("--tree") ? ".tree.svg" : ".timeline.svg")
        let (code, _, err) = try Harness.run([Harness.binary, "render", run.path] + args + ["-o", out])
        #expect(code == 0, "render failed: \(err)")
        return (try Data(contentsOf: URL(fileURLWithPath: out)), err)
    }

    /// The tree folds the 600-wide fan into rows inside a frame naming the parent, in fork
    /// order, at full size (text 10 pt, scale 1) and within 8:1; the legend lists only what is
    /// drawn and no edge crosses it.
    @Test func wideFanFoldsIntoRowsInForkOrder() throws {
        let run = try Harness.record(Self.fanCommand)
        let (parent, children) = try Self.fan(run)
        #expect(children.count == 600)
        let (svg, _) = try Self.render(run, ["--tree"])
        let pic = try SVGBoxes(svg)
        #expect(pic.scale == 1, "the tree was shrunk to fit: labels would not be legible")
        #expect(pic.fontSizes.allSatisfy { $0 >= 9 }, "text sizes \(pic.fontSizes)")
        let aspect = max(pic.width, pic.height) / min(pic.width, pic.height)
        #expect(aspect <= 8, "the tree is \(pic.width) × \(pic.height) pt")
        let frame = try #require(pic.boxes["fan_p\(parent)_1"], "no frame around \(parent)'s children")
        #expect(frame.texts.contains { $0.hasPrefix("600 children of \(parent)") })
        // Every child inside the frame; read row by row (top to bottom, left to right) they
        // are in fork order.
        var placed: [(pid: Int, box: SVGBoxes.Box)] = []
        for c in children {
            let box = try #require(pic.boxes["p\(c)_1"], "no box for \(c)")
            #expect(frame.contains(box), "\(c) outside the fan's frame")
            placed.append((c, box))
        }
        let rowTolerance = 1.0
        let reading = placed.sorted { a, b in
            abs(a.box.midY - b.box.midY) > rowTolerance ? a.box.midY < b.box.midY : a.box.x0 < b.box.x0
        }.map(\.pid)
        #expect(reading == children, "children not drawn in fork order")
        let rows = Set(placed.map { $0.box.midY.rounded() }).count
        #expect(rows >= 8, "600 children on \(rows) rows")
        // The legend: only what the picture uses (all exited 0, reaped by wait; one fan).
        let legend = try #require(pic.boxes["legend"])
        #expect(legend.texts.contains("exited 0") && legend.texts.contains("solid border: reaped by its parent's wait"))
        #expect(legend.texts.contains { $0.hasPrefix("dashed frame: a wide fan") })
        #expect(!legend.texts.contains("killed by a signal") && !legend.texts.contains { $0.hasPrefix("octagon") })
        for e in pic.edges { #expect(!legend.touches(e), "edge \(e.id) crosses the legend") }
    }

    /// The timeline of the same job: no line between lanes crosses more than 8 lanes (the
    /// others are short marks on the child's lane, one per fork and per reap), stretches
    /// narrower than a point are merged into mixed bars (at most two points wide, Graphviz
    /// rounding box sizes to 0.72 pt, unless neighbours drawn in one colour are joined) the
    /// legend explains, the SVG is at
    /// most 5 MiB (the size grows with the checkout's path, which the argv tooltips quote), and
    /// render says the picture is too big to read whole and names `-f html`.
    @Test func fanTimelineHasNoCurtainAndStaysSmall() throws {
        let run = try Harness.record(Self.fanCommand)
        let (svg, err) = try Self.render(run, ["--timeline"])
        #expect(svg.count <= 5 << 20, "timeline SVG is \(svg.count) bytes")
        #expect(err.contains("too big to read") && err.contains("-f html"), "stderr: \(err)")
        let pic = try SVGBoxes(svg)
        let laneHeight = 18.0
        let forks = run.objects("fork").count, reaps = run.objects("reap").filter { $0["how"] as? String == "wait" }.count
        var forkMarks = 0, reapMarks = 0
        for e in pic.all where e.classes.contains("fork") || e.classes.contains("reap") {
            #expect(e.y1 - e.y0 <= 8 * laneHeight + 10, "\(e.classes) mark \(e.id) spans \(e.y1 - e.y0) pt")
            if e.classes.contains("fork") { forkMarks += 1 } else { reapMarks += 1 }
        }
        #expect(forkMarks == forks)
        // The root is reaped by proctrace, which has no lane.
        #expect(reapMarks == reaps - 1)
        let mixed = pic.all.filter { $0.classes.contains("mixed") }
        #expect(!mixed.isEmpty)
        for m in mixed.prefix(50) {
            // Wider than two points only when it joins neighbours drawn in one colour, the
            // colour of a state with at least 95% of its time.
            let shares = m.tooltip.map { $0[($0.range(of: "; ", options: .backwards)?.upperBound ?? $0.endIndex)...] } ?? ""
            let covered = shares.split(separator: ",").contains { Int($0.split(separator: " ").last?.dropLast() ?? "").map { $0 >= 95 } == true }
            #expect(m.tooltip?.contains("%") == true && (m.x1 - m.x0 <= 2.9 || covered), "mixed bar \(m.tooltip ?? "-") is \(m.x1 - m.x0) pt wide")
        }
        #expect(pic.texts.contains { $0.hasPrefix("mixed: states changing faster than one point") })
    }

    /// A picture small enough to read gets no warning.
    @Test func aSmallPictureIsNotCalledTooBig() throws {
        let run = try Harness.record(["/bin/sh", "-c", "/bin/true; /bin/true"])
        let (_, err) = try Self.render(run, ["--tree"])
        #expect(!err.contains("too big"), "stderr: \(err)")
    }
}

/// Boxes of a rendered SVG: every node, edge and cluster with its classes, texts, tooltip and
/// bounding box (from its shapes and text anchors), read with Python's XML parser.
struct SVGBoxes {
    struct Box: Decodable {
        var id: String
        var classes: [String]
        var texts: [String]
        var tooltip: String?
        var x0: Double, x1: Double, y0: Double, y1: Double
        var midY: Double { (y0 + y1) / 2 }
        func contains(_ b: Box) -> Bool { b.x0 >= x0 && b.x1 <= x1 && b.y0 >= y0 && b.y1 <= y1 }
        /// Some point of `e`'s drawing lies inside this box.
        func touches(_ e: Box) -> Bool { e.points.contains { $0[0] > x0 && $0[0] < x1 && $0[1] > y0 && $0[1] < y1 } }
        var points: [[Double]] = []
        enum CodingKeys: String, CodingKey { case id, classes, texts, tooltip, x0, x1, y0, y1, points }
    }
    struct Parsed: Decodable { var width: Double; var height: Double; var scale: Double; var fontSizes: [Double]; var all: [Box] }
    var width: Double, height: Double, scale: Double
    var fontSizes: Set<Double>
    var all: [Box]
    var boxes: [String: Box] = [:]
    var edges: [Box] { all.filter { $0.classes.contains("edge") } }
    var texts: [String] { all.flatMap(\.texts) }

    init(_ svg: Data) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = ["-c", Self.script]
        let input = Pipe(), output = Pipe()
        p.standardInput = input; p.standardOutput = output
        try p.run()
        let writer = Thread { input.fileHandleForWriting.write(svg); try? input.fileHandleForWriting.close() }
        writer.start()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let parsed = try JSONDecoder().decode(Parsed.self, from: data)
        width = parsed.width; height = parsed.height; scale = parsed.scale
        fontSizes = Set(parsed.fontSizes)
        all = parsed.all
        for b in all where !b.id.isEmpty { boxes[b.id] = b }
    }

    static let script = #"""
import sys, json, re, xml.etree.ElementTree as ET
S = '{http://www.w3.org/2000/svg}'
XL = '{http://www.w3.org/1999/xlink}'
root = ET.fromstring(sys.stdin.buffer.read())
num = re.compile(r'-?\d+(?:\.\d+)?')
graph = root.find(S + 'g')
scale = float(num.findall(graph.get('transform', 'scale(1'))[0])
sizes = set()
out = []
for g in root.iter(S + 'g'):
    cls = (g.get('class') or '').split()
    if not ({'node', 'edge', 'cluster'} & set(cls)): continue
    pts, texts, tip = [], [], None
    for a in g.iter(S + 'a'):
        tip = a.get(XL + 'title'); break
    for el in g.iter():
        if el.tag == S + 'text':
            texts.append(''.join(el.itertext()))
            pts.append([float(el.get('x')), float(el.get('y'))])
            if el.get('font-size'): sizes.add(float(el.get('font-size')))
        elif el.tag in (S + 'polygon', S + 'polyline'):
            v = [float(x) for x in num.findall(el.get('points', ''))]
            pts += [list(p) for p in zip(v[0::2], v[1::2])]
        elif el.tag == S + 'path':
            v = [float(x) for x in num.findall(el.get('d', ''))]
            pts += [list(p) for p in zip(v[0::2], v[1::2])]
        elif el.tag == S + 'ellipse':
            cx, cy, rx, ry = (float(el.get(k)) for k in ('cx', 'cy', 'rx', 'ry'))
            pts += [[cx - rx, cy - ry], [cx + rx, cy + ry]]
    if not pts: continue
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    out.append({'id': g.get('id') or '', 'classes': cls, 'texts': texts, 'tooltip': tip,
                'x0': min(xs), 'x1': max(xs), 'y0': min(ys), 'y1': max(ys),
                'points': pts if 'edge' in cls else []})
num1 = lambda s: float(num.findall(s)[0])
json.dump({'width': num1(root.get('width')), 'height': num1(root.get('height')), 'scale': scale,
           'fontSizes': sorted(sizes), 'all': out}, sys.stdout)
"""#
}
