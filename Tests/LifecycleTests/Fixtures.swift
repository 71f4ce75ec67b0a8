import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Paths of the shared hand-written traces in `Tests/Fixtures/`.
enum Fixture {
    static let dir: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(2)  // LifecycleTests/Fixtures.swift
        return parts.joined(separator: "/") + "/Fixtures"
    }()
    static func path(_ name: String) -> String { "\(dir)/\(name)" }
    /// Every trace the project ships, by path: the gallery (traces/*.jsonl) and the
    /// hand-written fixtures that read whole (malformed.jsonl is the reader's refusal test).
    static let shippedTraces: [String] = {
        [packageRoot + "/traces", dir].flatMap { d in
            ((try? FileManager.default.contentsOfDirectory(atPath: d)) ?? [])
                .filter { $0.hasSuffix(".jsonl") && $0 != "malformed.jsonl" }.sorted().map { "\(d)/\($0)" }
        }
    }()
    /// The package root (for the scripts the tests run).
    static let packageRoot: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/")
    }()
    /// The `proctrace` under test, found from the build, never from a fixed path: `$PROCTRACE_BIN`
    /// (`make test` sets it to the release build, the binary users run), else the one built
    /// beside this test bundle (`swift build --build-tests` makes both in one bin path).
    static let binary: String = {
        if let bin = getenv("PROCTRACE_BIN"), bin.pointee != 0 { return String(cString: bin) }
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        precondition(n > 0, "cannot read /proc/self/exe to find the build's bin path")
        let exe = String(decoding: buf[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return exe.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/") + "/proctrace"
    }()
}
