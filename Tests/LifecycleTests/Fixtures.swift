/// Paths of the shared hand-written traces in `Tests/Fixtures/`.
enum Fixture {
    static let dir: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(2)  // LifecycleTests/Fixtures.swift
        return parts.joined(separator: "/") + "/Fixtures"
    }()
    static func path(_ name: String) -> String { "\(dir)/\(name)" }
    /// The package root (for running the built binary).
    static let packageRoot: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/")
    }()
}
