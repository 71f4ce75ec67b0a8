import Foundation
import Testing
@testable import Lifecycle

@Suite struct JSONParserTests {
    @Test func parsesNestedValuesAndKeepsIntegersExact() throws {
        let o = try JSONLineParser.parseObject(#"{"a":9007199254740993,"b":[true,false,null,-1.5e3],"#
                                               + #""c":{"d":"x\"\u00e9\ud83d\ude00\n"},"e":-9223372036854775808}"#)
        #expect(o["a"] == .int(9007199254740993))
        #expect(o["b"] == .array([.bool(true), .bool(false), .null, .double(-1500)]))
        #expect(o["c"]?.object?["d"] == .string("x\"é😀\n"))
        #expect(o["e"] == .int(Int64.min))
        #expect(o.keys == ["a", "b", "c", "e"])
    }

    @Test func errorsNameTheColumn() {
        #expect(throws: JSONParseError("expected ',' or '}', found '\"'", column: 9)) {
            try JSONLineParser.parseObject(#"{"a":1  "b":2}"#)
        }
        #expect(throws: JSONParseError("unterminated string", column: 6)) { try JSONLineParser.parseObject(#"{"a":"xyz"#) }
        #expect(throws: JSONParseError("expected '{' (each line must be one JSON object), found '['", column: 1)) {
            try JSONLineParser.parseObject("[1]")
        }
        #expect(throws: JSONParseError("unexpected 'x' after the end of the object", column: 10)) {
            try JSONLineParser.parseObject(#"{"a":1}  x"#)
        }
        #expect(throws: JSONParseError("leading zero in a number", column: 6)) { try JSONLineParser.parseObject(#"{"a":01}"#) }
    }

    @Test func roundTripsWhatTheWriterWrites() throws {
        let e = TraceEvent(t: 42, .exec(pid: 7, path: "/bin/\u{1}weird \"name\"", argv: ["a\tb", "ü"], exe: nil, elf: nil, formerTid: 9))
        let back = try TraceEvent(json: JSONLineParser.parseObject(e.jsonLine))
        #expect(back == e)
    }
}

@Suite struct TraceReaderTests {
    @Test func malformedLineNamesFileLineAndProblem() throws {
        let path = Fixture.path("malformed.jsonl")
        let r = try TraceReader(path: path)
        #expect(try r.next() != nil)
        #expect(try r.next() != nil)
        do {
            _ = try r.next()
            Issue.record("line 3 should not parse")
        } catch {
            #expect(error.line == 3)
            #expect(error.description == "\(path):3: expected ',' or '}', found '\"' at column 36")
        }
    }

    @Test func missingFieldIsReportedWithItsLine() {
        let r = TraceReader(text: "{\"type\":\"trace\",\"t\":0}\n{\"type\":\"exit\",\"t\":5,\"pid\":3}\n", name: "t.jsonl")
        #expect(throws: TraceReadError(path: "t.jsonl", line: 1, message: "trace: missing field \"host\"")) { try r.readAll() }
        let r2 = TraceReader(text: "{\"type\":\"exit\",\"t\":5,\"pid\":3}\n", name: "t.jsonl")
        #expect(throws: TraceReadError(path: "t.jsonl", line: 1, message: "exit: missing field \"status\"")) { try r2.readAll() }
    }

