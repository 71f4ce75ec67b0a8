import Foundation
import Testing
@testable import Render

/// Strings a traced program could put in its argv to break a DOT or SVG file.
let hostileStrings: [String] = [
    #"say "hi""#, "two\nlines", "<script>alert(1)</script>", "a & b", "&amp;", "&lt;b&gt;", "&#92;n",
    #"C:\path\N\G"#, #"trailing\"#, #"\"#, #"\""#, "]; evil [label=x", "-->", "]]>", "tab\there",
    "bell\u{07}nul\u{00}", "\u{FFFD}\u{FFFD}bad", "non\u{FFFF}char", "\u{85}c1", "日本語 ☃", "x\u{7F}",
    #"<a href="javascript:x">"#, "' or 1=1 --", "%s%n%x", "\\l\\r\\E\\T\\H",
]

@Suite("escaping text from traced programs")
struct EscapingTests {
    @Test func printableMapsControlsToPictures() {
        #expect(DOTText.printable("a\nb\tc\u{00}") == "a\u{240A}b\u{2409}c\u{2400}")
        #expect(DOTText.printable("x\u{FFFF}\u{85}") == "x\u{FFFD}\u{FFFD}")
        #expect(DOTText.printable("plain ☃") == "plain ☃")
    }

    @Test func labelCannotLeaveTheString() {
        for s in hostileStrings {
            for q in [DOTText.label(s), DOTText.tooltip([s, s])] {
            // Walk the DOT lexer's rules: the string must end exactly at the last character.
            var i = q.index(after: q.startIndex)
            var closedAt: String.Index? = nil
            while i < q.endIndex {
                let c = q[i]
                if c == "\\" { i = q.index(i, offsetBy: 2, limitedBy: q.endIndex) ?? q.endIndex; continue }
                if c == "\"" { closedAt = i; break }
                i = q.index(after: i)
            }
            #expect(closedAt == q.index(before: q.endIndex), "\(s.debugDescription) escaped to \(q)")
            }
        }
    }

    /// Every hostile string goes through Graphviz into SVG; the SVG must be well-formed and
    /// show each string exactly (as printable text) in the label and in the tooltip.
    @Test func svgShowsHostileTextExactly() throws {
        var dot = "digraph {\n"
        for (i, s) in hostileStrings.enumerated() {
            dot += "  n\(i) [id=\"n\(i)\", label=\(DOTText.label(s)), tooltip=\(DOTText.tooltip([s]))];\n"
        }
        dot += "}\n"
        let svg = try GraphvizRenderer.shared.render(dot: dot, engine: "dot", format: .svg)
        let parsed = try SVGProbe.parse(svg)
        for (i, s) in hostileStrings.enumerated() {
            let node = parsed["n\(i)"]
            #expect(node?.texts == [DOTText.printable(s)], "label of \(s.debugDescription)")
            #expect(node?.title == DOTText.printable(s), "tooltip of \(s.debugDescription)")
        }
    }

    @Test func multiLineLabelsKeepTheirLines() throws {
        let dot = "digraph { n0 [id=\"n0\", label=\(DOTText.label(["first \"line\"", "second\\"]))]; }"
        let svg = try GraphvizRenderer.shared.render(dot: dot, engine: "dot", format: .svg)
        #expect(try SVGProbe.parse(svg)["n0"]?.texts == ["first \"line\"", "second\\"])
    }
}

/// Parses SVG with Python's XML parser (a real, strict one) and returns, per element id, the
/// texts and the link title below it.
enum SVGProbe {
    struct Node: Decodable { var texts: [String]; var title: String? }

    static let script = #"""
import sys, json, xml.etree.ElementTree as ET
root = ET.fromstring(sys.stdin.buffer.read())
ns = {'svg': 'http://www.w3.org/2000/svg', 'xlink': 'http://www.w3.org/1999/xlink'}
out = {}
for g in root.iter('{http://www.w3.org/2000/svg}g'):
    gid = g.get('id')
    if not gid: continue
    texts = [''.join(t.itertext()) for t in g.iter('{http://www.w3.org/2000/svg}text')]
    title = None
    for a in g.iter('{http://www.w3.org/2000/svg}a'):
        title = a.get('{http://www.w3.org/1999/xlink}title'); break
    out[gid] = {'texts': texts, 'title': title}
json.dump(out, sys.stdout)
"""#


    static func parse(_ svg: [UInt8]) throws -> [String: Node] {
        let data = try runSVGParser(script, on: svg)
        return try JSONDecoder().decode([String: Node].self, from: data)
    }
}
