import Foundation
import Lifecycle
import Testing

/// The traces shipped in traces/ are examples people open first: each must be a complete,
/// valid proctrace/1 trace that the model replays without disagreement.
@Suite struct GalleryTraceTests {
    static let traces: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("traces")

    static var files: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: traces.path)) ?? []).filter { $0.hasSuffix(".jsonl") }.sorted()
    }

    @Test func thereAreGalleryTraces() {
        #expect(Self.files.count >= 30)
    }

    @Test(arguments: files)
    func shippedTraceIsValid(_ name: String) throws {
        let path = Self.traces.appendingPathComponent(name).path
        let report = try TraceValidator.validate(path: path)
        #expect(report.formatted.isEmpty, "\(report.formatted.prefix(5))")
        let h = try ProcessHistory(path: path)
        #expect(h.end?.lost == 0)
        #expect(h.processes.allSatisfy { $0.reapTime != nil })
    }
}
