import Foundation
import Testing

/// The committed pictures (`render/`) are what `proctrace render` draws from the committed
/// traces (`traces/`): a change to a reader or to the renderer re-renders them (`make
/// gallery-render`). Session 7's reader change (restarted waits in the timeline's tooltips and
/// the viewer) was not, and the committed gallery said less than `render` did.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct GalleryCurrentTests {
    @Test func theCommittedPicturesAreWhatTheCommittedTracesGive() throws {
        let root = Harness.packageRoot
        let committed = root.appendingPathComponent("render")
        let names = try FileManager.default.contentsOfDirectory(atPath: committed.path)
            .filter { $0.hasSuffix(".tree.svg") }.map { String($0.dropLast(".tree.svg".count)) }.sorted()
        #expect(names.count >= 30, "the gallery: \(names)")
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("proctrace-gallery-\(getpid())/")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: out) }
        var stale: [String] = []
        for name in names {
            let trace = root.appendingPathComponent("traces/\(name).jsonl").path
            for format in ["svg", "html"] {
                let (code, _, err) = try Harness.run([Harness.binary, "render", trace, "-f", format, "-o", out.path], timeout: 60)
                #expect(code == 0, "render \(name) -f \(format): \(err)")
            }
            for file in ["\(name).tree.svg", "\(name).timeline.svg", "\(name).html"] {
                let fresh = FileManager.default.contents(atPath: out.appendingPathComponent(file).path)
                let kept = FileManager.default.contents(atPath: committed.appendingPathComponent(file).path)
                if fresh == nil || fresh != kept { stale.append(file) }
            }
        }
        #expect(stale.isEmpty, "render/ is not what the committed traces give (run make gallery-render and commit): \(stale)")
    }
}
