import Foundation
import Testing
import Lifecycle
@testable import Render

/// A fixture under Tests/Fixtures.
func fixture(_ name: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").appendingPathComponent(name).path
}

/// Where tests leave pictures for a human to look at.
func inspectionPath(_ name: String) -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("proctrace-render-tests")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent(name)
}

@Suite("process tree")
struct TreeTests {
    let family: ProcessHistory

    init() throws { family = try ProcessHistory(path: fixture("render-family.jsonl")) }

    @Test func writesPicturesForInspection() throws {
        for (name, opts) in [("family.tree", TreeOptions()), ("family.tree.nocollapse", TreeOptions(collapse: false))] {
            let dot = ProcessTreeDOT.dot(family, options: opts)
            try dot.write(to: inspectionPath(name + ".dot"), atomically: true, encoding: .utf8)
            let png = try GraphvizRenderer.shared.render(dot: dot, engine: "dot", format: .png)
            try Data(png).write(to: inspectionPath(name + ".png"))
        }
    }
}

@Suite("timeline")
struct TimelineTests {
    @Test func writesPicturesForInspection() throws {
        for (fx, name, opts) in [("render-family.jsonl", "family.timeline", TimelineOptions()),
                                 ("render-family.jsonl", "family.timeline.three", TimelineOptions(model: .three)),
                                 ("render-hostile.jsonl", "hostile.timeline", TimelineOptions()),
                                 ("zombie.jsonl", "zombie.timeline", TimelineOptions())] {
            let h = try ProcessHistory(path: fixture(fx))
            let dot = TimelineDOT.dot(h, options: opts)
            try dot.write(to: inspectionPath(name + ".dot"), atomically: true, encoding: .utf8)
            let png = try GraphvizRenderer.shared.render(dot: dot, engine: "nop2", format: .png)
            try Data(png).write(to: inspectionPath(name + ".png"))
        }
    }
}