    @Test func aTimeBeyondTwoToThe53IsMalformedNotACrash() throws {
        let ok = TraceReader(text: "{\"type\":\"exit\",\"t\":9007199254740992,\"pid\":3,\"status\":{\"exited\":0}}\n", name: "t.jsonl")
        #expect(try ok.readAll().first?.event.t == TraceEvent.maxTime)
        let r = TraceReader(text: "{\"type\":\"exit\",\"t\":9223372036854775807,\"pid\":3,\"status\":{\"exited\":0}}\n", name: "t.jsonl")
        #expect(throws: TraceReadError(path: "t.jsonl", line: 1,
                                       message: "exit: \"t\" 9223372036854775807 is beyond 2^53 ns (104 days), "
                                                + "the most a JSON reader with doubles holds exactly")) {
            try r.readAll()
        }
    }

    @Test func incompleteTraceIsUsableAndFlagged() throws {
        let r = try TraceReader(path: Fixture.path("incomplete.jsonl"))
        let events = try r.readAll()
        #expect(events.count == 3)
        #expect(r.incomplete)
        #expect(r.truncatedLine == 4)
        let h = try ProcessHistory(path: Fixture.path("incomplete.jsonl"))
        #expect(h.incomplete)
        #expect(h.processes.map(\.pid) == [4100, 4101])
    }

    @Test func completeTraceIsNotIncompleteAndKeepsUnknowns() throws {
        let r = try TraceReader(path: Fixture.path("wait.jsonl"))
        let all = try r.readAll()
        #expect(!r.incomplete)
        #expect(all.count == 21)
        #expect(all.map(\.line) == Array(1...21))
        let unknown = all.first { $0.event.kind.typeName == "cgroup_move" }
        #expect(unknown?.event.extra["cgroup"] == .string("/x"))
        let fork = all.first { $0.event.kind.typeName == "fork" }
        #expect(fork?.event.extra["future_field"] == .array([.int(1), .int(2)]))
    }

    /// The closed sets of the format (`via`, `phase`, `how`, `states`) refuse a word outside
    /// them, naming file, line and the words allowed; the open ones (`call`) keep any word and
    /// write it back unchanged.
    @Test func vocabularyOutsideTheFormatIsRefusedOrKeptAsWritten() throws {
        let header = traceText([], states: .sched, end: false)
        let bad: [(line: String, message: String)] = [
            (#"{"type":"fork","t":1,"pid":1,"child":2,"parent":1,"via":"spoon"}"#, #"fork: "via" is "spoon", expected one of fork, vfork, clone"#),
            (#"{"type":"thread","t":1,"pid":1,"tid":2,"phase":"pause"}"#, #"thread: "phase" is "pause", expected one of start, exit"#),
            (#"{"type":"wait","t":1,"pid":1,"phase":"middle","call":"wait4","target":-1,"options":[]}"#,
             #"wait: "phase" is "middle", expected one of begin, end"#),
            (#"{"type":"reap","t":1,"pid":2,"by":1,"how":"eaten"}"#, #"reap: "how" is "eaten", expected one of wait, auto, adopted"#),
        ]
        for b in bad {
            #expect(throws: TraceReadError(path: "v.jsonl", line: 2, message: b.message)) {
                try TraceReader(text: header + b.line + "\n", name: "v.jsonl").readAll()
            }
        }
        #expect(throws: TraceReadError(path: "v.jsonl", line: 1, message: #"trace: "states" is "psychic", expected one of sched, sampled, none"#)) {
            try TraceReader(text: header.replacingOccurrences(of: #""sched""#, with: #""psychic""#), name: "v.jsonl").readAll()
        }
        let future = #"{"type":"wait","t":1,"pid":1,"phase":"begin","call":"waitpidfd","target":-1,"options":[]}"#
        let e = try TraceEvent(json: JSONLineParser.parseObject(future))
        #expect(e.kind == .waitBegin(pid: 1, call: WaitCall(rawValue: "waitpidfd"), target: -1, options: []))
        #expect(e.jsonLine == future)
        let group = #"{"type":"group","t":1,"pid":1,"pgid":1,"sid":1,"call":"setsid","by":1}"#
        let g = try TraceEvent(json: JSONLineParser.parseObject(group))
        #expect(g.kind == .group(pid: 1, pgid: 1, sid: 1, call: .setsid, by: 1) && g.jsonLine == group)
    }

    /// Every field trace-format.md documents is read into its event case, never left in
    /// `extra`; every line of every shipped trace is written back exactly as it was read.
    @Test func documentedFieldsAreTypedAndEveryShippedLineRoundTrips() throws {
        let documented: Set<String> = ["tid", "ppid", "pgid", "sid", "nspid", "reason", "error", "unobserved", "argv_truncated",
                                       "argv_bytes", "argv_not_utf8", "detached", "env", "pid", "args_unreadable", "call",
                                       "dirfd", "dirfd_path", "flags", "failed_execs", "attached"]
        var lines = 0
        var seen = Set<String>()
        for path in Fixture.shippedTraces {
            let all = try #require(FileManager.default.contents(atPath: path)).split(separator: UInt8(ascii: "\n"))
            for (k, bytes) in all.enumerated() {
                let line = String(decoding: bytes, as: UTF8.self)
                // incomplete.jsonl ends in a line cut short, as a killed recorder leaves it.
                guard let o = try? JSONLineParser.parseObject(line) else {
                    #expect(k == all.count - 1 && path.hasSuffix("incomplete.jsonl"), "\(path): \(line)")
                    continue
                }
                let e = try TraceEvent(json: o)
                // What the recorder wrote (the gallery) comes back byte for byte; a hand-written
                // fixture (its own key order, non-UTF-8 bytes) comes back as the same event.
                if path.contains("/traces/") { #expect(e.jsonLine == line, "\(path): \(line)") }
                #expect(try TraceEvent(json: JSONLineParser.parseObject(e.jsonLine)) == e, "\(path): \(line)")
                if case .unknown = e.kind { continue }
                #expect(Set(e.extra.keys).isDisjoint(with: documented), "\(path): \(e.extra.keys) left in extra")
                seen.formUnion(o.keys)
                lines += 1
            }
        }
        // The corpus was read: the gallery and the fixtures hold ~6,300 lines (the gallery as
        // re-recorded in session 6, with fewer tracer stops and so fewer state lines than before).
        #expect(lines > 5_000)
        // The shipped traces hold these, so the round trip above covered them.
        #expect(seen.isSuperset(of: ["tid", "ppid", "pgid", "sid", "reason", "pid"]), "\(documented.subtracting(seen))")
        let all = TraceEvent(t: 9, .exec(pid: 4, path: "/x", argv: ["x"], exe: nil, elf: nil, formerTid: 5, error: "ENOENT",
                                         argvTruncated: true, argvBytes: 300_000, argvNotUTF8: true), extra: JSONObject([("later", .int(1))]))
        #expect(all.jsonLine == #"{"type":"exec","t":9,"pid":4,"path":"/x","argv":["x"],"former_tid":5,"error":"ENOENT","argv_truncated":true,"#
                + #""argv_bytes":300000,"argv_not_utf8":true,"later":1}"#)
        #expect(try TraceEvent(json: JSONLineParser.parseObject(all.jsonLine)) == all)
        let others: [EventKind] = [.end(status: nil, events: 3, lost: 0, reason: "SIGINT", detached: [7, 8]),
                                   .fork(pid: 1, child: 2, parent: 1, via: .clone, tid: 3, nspid: [2, 1]),
                                   .reap(pid: 2, by: 1, how: .adopted, unobserved: true), .exit(pid: 1, status: .exited(127), error: "ENOENT"),
                                   .trace(schema: "proctrace/1", argv: ["a"], cwd: "/", start: "s", host: HostInfo(kernel: "k", arch: "a", cpus: 1),
                                          tracer: "p", states: .sampled, env: ["A=1"], pid: 1, failedExecs: false, attached: [5, 6]),
                                   .exec(pid: 1, path: "", argv: [], exe: nil, elf: nil, formerTid: nil, error: "ENOENT", tid: 2, argsUnreadable: true,
                                         call: "execveat", dirfd: 3, dirfdPath: "/x", flags: ["AT_EMPTY_PATH"])]
        for k in others {
            let e = TraceEvent(t: 9, k)
            let back = try TraceEvent(json: JSONLineParser.parseObject(e.jsonLine))
            #expect(back == e && back.extra.isEmpty, "\(e.jsonLine)")
        }
        // A documented field of the wrong type is a malformed line, not an unknown one.
        #expect(throws: TraceReadError(path: "v.jsonl", line: 1, message: #"reap: "unobserved" must be true or false"#)) {
            try TraceReader(text: #"{"type":"reap","t":1,"pid":2,"by":1,"how":"adopted","unobserved":"yes"}"# + "\n", name: "v.jsonl").readAll()
        }
        #expect(throws: TraceReadError(path: "v.jsonl", line: 1, message: #"fork: "nspid" must be an array of integers"#)) {
            try TraceReader(text: #"{"type":"fork","t":1,"pid":1,"child":2,"parent":1,"via":"fork","nspid":[2,"1"]}"# + "\n", name: "v.jsonl").readAll()
        }
    }

    @Test func linesLongerThanTheChunkAndAcrossChunksAreRead() throws {
        // 3000 events with a long argv each: crosses several 1 MiB chunk boundaries.
        let big = String(repeating: "x", count: 2_000)
        var text = ""
        for i in 0..<3000 { text += TraceEvent(t: Int64(i), .spawn(pid: i + 1, argv: [big, "\(i)"])).jsonLine + "\n" }
        let huge = String(repeating: "y", count: 3 << 20)
        text += TraceEvent(t: 5000, .spawn(pid: 99999, argv: [huge])).jsonLine + "\n"
        let tmp = "/tmp/proctrace-reader-test-\(getpidSafe()).jsonl"
        try writeFile(tmp, text)
        defer { removeFile(tmp) }
        let r = try TraceReader(path: tmp, requiresHeader: false)
        var n = 0
        var last: TraceEvent?
        while let e = try r.next() {
            if n < 3000, case .spawn(_, let argv, _, _, _) = e.kind { #expect(argv[1] == "\(n)") }
            n += 1; last = e
        }
        #expect(n == 3001)
        if case .spawn(_, let argv, _, _, _)? = last?.kind { #expect(argv[0].utf8.count == 3 << 20) } else { Issue.record("last is not a spawn") }
    }
}
