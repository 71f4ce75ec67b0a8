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
