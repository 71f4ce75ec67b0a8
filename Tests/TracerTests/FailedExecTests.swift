import Foundation
import Lifecycle
import Testing

/// Failed execs (issue 10): every execve/execveat that returns an error is recorded as an
/// `exec` with `error`, the path and the argv tried, and every view shows it. Real runs of
/// purpose-written workloads. Serialized: runs a tracer.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct FailedExecTests {
    /// failed_exec.py (see its FACTs): execvp probing a PATH of three directories, a program
    /// found nowhere, a direct execv of a missing file, and execveat on a descriptor.
    @Test func failedExecsAreRecordedWithPathArgvAndErrno() throws {
        let r = try Harness.record(Harness.py("failed_exec.py"))
        #expect(r.exitCode == 0)
        let dir = try #require(r.stdout.split(separator: "\n").first { $0.hasPrefix("dir ") }.map { String($0.dropFirst(4)) })
        let kids = r.children(of: r.root)
        try #require(kids.count == 4)
        let (finder, missing, direct, byfd) = (kids[0], kids[1], kids[2], kids[3])
        func failed(_ p: ProcessRecord) -> [[String: Any]] {
            r.objects("exec").filter { ($0["pid"] as? Int) == p.pid && $0["error"] != nil }
        }

        // finder: ENOENT, ENOENT, EACCES, then /usr/bin/true, argv as given each time.
        let f = failed(finder)
        #expect(f.map { $0["path"] as? String } == ["\(dir)/none1/true", "\(dir)/none2/true", "\(dir)/noexec/true"])
        #expect(f.map { $0["error"] as? String } == ["ENOENT", "ENOENT", "EACCES"])
        #expect(f.allSatisfy { $0["argv"] as? [String] == ["true", "from-finder"] })
        #expect(finder.execs.map(\.path) == ["/usr/bin/true"])
        #expect(finder.failedExecs.allSatisfy { $0.t < finder.execs[0].t })
        #expect(finder.exitStatus == .exited(0))

        // missing: three ENOENT, no exec; its command stays python3.
        #expect(failed(missing).map { $0["path"] as? String } == ["none1", "none2", "noexec"].map { "\(dir)/\($0)/proctrace-no-such-program" })
        #expect(failed(missing).allSatisfy { $0["error"] as? String == "ENOENT" })
        #expect(missing.execs.isEmpty)
        #expect(missing.command == "python3")
        #expect(missing.exitStatus == .exited(127))

        // direct: one ENOENT with the argv it passed, spaces kept.
        #expect(failed(direct).count == 1)
        #expect(failed(direct).first?["argv"] as? [String] == ["nothing", "--flag", "two words"])
        #expect(direct.exitStatus == .exited(126))

        // byfd: execveat(fd, "", AT_EMPTY_PATH) of the non-executable file.
        let b = try #require(failed(byfd).first)
        #expect(failed(byfd).count == 1)
        #expect(b["call"] as? String == "execveat")
        #expect(b["path"] as? String == "")
        #expect(b["flags"] as? [String] == ["AT_EMPTY_PATH"])
        #expect(b["dirfd_path"] as? String == "\(dir)/noexec/true")
        #expect(b["error"] as? String == "EACCES")
        #expect(byfd.exitStatus == .exited(124))
        // No failed exec anywhere else (the root's own exec of python3 succeeded at once).
        #expect(r.root.failedExecs.isEmpty)
        #expect(r.objects("exec").filter { $0["error"] != nil }.count == 8)

        // The views.
        let (tc, tree, _) = try Harness.run([Harness.binary, "tree", r.path])
        #expect(tc == 0)
        #expect(tree.contains("[3 failed execs (ENOENT, EACCES) before /usr/bin/true]"))
        #expect(tree.contains("[3 failed execs (ENOENT) of proctrace-no-such-program]"))
        #expect(tree.contains("[1 failed exec (EACCES) of true]"))
        let (sc, stats, _) = try Harness.run([Harness.binary, "stats", r.path, "--json"])
        #expect(sc == 0)
        let js = try #require(try JSONSerialization.jsonObject(with: Data(stats.utf8)) as? [String: Any])
        let execs = try #require(js["execs"] as? [String: Any])
        #expect(execs["succeeded"] as? Int == 2)
        #expect(execs["failed"] as? Int == 8)
        #expect(execs["failed_by_error"] as? [String: Int] == ["ENOENT": 6, "EACCES": 2])
        let (_, statsText, _) = try Harness.run([Harness.binary, "stats", r.path])
        #expect(statsText.contains("execs: 2 succeeded, 8 failed (ENOENT 6, EACCES 2)"))
        let (rc, replay, _) = try Harness.run([Harness.binary, "replay", r.path])
        #expect(rc == 0)
        #expect(replay.split(separator: "\n").filter { $0.contains(" failed: E") }.count == 8)
        #expect(replay.contains("\(dir)/none1/nothing-here --flag two words failed: ENOENT"))
        // replay's model keeps the old image after a failed exec: at the instant after its
        // failures, `missing` is still python3.
        let after = Double(missing.failedExecs.last!.t) / 1e9
        let (_, at, _) = try Harness.run([Harness.binary, "replay", r.path, "--at", String(format: "%.9f", after)])
        #expect(at.contains("python3(\(missing.pid))"))
        #expect(!at.contains("proctrace-no-such-program(\(missing.pid))"))
        // The tree picture: a line per run of failures on the node.
        let dot = FileManager.default.temporaryDirectory.appendingPathComponent("failed-exec-\(getpid()).dot").path
        defer { try? FileManager.default.removeItem(atPath: dot) }
        let (dc, _, derr) = try Harness.run([Harness.binary, "render", r.path, "--tree", "-f", "dot", "-o", dot])
        #expect(dc == 0, "\(derr)")
        let dotText = (try? String(contentsOfFile: dot, encoding: .utf8)) ?? ""
        #expect(dotText.contains("3 failed execs (ENOENT, EACCES) before /usr/bin/true"))
        // analyze: one finding per failed exec, but for the finder's two misses of the PATH
        // search that found true (its EACCES stays one, and says the search went on).
        let (ac, aj, _) = try Harness.run([Harness.binary, "analyze", r.path, "--json"])
        #expect(ac == 0)
        let a = try #require(try JSONSerialization.jsonObject(with: Data(aj.utf8)) as? [String: Any])
        let findings = (a["findings"] as? [[String: Any]] ?? []).filter { $0["kind"] as? String == "failed_exec" }
        #expect(findings.count == 6)
        let finderFindings = findings.filter { $0["pid"] as? Int == finder.pid }
        #expect(finderFindings.map { $0["error"] as? String } == ["EACCES"])
        #expect((finderFindings.first?["message"] as? String)?.hasSuffix("the search went on and ran /usr/bin/true") == true)
        #expect(findings.filter { $0["pid"] as? Int == missing.pid }.count == 3)
        #expect(findings.filter { $0["pid"] as? Int == missing.pid }.allSatisfy { ($0["message"] as? String)?.hasSuffix("its old program") == true })
    }

    /// execvp probing PATH in real programs: GNU env (`env cat`) behind two missing
    /// directories is two ENOENT before /usr/bin/cat; a program found nowhere is one ENOENT
    /// per directory and exit 127. dash itself looks PATH up with stat(2) and execs once, so
    /// its own children show none. The root's own execvp is recorded the same way.
    @Test func execvpProbingPathLeavesOneFailedExecPerDirectory() throws {
        let script = "PATH=/nonexistent-a:/nonexistent-b:/usr/bin; export PATH; env cat </dev/null; env proctrace-nope 2>/dev/null; cat </dev/null; exit 0"
        let r = try Harness.record(["sh", "-c", script], env: ["PATH": "/nonexistent-root:/usr/bin:/bin"])
        #expect(r.exitCode == 0)
        // The root: execvp("sh") failed in /nonexistent-root, then /usr/bin/sh ran.
        #expect(r.root.failedExecs.map(\.path) == ["/nonexistent-root/sh"])
        #expect(r.root.failedExecs.map(\.error) == ["ENOENT"])
        #expect(r.root.execs.map(\.path) == ["/usr/bin/sh"])
        let kids = r.children(of: r.root)
        try #require(kids.count == 3)
        #expect(kids[0].failedExecs.map(\.path) == ["/nonexistent-a/cat", "/nonexistent-b/cat"])
        #expect(kids[0].failedExecs.map(\.argv) == [["cat"], ["cat"]])
        #expect(kids[0].execs.map(\.path) == ["/usr/bin/env", "/usr/bin/cat"])
        #expect(kids[1].failedExecs.map(\.path) == ["/nonexistent-a/proctrace-nope", "/nonexistent-b/proctrace-nope", "/usr/bin/proctrace-nope"])
        #expect(kids[1].execs.map(\.path) == ["/usr/bin/env"])
        #expect(kids[1].exitStatus == .exited(127))
        #expect(kids[2].failedExecs.isEmpty)
        #expect(kids[2].execs.map(\.path) == ["/usr/bin/cat"])
        let (_, tree, _) = try Harness.run([Harness.binary, "tree", r.path])
        #expect(tree.contains("[2 failed execs (ENOENT) before /usr/bin/cat]"))
        #expect(tree.contains("[3 failed execs (ENOENT) of proctrace-nope]"))
        #expect(tree.contains("[1 failed exec (ENOENT) before /usr/bin/sh]"))
        // analyze: the misses of a search that found its program are not findings (a build
        // under a PATH with a few missing directories had 56, one per probe of gcc's `as`);
        // a program found nowhere is, once per directory tried.
        let (ac, aj, _) = try Harness.run([Harness.binary, "analyze", r.path, "--json"])
        #expect(ac == 0)
        let a = try #require(try JSONSerialization.jsonObject(with: Data(aj.utf8)) as? [String: Any])
        let findings = (a["findings"] as? [[String: Any]] ?? []).filter { $0["kind"] as? String == "failed_exec" }
        #expect(findings.compactMap { $0["path"] as? String } == ["/nonexistent-a/proctrace-nope", "/nonexistent-b/proctrace-nope", "/usr/bin/proctrace-nope"])
        #expect(findings.allSatisfy { $0["pid"] as? Int == kids[1].pid })
    }
}
