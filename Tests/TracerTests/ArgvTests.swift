import Foundation
import Lifecycle
import Testing

/// argv is recorded whole, however big: never cut silently. Serialized: runs a tracer.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct ArgvTests {
    /// The argv bigargv.c passes to /bin/true (see its FACT): 30,012 arguments, 1,238,906 bytes.
    static let bigArgv: [String] = {
        var argv = ["true"]
        for i in 0..<30000 {
            argv.append("s\(i)")
            if i % 4000 == 0 { argv.append(String(repeating: "L\(i / 4000):é∑🙂;", count: 10000)) }
            if i % 10000 == 5000 { argv.append("") }
        }
        return argv
    }()

    /// More than 1 MiB of argv in a few large (130,000-byte) and many small arguments: the
    /// trace holds it byte for byte, unmarked, and every reader copes with the multi-MB line.
    @Test func moreThanAMebibyteOfArgvIsRecordedWhole() throws {
        let expected = Self.bigArgv
        let bytes = expected.reduce(0) { $0 + $1.utf8.count + 1 }
        #expect(bytes > 1 << 20)
        let r = try Harness.record(Harness.c("bigargv"))
        #expect(r.exitCode == 0)
        #expect(r.stdout == "argc \(expected.count) bytes \(bytes)\n", "the workload passed what the test expects")
        // The trace's own line, decoded by Foundation (independent of proctrace's reader).
        let exec = try #require(r.objects("exec").first { $0["path"] as? String == "/bin/true" })
        let argv = try #require(exec["argv"] as? [String])
        #expect(argv.count == expected.count)
        #expect(argv == expected)
        #expect(argv.map { Array($0.utf8) } == expected.map { Array($0.utf8) }, "byte for byte")
        #expect(exec["argv_truncated"] == nil && exec["argv_bytes"] == nil)
        // The line is longer than the reader's chunk, and proctrace's reader gets it whole.
        let longest = r.lines.map(\.utf8.count).max() ?? 0
        #expect(longest > TraceReader.chunkSize)
        let child = try #require(r.history.processes.first { $0.execs.last?.path == "/bin/true" })
        #expect(child.argv == expected)
        for command in ["tree", "stats", "validate"] {
            let (code, _, err) = try Harness.run([Harness.binary, command, r.path])
            #expect(code == 0, "\(command): \(err)")
        }
    }

    /// JSON strings are UTF-8, so bytes that are not cannot be kept as they are: such an
    /// argument is shown with U+FFFD and the exec says so (`argv_not_utf8`); a real U+FFFD
    /// passed as valid UTF-8 is not marked.
    @Test func argvBytesThatAreNotUTF8AreMarked() throws {
        let script = #"/bin/sh -c 'exec /bin/true "$(printf "a\377b")"'; /bin/sh -c 'exec /bin/true "$(printf "a\357\277\275b")"'"#
        let r = try Harness.record(["/bin/sh", "-c", script])
        #expect(r.exitCode == 0)
        let execs = r.objects("exec").filter { $0["path"] as? String == "/bin/true" }
        try #require(execs.count == 2)
        #expect(execs[0]["argv"] as? [String] == ["/bin/true", "a\u{FFFD}b"])
        #expect(execs[0]["argv_not_utf8"] as? Bool == true)
        #expect(execs[1]["argv"] as? [String] == ["/bin/true", "a\u{FFFD}b"])
        #expect(execs[1]["argv_not_utf8"] == nil)
    }
}
