import Foundation
import Lifecycle
import Testing
@testable import Tracer

/// Runs `proctrace record` (the built binary) on workloads and reads back what it wrote.
enum Harness {
    static let packageRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// The `proctrace` under test, found from the build, never from a fixed path: `$PROCTRACE_BIN`
    /// (`make test` sets it to the release build, the binary users run), else the one built
    /// beside this test bundle (`swift build --build-tests` makes both in one bin path).
    static let binary: String = {
        if let bin = ProcessInfo.processInfo.environment["PROCTRACE_BIN"], !bin.isEmpty { return bin }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("proctrace").path
    }()
    static var workloads: URL { packageRoot.appendingPathComponent("traces/workloads") }
    static let python = "/usr/bin/python3"

    static func py(_ name: String, _ args: String...) -> [String] { [python, workloads.appendingPathComponent(name).path] + args }
    static func c(_ name: String, _ args: String...) -> [String] { [workloads.appendingPathComponent("bin/\(name)").path] + args }

    struct Run {
        var history: ProcessHistory
        var path: String
        var exitCode: Int32
        var stdout: String
        var stderr: String
        var lines: [String]

        var root: ProcessRecord { history.roots[0] }
        func children(of p: ProcessRecord) -> [ProcessRecord] { history.children(of: p.id) }
        func procs(_ pid: Int) -> ProcessRecord? { history.records(pid: pid).first }
        /// Every object of a type, decoded by Foundation (independent of the model).
        func objects(_ type: String) -> [[String: Any]] {
            lines.compactMap { l in
                guard let o = try? JSONSerialization.jsonObject(with: Data(l.utf8)) as? [String: Any], o["type"] as? String == type else { return nil }
                return o
            }
        }
    }

    /// Records `command` with extra `record` flags; fails the test if proctrace hangs.
    /// `wrapper` runs proctrace itself under another command (`unshare …`).
    static func record(_ command: [String], flags: [String] = ["--reap-timeout", "5"], timeout: TimeInterval = 60,
                       wrapper: [String] = [], env: [String: String] = [:], expectLoss: Bool = false,
                       lossAllowed: Bool = false, sourceLocation: SourceLocation = #_sourceLocation) throws -> Run {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("proctrace-tests-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let out = dir.appendingPathComponent("\(UUID().uuidString).jsonl").path
        let (code, so, se) = try run(wrapper + [binary, "record", "-o", out] + flags + ["--"] + command, timeout: timeout, env: env)
        let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        let lines = text.split(separator: "\n").map(String.init)
        let history = try ProcessHistory(path: out)
        try checkInvariants(history, lines: lines, path: out, expectLoss: expectLoss, lossAllowed: lossAllowed, sourceLocation: sourceLocation)
        return Run(history: history, path: out, exitCode: code, stdout: so, stderr: se, lines: lines)
    }

    /// Runs a program to completion with a deadline; returns (status, stdout, stderr).
    static func run(_ argv: [String], timeout: TimeInterval = 60, in cwd: URL? = nil, env: [String: String] = [:]) throws -> (Int32, String, String) {
        let p = Process()
        if !env.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 } }
        p.executableURL = URL(fileURLWithPath: argv[0])
        p.arguments = Array(argv.dropFirst())
        if let cwd { p.currentDirectoryURL = cwd }
        let o = Pipe(), e = Pipe()
        p.standardOutput = o
        p.standardError = e
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(timeout)
        // Drain the pipes on their own threads so a chatty program cannot fill them.
        nonisolated(unsafe) var outData = Data(), errData = Data()
        let group = DispatchGroup()
        group.enter(); DispatchQueue.global().async { outData = o.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.enter(); DispatchQueue.global().async { errData = e.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        while p.isRunning && Date() < deadline { usleep(10_000) }
        if p.isRunning {
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            Issue.record("\(argv.joined(separator: " ")) did not finish within \(timeout) s")
        }
        p.waitUntilExit()
        group.wait()
        let status = p.terminationReason == .uncaughtSignal ? 128 + p.terminationStatus : p.terminationStatus
        return (status, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }

    /// Facts every recorded trace must have, whatever the workload.
    /// `expectLoss`: the run is meant to lose events (a stopped state source), which the
    /// trace must then count.
    /// `detached`: processes let go alive at a detach (no exit or reap expected).
    /// `lossAllowed`: a loss may or may not happen (neither required nor refused).
    static func checkInvariants(_ h: ProcessHistory, lines: [String], path: String, expectLoss: Bool = false,
                                lossAllowed: Bool = false, detached: Set<Int> = [], sourceLocation: SourceLocation) throws {
        #expect(h.end != nil, "trace has no end line", sourceLocation: sourceLocation)
        if lossAllowed {
        } else if expectLoss {
            #expect((h.end?.lost ?? 0) > 0, "a loss not counted in end.lost", sourceLocation: sourceLocation)
        } else {
            #expect(h.end?.lost == 0, "events lost", sourceLocation: sourceLocation)
        }
        #expect(h.end?.events == lines.count, "end.events counts every line", sourceLocation: sourceLocation)
        for p in h.processes where !detached.contains(p.pid) {
            #expect(p.exitTime != nil, "process \(p.pid) has no exit", sourceLocation: sourceLocation)
            #expect(p.reapTime != nil, "process \(p.pid) has no reap", sourceLocation: sourceLocation)
            if let e = p.exitTime, let r = p.reapTime { #expect(e <= r, sourceLocation: sourceLocation) }
        }
        // Every line against the published JSON Schema.
        let schema = packageRoot.appendingPathComponent("docs/proctrace-1.schema.json").path
        let script = """
        import json, sys, jsonschema
        v = jsonschema.Draft202012Validator(json.load(open(sys.argv[1])))
        bad = 0
        for i, line in enumerate(open(sys.argv[2]), 1):
            for e in v.iter_errors(json.loads(line)):
                print(f"{sys.argv[2]}:{i}: {e.message}"); bad += 1
        sys.exit(1 if bad else 0)
        """
        let (code, so, se) = try run([python, "-c", script, schema, path])
        #expect(code == 0, "schema violations:\n\(so)\(se)", sourceLocation: sourceLocation)
        // And the model's own validator.
        let (vcode, vo, ve) = try run([binary, "validate", path])
        #expect(vcode == 0, "proctrace validate:\n\(vo)\(ve)", sourceLocation: sourceLocation)
    }
}


/// The two ways `record` reads wait4 calls (`--wait-source`), for tests that run on both.
enum WaitPath: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case ring, ptrace
    var flags: [String] { ["--reap-timeout", "5", "--wait-source", rawValue] }
    var testDescription: String { "--wait-source \(rawValue)" }
    /// The paths a recording can take here: waits from the ring are off when the recorder runs
    /// inside a pid namespace (docs/recorder.md), so there only the ptrace path is tested.
    static var available: [WaitPath] { ProcFS.inInitialPidNamespace() ? allCases : [.ptrace] }

    /// The ring path took effect (the `end` line says so), or on ptrace it did not.
    func expectSource(_ r: Harness.Run, sourceLocation: SourceLocation = #_sourceLocation) {
        let source = r.objects("end").first?["wait_source"] as? String
        #expect(source == (self == .ring ? "ring" : nil), sourceLocation: sourceLocation)
    }
}
