import Foundation
import Testing
@testable import Render

@Suite("libgvc plumbing")
struct GraphvizRendererTests {
    @Test func rendersSVGInProcess() throws {
        let svg = try GraphvizRenderer.shared.render(dot: #"digraph { a -> b; a [label="hello"] }"#, engine: "dot", format: .svg)
        let text = String(decoding: svg, as: UTF8.self)
        #expect(text.contains("<svg"))
        #expect(text.contains(">hello</text>"))
    }

    @Test func rendersPNGAndPDF() throws {
        let png = try GraphvizRenderer.shared.render(dot: #"digraph { a -> b }"#, engine: "dot", format: .png)
        #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        let pdf = try GraphvizRenderer.shared.render(dot: #"digraph { a -> b }"#, engine: "dot", format: .pdf)
        #expect(String(decoding: pdf.prefix(5), as: UTF8.self) == "%PDF-")
    }

    @Test func pinnedPositionsSurviveNop2() throws {
        let dot = #"digraph { notranslate=true; node [shape=box]; a [pos="100,200!", width=1, height=0.5]; b [pos="400,200!"] }"#
        let out = try GraphvizRenderer.shared.render(dot: dot, engine: "nop2", format: .dot)
        #expect(String(decoding: out, as: UTF8.self).contains("pos=\"100,200"))
    }

    @Test func syntaxErrorIsCapturedNotPrinted() {
        do {
            _ = try GraphvizRenderer.shared.render(dot: "digraph { a -> ; }", engine: "dot", format: .svg)
            Issue.record("a broken graph rendered")
        } catch {
            #expect(error.stage == "parse")
            #expect(error.messages.contains { $0.contains("syntax error") })
        }
    }

    @Test func unknownEngineIsAnError() {
        #expect(throws: GraphvizError.self) {
            _ = try GraphvizRenderer.shared.render(dot: "digraph { a }", engine: "no-such-engine", format: .svg)
        }
    }

    @Test func rendersFromManyThreadsSafely() async throws {
        try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<8 {
                group.addTask {
                    try GraphvizRenderer.shared.render(dot: "digraph { n\(i) -> m\(i) }", engine: "dot", format: .svg).count
                }
            }
            for try await n in group { #expect(n > 100) }
        }
    }
}

extension GraphvizRendererTests {
    /// A PNG is the same drawing as the SVG, at 96 dpi: its pixel size is the SVG's size in
    /// points × 96/72. (The PNG is left in the temporary directory for a human to look at.)
    @Test func pngIsTheSVGsDrawingAt96Dpi() throws {
        let dot = #"digraph { node [fontname="DejaVu Sans", shape=box]; a [label="pid 4100\npython3 → gcc\nexited 0"]; a -> b }"#
        let png = try GraphvizRenderer.shared.render(dot: dot, engine: "dot", format: .png)
        try Data(png).write(to: FileManager.default.temporaryDirectory.appendingPathComponent("proctrace-render-smoke.png"))
        #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        let be32 = { (i: Int) in png[i..<i + 4].reduce(0) { $0 << 8 | Int($1) } }
        let (w, h) = (be32(16), be32(20))   // IHDR: width, height
        let svg = try SVGPicture(svg: try GraphvizRenderer.shared.render(dot: dot, engine: "dot", format: .svg))
        let points = { (s: String) in Double(s.replacingOccurrences(of: "pt", with: "")) ?? 0 }
        #expect(abs(Double(w) - points(svg.width) * 96 / 72) <= 2, "PNG \(w) px wide, SVG \(svg.width)")
        #expect(abs(Double(h) - points(svg.height) * 96 / 72) <= 2, "PNG \(h) px high, SVG \(svg.height)")
        #expect(svg.nodes.first { $0.name == "a" }?.texts == ["pid 4100", "python3 → gcc", "exited 0"])
    }
}
