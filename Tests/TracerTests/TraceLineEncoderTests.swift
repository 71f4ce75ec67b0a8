import Foundation
import Lifecycle
import Testing
@testable import Tracer

/// The recorder's own encoder writes the same bytes as the generic JSON writer: the trace
/// format does not depend on which of them wrote a line.
@Suite struct TraceLineEncoderTests {
    /// What the generic path writes for an event: the reference.
    private static func generic(_ e: TraceEvent) -> [UInt8] {
        var w = JSONWriter()
        w.write(.object(e.jsonObject))
        w.bytes.append(0x0A)
        return w.bytes
    }

    private static func encoded(_ e: TraceEvent) -> [UInt8] {
        var enc = TraceLineEncoder()
        enc.append(e)
        return enc.bytes
    }

    @Test("every line of the gallery traces and the fixtures is encoded byte for byte as recorded")
    func galleryLinesAreWrittenByteForByte() throws {
        let root = Harness.packageRoot.path
        var paths: [String] = []
        for dir in [root + "/traces", root + "/Tests/Fixtures"] {
            let names = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".jsonl") && $0 != "malformed.jsonl" }
            paths += names.sorted().map { "\(dir)/\($0)" }
        }
        var lines = 0, fast = 0
        var kinds = Set<String>()
        for path in paths {
            let data = try #require(FileManager.default.contents(atPath: path))
            for bytes in data.split(separator: UInt8(ascii: "\n")) {
                let line = String(decoding: bytes, as: UTF8.self)
                guard let o = try? JSONLineParser.parseObject(line) else { continue }   // incomplete.jsonl's cut line
                let e = try TraceEvent(json: o)
                let mine = Self.encoded(e)
                #expect(mine == Self.generic(e), "\(path): \(line)")
                // The recorder wrote the gallery: its lines come back exactly.
                if path.contains("/traces/") { #expect(mine == Array(bytes) + [0x0A], "\(path): \(line)") }
                var probe = TraceLineEncoder()
                if e.extra.isEmpty, probe.encodeFast(e, t: e.t) { fast += 1; kinds.insert(e.kind.typeName) }
                lines += 1
            }
        }
        // The corpus was read: the gallery and the fixtures hold ~6,300 lines (the gallery as
        // re-recorded in session 6, with fewer tracer stops and so fewer state lines than before).
        #expect(lines > 5_000)
        // The lines above went through the encoder's own code, not only its generic fallback.
        #expect(fast > lines / 2)
        #expect(kinds.isSuperset(of: ["fork", "exec", "wait", "exit", "reap", "state", "spawn", "end", "signal", "thread", "reparent"]),
                "\(kinds)")
    }

    @Test("each kind, with every optional field absent and present, and strings that need escaping")
    func everyKindAndFieldMatchesTheGenericWriter() {
        let odd = "a\"b\\c\nd\te\u{1}f\u{7F}g é 𝄞"
        let elf = ELFInfo(elfClass: "ELF64", machine: "x86_64", type: "DYN", interp: "/lib64/ld-linux-x86-64.so.2", buildID: "abc123")
        let kinds: [EventKind] = [
            .spawn(pid: 1, argv: [odd, ""]), .spawn(pid: 1, argv: [], ppid: 2, pgid: 0, sid: 3),
            .fork(pid: 1, child: 2, parent: 1, via: .fork), .fork(pid: 1, child: 2, parent: 9, via: .clone, tid: 3, nspid: [2, 1, -4]),
            .thread(pid: 1, tid: 2, phase: .start), .thread(pid: 1, tid: 2, phase: .exit, reason: odd),
            .exec(pid: 1, path: odd, argv: [odd, "x"], exe: nil, elf: nil, formerTid: nil),
            .exec(pid: 1, path: "/bin/true", argv: ["true"], exe: "/usr/bin/true", elf: elf, formerTid: 4, argvTruncated: true, argvBytes: 9,
                  argvNotUTF8: true),
            .exec(pid: 1, path: "/x", argv: ["x"], exe: nil, elf: ELFInfo(elfClass: "ELF32", machine: "i386", type: "EXEC", interp: nil, buildID: nil),
                  formerTid: nil),
            .exec(pid: 1, path: "", argv: [], exe: nil, elf: nil, formerTid: nil, error: "ENOENT", tid: 2, argsUnreadable: true, call: "execveat",
                  dirfd: 3, dirfdPath: odd, flags: ["AT_EMPTY_PATH", "4"]),
            .waitBegin(pid: 1, call: .wait4, target: -1, options: []), .waitBegin(pid: 1, call: .waitid, target: -5, options: ["WNOHANG", "WEXITED"], tid: 7),
            .waitEnd(pid: 1, call: .wait4, target: -1, options: [], result: .pid(5), status: .exited(0)),
            .waitEnd(pid: 1, call: .wait4, target: 3, options: ["WNOHANG"], result: .nothing, status: nil, tid: 2),
            .waitEnd(pid: 1, call: .waitid, target: -1, options: [], result: .error("ECHILD"), status: .signaled("SIGKILL", core: true)),
            .waitEnd(pid: 1, call: .wait4, target: -1, options: ["WUNTRACED"], result: .pid(5), status: .stopped("SIGTSTP")),
            .waitEnd(pid: 1, call: .wait4, target: -1, options: ["WCONTINUED"], result: .pid(5), status: .continued),
            .waitEnd(pid: 1, call: .wait4, target: 3, options: [], result: .pid(3), status: .exited(7), tid: 2, restarted: [5, TraceEvent.maxTime]),
            .exit(pid: 1, status: .exited(-3)), .exit(pid: 1, status: .signaled("SIGSEGV", core: false), error: "ENOENT"),
            .reap(pid: 2, by: 1, how: .wait), .reap(pid: 2, by: 0, how: .adopted, unobserved: true),
            .reparent(pid: 2, from: 1, to: 0),
            .signal(pid: 1, sig: "SIGCHLD", from: nil, code: nil), .signal(pid: 1, sig: "SIGUSR1", from: 4, code: "SI_USER", tid: 5),
            .state(pid: 1, tid: nil, from: .new, to: .ready, why: nil), .state(pid: 1, tid: 2, from: .running, to: .blocked, why: odd),
            .stateUnknown(pid: 1, tid: nil, reason: odd), .stateUnknown(pid: 1, tid: 3, reason: "overrun"),
            .group(pid: 1, pgid: 1, sid: 1, call: .setsid, by: 1),
            .end(status: nil, events: 3, lost: 0), .end(status: .exited(1), events: 3, lost: 2, reason: "SIGINT", detached: [7, 8], ptraceFailures: 1),
            .trace(schema: "proctrace/1", argv: [odd], cwd: "/", start: "s", host: HostInfo(kernel: "k", arch: "a", cpus: 1), tracer: "p",
                   states: .sampled, env: ["A=1"], pid: 1, failedExecs: false, attached: [5, 6]),
            .unknown(type: "future"),
        ]
        for (i, k) in kinds.enumerated() {
            for t: Int64 in [0, 1_234_567_890, TraceEvent.maxTime] {
                let e = TraceEvent(t: t, k)
                #expect(Self.encoded(e) == Self.generic(e), "\(i): \(String(decoding: Self.generic(e), as: UTF8.self))")
                // Extra fields (waitid's idtype, untranslated pids) keep their place after the contract's.
                let x = TraceEvent(t: t, k, extra: JSONObject([("idtype", .string("P_PID")), ("untranslated", .object(JSONObject([("result", .int(4))])))]))
                #expect(Self.encoded(x) == Self.generic(x), "\(i) with extra fields")
                // The writer's time (raised to the previous line's) replaces the event's own.
                for ev in [e, x] {
                    var enc = TraceLineEncoder()
                    enc.append(TraceEvent(t: t / 2, ev.kind, extra: ev.extra), t: t)
                    #expect(enc.bytes == Self.generic(ev), "\(i) written at a later time")
                }
            }
        }
        // Lines follow one another in one buffer, each with its newline, and reset empties it.
        var enc = TraceLineEncoder()
        enc.append(TraceEvent(t: 1, kinds[0]))
        enc.append(TraceEvent(t: 2, kinds[2]))
        #expect(enc.bytes == Self.generic(TraceEvent(t: 1, kinds[0])) + Self.generic(TraceEvent(t: 2, kinds[2])))
        enc.reset()
        #expect(enc.bytes.isEmpty)
    }
}
