import Foundation
import Testing

/// The README's first example is a promise to a newcomer: run it as written.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct ReadmeTests {
    @Test func theFirstExampleRunsAsWritten() throws {
        let readme = try String(contentsOf: Harness.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let commands = readme.split(separator: "\n").compactMap { line -> [String]? in
            guard line.hasPrefix("$ .build/release/proctrace ") else { return nil }
            var words = line.dropFirst(2).split(separator: "#")[0].split(separator: " ").map(String.init)
            words[0] = Harness.binary
            return words
        }
        #expect(commands.count >= 5)
        // A scratch directory that sees the repository's workloads at the same relative path.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("proctrace-readme-\(getpid())")
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createSymbolicLink(at: dir.appendingPathComponent("traces"),
                                                   withDestinationURL: Harness.packageRoot.appendingPathComponent("traces"))
        for argv in commands {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: argv[0])
            p.arguments = Array(argv.dropFirst())
            p.currentDirectoryURL = dir
            p.standardOutput = FileHandle.nullDevice
            let err = Pipe()
            p.standardError = err
            try p.run()
            p.waitUntilExit()
            let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(p.terminationStatus == 0, "\(argv.dropFirst().joined(separator: " ")): \(text)")
        }
        for made in ["wait.jsonl", "wait.tree.svg", "wait.timeline.svg", "wait.perfetto.json"] {
            #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent(made).path), "\(made) missing")
        }
    }
}
