import Foundation
import Testing

/// Shell completion offers what each argument takes: the values of the fixed-value options
/// and trace files for TRACE (`proctrace tree t<Tab>` used to complete nothing).
@Suite(.timeLimit(.minutes(1)))
struct CompletionTests {
    static func script() throws -> String {
        let (code, out, err) = try Harness.run([Harness.binary, "--generate-completion-script", "bash"])
        #expect(code == 0, "\(err)")
        return out
    }

    @Test func theBashScriptListsTheValuesOfStatesAndModelAndCompletesTraceAsAFile() throws {
        let s = try Self.script()
        #expect(s.contains("-W 'sched'$'\\n''sampled'$'\\n''none'"))
        #expect(s.contains("-W 'three'$'\\n''five'"))
        #expect(s.contains("-W 'svg'$'\\n''png'$'\\n''pdf'$'\\n''dot'"))
        // TRACE, the first positional of tree (and every reading command), completes .jsonl files.
        let tree = try #require(s.range(of: "_proctrace_tree() {"))
        let body = s[tree.upperBound...]
        let function = body.range(of: "\n}\n").map { body[..<$0.lowerBound] } ?? body
        #expect(function.contains("-fX '!*.@(jsonl)'"), "\(function)")
    }

    /// Runs the script in bash as a shell would at `words` (the last one being completed)
    /// in `dir`, and returns what it offers.
    static func complete(_ words: [String], in dir: URL, script: String) throws -> [String] {
        let file = dir.appendingPathComponent("proctrace.bash")
        try script.write(to: file, atomically: true, encoding: .utf8)
        let quoted = words.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        let driver = """
            source \(file.path)
            COMP_WORDS=(\(quoted)); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
            COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}; COMPREPLY=()
            _proctrace proctrace "${COMP_WORDS[-1]}" "${COMP_WORDS[-2]}"
            printf '%s\\n' "${COMPREPLY[@]}"
            """
        let (code, out, err) = try Harness.run(["/bin/bash", "-c", driver], in: dir)
        #expect(code == 0, "\(err)")
        return out.split(separator: "\n").map(String.init).sorted()
    }

    @Test func bashCompletesTracesAndValues() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("proctrace-completion-\(getpid())")
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("tdir"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in ["t1.jsonl", "t2.txt", "u.jsonl"] {
            try Data().write(to: dir.appendingPathComponent(name))
        }
        let s = try Self.script()
        // A trace file or a directory to look in; not the .txt.
        #expect(try Self.complete(["proctrace", "tree", "t"], in: dir, script: s) == ["t1.jsonl", "tdir"])
        #expect(try Self.complete(["proctrace", "replay", "t"], in: dir, script: s) == ["t1.jsonl", "tdir"])
        #expect(try Self.complete(["proctrace", "stats", "t1.jsonl", "--model", ""], in: dir, script: s) == ["five", "three"])
        #expect(try Self.complete(["proctrace", "record", "--states", "s"], in: dir, script: s) == ["sampled", "sched"])
        #expect(try Self.complete(["proctrace", "render", "t1.jsonl", "-f", ""], in: dir, script: s) == ["dot", "html", "pdf", "png", "svg"])
        #expect(try Self.complete(["proctrace", "export", "t1.jsonl", "--format", ""], in: dir, script: s) == ["perfetto"])
    }
}
