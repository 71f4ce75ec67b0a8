import Foundation

/// What a rendered SVG shows, read back with Python's XML parser (a real, strict one): every
/// Graphviz node and edge with its shapes (fill, stroke, dashes, bounding box), texts and
/// tooltip, and the legend as label → swatch colour. Picture tests assert on this, so they
/// check what is drawn, not what the DOT source says.
struct SVGPicture: Decodable {
    struct Shape: Decodable {
        var fill: String?
        var stroke: String?
        var dashed: Bool
        var x0: Double, x1: Double, y0: Double, y1: Double
        var midY: Double { (y0 + y1) / 2 }
    }
    struct Element: Decodable {
        var id: String?
        var kind: String        // "node" or "edge"
        var classes: [String]
        var name: String        // Graphviz's <title>: the node's DOT name, or "a->b" for an edge
        var tooltip: String?
        var texts: [String]
        var shapes: [Shape]
        /// The first filled shape: a box, a band, a mark.
        var body: Shape? { shapes.first { $0.fill != nil && $0.fill != "none" } }
    }
    var width: String
    var height: String
    var elements: [Element]
    var legend: [String: String]

    var nodes: [Element] { elements.filter { $0.kind == "node" } }
    var edges: [Element] { elements.filter { $0.kind == "edge" } }
    func node(_ id: String) -> Element? { nodes.first { $0.id == id } }
    func edge(_ from: String, _ to: String) -> Element? { edges.first { $0.name == "\(from)->\(to)" } }
    /// The colour of the legend entry whose label starts with `prefix`.
    func legendColour(_ prefix: String) -> String? { legend.first { $0.key.hasPrefix(prefix) }?.value }

    init(svg: [UInt8]) throws {
        let data = try runSVGParser(Self.script, on: svg)
        self = try JSONDecoder().decode(SVGPicture.self, from: data)
    }

    static let script = #"""
import sys, json, re, xml.etree.ElementTree as ET
S = '{http://www.w3.org/2000/svg}'
XL = '{http://www.w3.org/1999/xlink}'
root = ET.fromstring(sys.stdin.buffer.read())
num = re.compile(r'-?\d+(?:\.\d+)?')
def points(el):
    if el.tag == S + 'polygon' or el.tag == S + 'polyline':
        v = [float(x) for x in num.findall(el.get('points', ''))]
    elif el.tag == S + 'path':
        v = [float(x) for x in num.findall(el.get('d', ''))]
    elif el.tag == S + 'ellipse':
        cx, cy, rx, ry = (float(el.get(k)) for k in ('cx', 'cy', 'rx', 'ry'))
        v = [cx - rx, cy - ry, cx + rx, cy + ry]
    else:
        return []
    return list(zip(v[0::2], v[1::2]))
out = []
for g in root.iter(S + 'g'):
    cls = (g.get('class') or '').split()
    if 'node' not in cls and 'edge' not in cls: continue
    title = g.find(S + 'title')
    tip = None
    for a in g.iter(S + 'a'):
        tip = a.get(XL + 'title'); break
    shapes, texts, seq = [], [], []
    for el in g.iter():
        if el.tag == S + 'text':
            t = ''.join(el.itertext())
            texts.append(t)
            seq.append({'text': t})
        elif el.tag in (S + 'polygon', S + 'path', S + 'ellipse', S + 'polyline'):
            pts = points(el)
            shapes.append({'fill': el.get('fill'), 'stroke': el.get('stroke'),
                           'dashed': el.get('stroke-dasharray') is not None,
                           'x0': min(p[0] for p in pts), 'x1': max(p[0] for p in pts),
                           'y0': min(p[1] for p in pts), 'y1': max(p[1] for p in pts)})
            seq.append({'fill': el.get('fill')})
    ys = [float(el.get('y')) for el in g.iter(S + 'text')]
    out.append({'id': g.get('id'), 'kind': 'edge' if 'edge' in cls else 'node', 'classes': cls,
                'name': ''.join(title.itertext()) if title is not None else '',
                'tooltip': tip, 'texts': texts, 'shapes': shapes, 'sequence': seq})
# The legend: each swatch's fill, paired with the label that follows it.
legend, pending, inside = {}, None, False
for e in out:
    if e['kind'] != 'node': continue
    for item in e['sequence']:
        if 'fill' in item:
            if item['fill'] not in (None, 'none', 'transparent'): pending = item['fill']
            continue
        t = item['text'].strip()
        if t == 'Legend': inside, pending = True, None
        elif inside and t and pending: legend[t], pending = pending, None
for e in out: del e['sequence']
json.dump({'width': root.get('width'), 'height': root.get('height'), 'elements': out, 'legend': legend}, sys.stdout)
"""#
}

/// Runs a Python script that reads an SVG on stdin (the standard library's XML parser) and
/// prints JSON; returns what it printed, or throws if the SVG is not well-formed XML.
func runSVGParser(_ script: String, on svg: [UInt8]) throws -> Data {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
    p.arguments = ["-c", script]
    let input = Pipe(), output = Pipe(), errors = Pipe()
    p.standardInput = input; p.standardOutput = output; p.standardError = errors
    try p.run()
    let writer = Thread { input.fileHandleForWriting.write(Data(svg)); try? input.fileHandleForWriting.close() }
    writer.start()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    let err = errors.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else {
        throw SVGParseError(description: "SVG is not well-formed XML: " + String(decoding: err, as: UTF8.self))
    }
    return data
}

struct SVGParseError: Error, CustomStringConvertible { var description: String }
