import Foundation
import Lifecycle
import Testing

/// The reading commands' contract with their user (issue 8, items 8, 10–13): what is not a
/// trace is refused, bad options are errors and never crashes, a loss is told wherever a trace
/// is read, text output cannot drive the terminal, and the Unix habits (`-` as stdin, the
/// extension picks the format, a filter that matches nothing says so, no silent overwrite).
/// Each test runs the built binary and reads what it wrote.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct ReaderCommandTests {
    /// A scratch directory of this test process.
    static let dir: String = {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("proctrace-readers-\(getpid())").path
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }()
    static func scratch(_ name: String) -> String { "\(dir)/\(name)" }
    static func write(_ name: String, _ text: String) throws -> String {
        let p = scratch(name)
        try text.write(toFile: p, atomically: false, encoding: .utf8)
        return p
    }
    static func exists(_ p: String) -> Bool { FileManager.default.fileExists(atPath: p) }
    static func remove(_ p: String) { try? FileManager.default.removeItem(atPath: p) }

    /// A real trace, recorded once for the suite: a shell that forks a child and waits.
    static let recorded: String = {
        let out = scratch("real.jsonl")
        remove(out)
        _ = try? Harness.run([Harness.binary, "record", "-o", out, "--reap-timeout", "1", "--", "/bin/sh", "-c", "/bin/true; exit 3"])
        return out
    }()

    /// Every command that reads a trace, with the options that make each mode read it (the
    /// output-writing ones aim into the scratch directory).
    static func readers(_ trace: String) -> [[String]] {
        [["tree", trace], ["stats", trace], ["stats", trace, "--json"], ["analyze", trace], ["analyze", trace, "--json"], ["validate", trace],
         ["replay", trace], ["replay", trace, "--check"], ["replay", trace, "--at", "0"],
         ["render", trace, "-o", scratch("pics/")], ["export", trace, "--force", "-o", scratch("x.perfetto.json")]]
    }

    static func proctrace(_ args: [String]) throws -> (code: Int32, out: String, err: String) {
        let (c, o, e) = try Harness.run([Harness.binary] + args)
        return (c, o, e)
    }

    /// Runs `proctrace ARGS < stdin` through the shell (the harness gives programs /dev/null).
    static func proctrace(_ args: [String], stdin: String) throws -> (code: Int32, out: String, err: String) {
        let quoted = ([Harness.binary] + args).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        let (c, o, e) = try Harness.run(["/bin/sh", "-c", quoted.joined(separator: " ") + " < '\(stdin)'"])
        return (c, o, e)
    }

    // MARK: item 11: what is not a trace is refused

    @Test(arguments: [
        ("empty.jsonl", "", "empty.jsonl: not a proctrace trace (empty file)"),
        ("garbage.jsonl", "hello world\nthis is not json\n", "garbage.jsonl:1: not a proctrace trace ("),
        ("noheader.jsonl", "{\"type\":\"exit\",\"t\":5,\"pid\":3,\"status\":{\"exited\":0}}\n",
         "noheader.jsonl:1: not a proctrace trace (the first line must be the \"trace\" header"),
        ("binary.jsonl", "\u{7F}ELF\u{2}\u{1}\u{1}\0\0\0", "binary.jsonl:1: not a proctrace trace ("),
        ("schema2.jsonl", #"{"type":"trace","t":0,"schema":"proctrace/2","argv":["x"],"cwd":"/","start":"2026-11-26T22:00:00Z","#
         + #""host":{"kernel":"6","arch":"x86_64","cpus":2},"tracer":"p","states":"none"}"# + "\n",
         "schema2.jsonl:1: not a proctrace trace (schema \"proctrace/2\""),
    ])
    func everyReaderRefusesWhatIsNotATrace(_ name: String, _ content: String, _ message: String) throws {
        let path = try Self.write(name, content)
        Self.remove(Self.scratch("pics"))
        Self.remove(Self.scratch("x.perfetto.json"))
        for args in Self.readers(path) {
            let r = try Self.proctrace(args)
            #expect(r.code == 2, "\(args): exit \(r.code)")
            #expect(r.err.hasPrefix(Self.dir + "/" + message), "\(args): \(r.err)")
            #expect(r.err.split(separator: "\n").count == 1, "\(args): \(r.err)")
            #expect(r.out.isEmpty, "\(args) printed \(r.out)")
        }
        // Nothing was drawn or exported from it.
        let drawn = (try? FileManager.default.contentsOfDirectory(atPath: Self.scratch("pics"))) ?? []
        #expect(drawn.isEmpty)
        #expect(!Self.exists(Self.scratch("x.perfetto.json")))
    }

    @Test func aFileThatCannotBeReadIsSaidSoNotCalledAMalformedTrace() throws {
        for args in Self.readers(Self.dir) + Self.readers(Self.scratch("no-such.jsonl")) {
            let r = try Self.proctrace(args)
            #expect(r.code == 2, "\(args): exit \(r.code)")
            let expected = args[1] == Self.dir ? "\(Self.dir): cannot read: Is a directory\n" : "\(args[1]): cannot open: No such file or directory\n"
            #expect(r.err == expected, "\(args): \(r.err)")
        }
    }

    @Test func aMalformedLineIsNamedByEveryReaderAndCheckDoesNotSkipIt() throws {
        // A real trace with one line broken in the middle.
        var lines = try String(contentsOfFile: Self.recorded, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines.count > 6)
        lines[4] = String(lines[4].dropLast(3))
        let path = try Self.write("broken.jsonl", lines.joined(separator: "\n") + "\n")
        for args in Self.readers(path) where args[0] != "validate" {
            let r = try Self.proctrace(args)
            #expect(r.code == 2, "\(args): exit \(r.code)")
            #expect(r.err.hasPrefix("\(path):5: "), "\(args): \(r.err)")
            #expect(!r.err.contains("no disagreement"), "\(args): \(r.err)")
        }
        // validate lists it with the other problems it finds.
        let v = try Self.proctrace(["validate", path])
        #expect(v.code == 1)
        #expect(v.out.contains("\(path):5: "), "\(v.out)")
    }

    /// A word outside one of the format's fixed sets (`via`, `how`, …) is a malformed line for
    /// every reader, as a broken one is: named by file and line, exit 2 (validate lists it, 1).
    @Test func aWordOutsideTheFormatIsAMalformedLineForEveryReader() throws {
        var lines = try String(contentsOfFile: Self.recorded, encoding: .utf8).split(separator: "\n").map(String.init)
        let k = try #require(lines.firstIndex { $0.contains(#""how":"wait""#) })
        lines[k] = lines[k].replacingOccurrences(of: #""how":"wait""#, with: #""how":"eaten""#)
        let path = try Self.write("eaten.jsonl", lines.joined(separator: "\n") + "\n")
        let message = "\(path):\(k + 1): reap: \"how\" is \"eaten\", expected one of wait, auto, adopted"
        for args in Self.readers(path) where args[0] != "validate" {
            let r = try Self.proctrace(args)
            #expect(r.code == 2, "\(args): exit \(r.code)")
            #expect(r.err.hasPrefix(message), "\(args): \(r.err)")
        }
        let v = try Self.proctrace(["validate", path])
        #expect(v.code == 1 && v.out.contains(message), "\(v.out)")
    }

    // MARK: item 8, reader side: losses are told wherever a trace is read

    @Test func aCompleteTraceWithoutLossesGetsNoWarning() throws {
        let h = try ProcessHistory(path: Self.recorded)
        #expect(h.end?.lost == 0)
        for args in Self.readers(Self.recorded) {
            let r = try Self.proctrace(args)
            #expect(r.code == 0, "\(args): \(r.err)")
            #expect(!r.err.contains("warning"), "\(args): \(r.err)")
        }
    }

    @Test func lossesAreToldByEveryReader() throws {
        // The recorder's own end line, with the loss count a flood leaves (seen: 140213).
        let text = try String(contentsOfFile: Self.recorded, encoding: .utf8)
        #expect(text.contains("\"lost\":0"))
        let path = try Self.write("lossy.jsonl", text.replacingOccurrences(of: "\"lost\":0", with: "\"lost\":140213"))
        for args in Self.readers(path) {
            let r = try Self.proctrace(args)
            #expect(r.code == 0, "\(args): \(r.err)")
            let warnings = r.err.split(separator: "\n").filter { $0.contains("warning") }
            #expect(warnings.count == 1, "\(args): \(r.err)")
            #expect(warnings.first?.hasPrefix("\(path): warning: the recorder lost 140213 events") == true, "\(args): \(r.err)")
            #expect(warnings.first?.contains("may be wrong") == true)
        }
    }

    @Test func unknownStretchesAreToldByEveryReader() throws {
        // A real trace where the state source lost the root for a while: one `unknown` event
        // (docs/trace-format.md), counted in `lost` as the recorder counts it.
        var lines = try String(contentsOfFile: Self.recorded, encoding: .utf8).split(separator: "\n").map(String.init)
        let spawn = try #require(lines.firstIndex { $0.contains("\"type\":\"spawn\"") })
        let root = try ProcessHistory(path: Self.recorded).roots[0]
        lines.insert(#"{"type":"unknown","t":\#(root.birth),"pid":\#(root.pid),"reason":"ring overrun on cpu 1"}"#, at: spawn + 1)
        lines[lines.count - 1] = lines[lines.count - 1]
            .replacingOccurrences(of: "\"lost\":0", with: "\"lost\":1")
            .replacingOccurrences(of: "\"events\":\(lines.count - 1),", with: "\"events\":\(lines.count),")
        let path = try Self.write("unknown.jsonl", lines.joined(separator: "\n") + "\n")
        for args in Self.readers(path) {
            let r = try Self.proctrace(args)
            #expect(r.code == 0, "\(args): \(r.err)")
            let warnings = r.err.split(separator: "\n").filter { $0.contains("warning") }
            #expect(warnings.count == 2, "\(args): \(r.err)")
            #expect(warnings.contains { $0.hasPrefix("\(path): warning: the recorder lost 1 event ") }, "\(args): \(r.err)")
            #expect(warnings.contains { $0.hasPrefix("\(path): warning: 1 stretch of unknown state") }, "\(args): \(r.err)")
        }
    }

    @Test func anIncompleteTraceIsToldByEveryReader() throws {
        // What a killed recorder leaves: every line but the end, and half of a last line.
        let lines = try String(contentsOfFile: Self.recorded, encoding: .utf8).split(separator: "\n").map(String.init)
        let kept = lines.dropLast()
        let path = try Self.write("cut.jsonl", kept.joined(separator: "\n") + "\n" + String(lines.last!.prefix(10)))
        for args in Self.readers(path) where args[0] != "validate" {
            let r = try Self.proctrace(args)
            #expect(r.code == 0, "\(args): \(r.err)")
            #expect(r.err.contains("\(path): warning: incomplete trace: no end line after line \(kept.count)"), "\(args): \(r.err)")
            #expect(r.err.contains("line \(kept.count + 1) is cut off"), "\(args): \(r.err)")
        }
        let v = try Self.proctrace(["validate", path])
        #expect(v.code == 1)
        #expect(v.err.contains("incomplete trace"))
    }

    // MARK: item 10: bad input is an error, never a crash

    @Test(arguments: [
        (["replay", "T", "--at", "1e10"], "--at wants seconds"),
        (["replay", "T", "--at", "nan"], "--at wants seconds"),
        (["replay", "T", "--at", "inf"], "--at wants seconds"),
        (["replay", "T", "--at", "-1"], "--at wants seconds"),
        (["replay", "T", "--at", "0x10"], "--at wants seconds"),
        (["replay", "T", "--at", "12parsecs"], "--at wants seconds"),
        (["replay", "T", "--speed", "0"], "--speed wants a number from 0.001 to 1000000"),
        (["replay", "T", "--speed", "-2"], "--speed wants a number from 0.001 to 1000000"),
        (["replay", "T", "--speed", "1e-300"], "--speed wants a number"),
        (["replay", "T", "--speed", "nan"], "--speed wants a number"),
        (["replay", "T", "--model", "four"], "--model wants three or five"),
        (["render", "T", "--from", "inf"], "--from wants seconds"),
        (["render", "T", "--to", "1e300"], "--to wants seconds"),
        (["render", "T", "--from", "-0.5"], "--from wants seconds"),
        (["render", "T", "--from", "2", "--to", "1"], "--to must be after --from"),
        (["render", "T", "--pids", "-1"], "--pids wants comma-separated pids"),
        (["render", "T", "--pids", "12,,13"], "--pids wants comma-separated pids"),
        (["render", "T", "--pids", ""], "--pids wants comma-separated pids"),
        (["render", "T", "--match", ""], "--match wants some text"),
        (["render", "T", "-f", "jpeg"], "-f wants one of svg, png, pdf, dot, html"),
        (["stats", "T", "--top", "-1"], "--top wants a whole number from 0 to 1000000"),
        (["stats", "T", "--top", "1e10"], "--top wants a whole number"),
        (["stats", "T", "--model", "5"], "--model wants three or five"),
        (["export", "T", "--format", "chrome"], "--format wants perfetto"),
        (["export", "T", "--model", "two"], "--model wants three or five"),
        (["record", "--reap-timeout", "1e10", "-o", "OUT", "--", "/bin/true"], "--reap-timeout wants a number of seconds from 0 to 86400"),
        (["record", "--reap-timeout", "-1", "-o", "OUT", "--", "/bin/true"], "--reap-timeout wants a number of seconds from 0 to 86400"),
        (["record", "--reap-timeout", "nan", "-o", "OUT", "--", "/bin/true"], "--reap-timeout wants a number of seconds"),
        (["record", "--reap-timeout", "inf", "-o", "OUT", "--", "/bin/true"], "--reap-timeout wants a number of seconds"),
        (["record", "--states", "fast", "-o", "OUT", "--", "/bin/true"], "--states wants sched, sampled or none"),
        (["record", "-o", "", "--", "/bin/true"], "-o wants a file name"),
    ])
    func aBadOptionValueIsAnErrorNotACrash(_ args: [String], _ message: String) throws {
        let out = Self.scratch("never-written.jsonl")
        Self.remove(out)
        let argv = args.map { $0 == "T" ? Self.recorded : $0 == "OUT" ? out : $0 }
        let r = try Self.proctrace(argv)
        #expect(r.code == 2, "\(args): exit \(r.code), \(r.err)")
        #expect(r.err.hasPrefix("Error: \(message)"), "\(args): \(r.err)")
        #expect(r.out.isEmpty)
        // record's fast path refuses the same values: no recording, not even an empty file.
        #expect(!Self.exists(out), "\(args) left \(out)")
    }

    @Test func theRecordFastPathTakesWhatValidationTakes() throws {
        let out = Self.scratch("fast.jsonl")
        Self.remove(out)
        let r = try Self.proctrace(["record", "--reap-timeout", "0.5", "-o", out, "--", "/bin/true"])
        #expect(r.code == 0, "\(r.err)")
        #expect(try ProcessHistory(path: out).end?.status == .exited(0))
    }

    @Test(arguments: [
        (["replay", "T", "--check", "--at", "0.1"], "--check and --at cannot be used together"),
        (["replay", "T", "--check", "--step"], "--check and --step cannot be used together"),
        (["replay", "T", "--check", "--speed", "2"], "--check and --speed cannot be used together"),
        (["replay", "T", "--check", "--model", "three"], "--check and --model cannot be used together"),
        (["replay", "T", "--at", "0.1", "--step"], "--at and --step cannot be used together"),
        (["replay", "T", "--at", "0.1", "--speed", "2"], "--at and --speed cannot be used together"),
        (["replay", "T", "--step", "--speed", "2"], "--step and --speed cannot be used together"),
        (["replay", "T", "--speed", "2"], "--speed plays on a terminal, and stdout is not one"),
        (["replay", "T", "--step"], "--step plays on a terminal, and stdout is not one"),
        (["render", "T", "--tree", "--from", "0.1"], "--from applies to the timeline, and only --tree is asked"),
        (["render", "T", "--tree", "--model", "three"], "--model applies to the timeline"),
        (["render", "T", "--tree", "--no-break"], "--no-break applies to the timeline"),
        (["render", "T", "--timeline", "--no-collapse"], "--no-collapse applies to the tree"),
        (["render", "T", "-f", "svg", "-o", "x.png"], "-f svg but -o x.png ends in .png"),
        (["render", "T", "-o", "x.jpg"], "-o x.jpg: .jpg is not a picture format"),
    ])
    func conflictingOptionsAreRefused(_ args: [String], _ message: String) throws {
        let r = try Self.proctrace(args.map { $0 == "T" ? Self.recorded : $0 })
        #expect(r.code == 2, "\(args): exit \(r.code), \(r.err)")
        #expect(r.err.hasPrefix("Error: \(message)"), "\(args): \(r.err)")
        #expect(r.out.isEmpty)
    }

    // MARK: item 12: terminal output cannot be hijacked

    /// Control characters other than the line ends of the output itself.
    static func controls(_ s: String) -> [Unicode.Scalar] {
        s.unicodeScalars.filter { ($0.value < 0x20 && $0 != "\n") || (0x7F..<0xA0).contains($0.value) }
    }

    @Test func argvEscapesCannotReachTheTerminal() throws {
        // A real recording of a program whose argv retitles the terminal (OSC 0), clears it,
        // rings the bell and splits a line.
        let out = Self.scratch("hostile.jsonl")
        Self.remove(out)
        let evil = ["two\nlines", "\u{1B}]0;pwned\u{7}", "\u{1B}[2J\u{1B}[H", "tab\there", "del\u{7F}", "c1\u{9B}31m"]
        let rec = try Self.proctrace(["record", "-o", out, "--", "/bin/sh", "-c", "/bin/true \"$@\"", "sh"] + evil)
        #expect(rec.code == 0, "\(rec.err)")
        let processes = try ProcessHistory(path: out).processes.count
        #expect(processes == 2)
        for args in [["tree", out], ["stats", out], ["stats", out, "--json"], ["export", out, "-o", "-"], ["replay", out],
                     ["replay", out, "--at", "0.5ms"], ["replay", out, "--at", "3600s"], ["validate", out]] {
            let r = try Self.proctrace(args)
            #expect(Self.controls(r.out).isEmpty, "\(args) printed \(Self.controls(r.out)) in \(r.out.debugDescription)")
            #expect(Self.controls(r.err).isEmpty, "\(args) printed \(Self.controls(r.err)) in \(r.err.debugDescription)")
        }
        let tree = try Self.proctrace(["tree", out]).out
        // One header line and one line per process: the newline in argv did not split a row.
        #expect(tree.split(separator: "\n").count == 1 + processes, "\(tree)")
        #expect(tree.contains(#"\x1b]0;pwned\x07"#), "\(tree)")
        #expect(tree.contains(#"two\nlines"#), "\(tree)")
        let lines = try Self.proctrace(["replay", out]).out.split(separator: "\n")
        #expect(lines.count == (try String(contentsOfFile: out, encoding: .utf8)).split(separator: "\n").count)
    }

    @Test func theLiveReplayOnATerminalEscapesArgvAndTellsTheLoss() throws {
        // The live mode draws with its own escapes, so look for the hostile ones by name.
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else { return }
        let out = Self.scratch("live.jsonl")
        Self.remove(out)
        let rec = try Self.proctrace(["record", "-o", out, "--", "/bin/sh", "-c", "/bin/true \"$@\"", "sh", "\u{1B}]0;pwned\u{7}", "\u{1B}[2J", "two\nlines"])
        #expect(rec.code == 0, "\(rec.err)")
        let lossy = try Self.write("live-lossy.jsonl", try String(contentsOfFile: out, encoding: .utf8)
            .replacingOccurrences(of: "\"lost\":0", with: "\"lost\":5"))
        // script(1) gives replay a terminal as stdout (and stderr), as a user's shell would.
        let (code, screen, _) = try Harness.run(["/usr/bin/script", "-qec", "\(Harness.binary) replay \(lossy) --speed 1000", "/dev/null"])
        #expect(code == 0)
        #expect(screen.contains("done"), "\(screen.debugDescription)")
        #expect(!screen.contains("\u{1B}]0;pwned"), "\(screen.debugDescription)")
        #expect(!screen.contains("\u{1B}[2J"), "\(screen.debugDescription)")
        #expect(screen.contains(#"\x1b]0;pwned\x07"#), "\(screen.debugDescription)")
        #expect(screen.contains("\(lossy): warning: the recorder lost 5 events"), "\(screen.debugDescription)")
    }

    @Test func stepModeQuitsOnQAndStillTellsTheLoss() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else { return }
        let lossy = try Self.write("step-lossy.jsonl", try String(contentsOfFile: Self.recorded, encoding: .utf8)
            .replacingOccurrences(of: "\"lost\":0", with: "\"lost\":9"))
        // One key for the next event, then q, typed into the terminal script(1) provides.
        let (code, screen, _) = try Harness.run(["/bin/sh", "-c",
                                                 "(sleep 0.3; printf ' q') | /usr/bin/script -qec '\(Harness.binary) replay \(lossy) --step' /dev/null"])
        #expect(code == 0)
        #expect(screen.contains("step: any key = next event, q = quit"), "\(screen.debugDescription)")
        // It quit after the second event, and the loss in the end line it never showed is told.
        #expect(!screen.contains("done"), "\(screen.debugDescription)")
        #expect(screen.contains("\(lossy): warning: the recorder lost 9 events"), "\(screen.debugDescription)")
    }

    @Test func theHostileFixtureIsPrintedEscapedByEveryTextView() throws {
        let path = Harness.packageRoot.appendingPathComponent("Tests/Fixtures/render-hostile.jsonl").path
        for args in [["tree", path], ["stats", path], ["replay", path], ["replay", path, "--at", "0.0003"], ["replay", path, "--check"], ["validate", path]] {
            let r = try Self.proctrace(args)
            #expect(Self.controls(r.out).isEmpty, "\(args) printed \(Self.controls(r.out))")
            #expect(Self.controls(r.err).isEmpty, "\(args) printed \(Self.controls(r.err))")
        }
    }

    @Test func errorMessagesEscapeTheFileName() throws {
        let name = Self.scratch("no\u{1B}[2Jsuch.jsonl")
        let r = try Self.proctrace(["tree", name])
        #expect(r.code == 2)
        #expect(Self.controls(r.err).isEmpty, "\(r.err.debugDescription)")
        #expect(r.err.contains(#"no\x1b[2Jsuch.jsonl: cannot open"#), "\(r.err)")
    }

    // MARK: item 13, reader side: Unix habits

    @Test func everyReaderTakesDashAsStandardInput() throws {
        for args in [["tree"], ["stats"], ["stats", "--json"], ["validate"], ["replay"], ["replay", "--check"], ["replay", "--at", "0.001"]] {
            let fromFile = try Self.proctrace([args[0], Self.recorded] + args.dropFirst())
            let fromStdin = try Self.proctrace([args[0], "-"] + args.dropFirst(), stdin: Self.recorded)
            #expect(fromStdin.code == fromFile.code, "\(args): \(fromStdin.err)")
            // The same output, the file's name aside.
            #expect(fromStdin.out == fromFile.out.replacingOccurrences(of: Self.recorded, with: "<stdin>"), "\(args)")
        }
        let svg = Self.scratch("stdin.tree.svg")
        Self.remove(svg)
        let r = try Self.proctrace(["render", "-", "--tree", "-o", svg], stdin: Self.recorded)
        #expect(r.code == 0, "\(r.err)")
        #expect(try String(contentsOfFile: svg, encoding: .utf8).contains("<svg"))
        let e = try Self.proctrace(["export", "-", "-o", "-"], stdin: Self.recorded)
        #expect(e.code == 0, "\(e.err)")
        #expect(e.out.hasPrefix("{\"traceEvents\":["))
        let empty = try Self.proctrace(["tree", "-"], stdin: "/dev/null")
        #expect(empty.code == 2)
        #expect(empty.err == "<stdin>: not a proctrace trace (empty file)\n")
    }

    @Test func theExtensionOfTheOutputChoosesTheFormat() throws {
        let magic: [(String, [UInt8])] = [("png", [0x89, 0x50, 0x4E, 0x47]), ("pdf", Array("%PDF".utf8)), ("svg", Array("<?xm".utf8)),
                                          ("dot", Array("digr".utf8))]
        for (ext, head) in magic {
            let out = Self.scratch("tree.\(ext)")
            Self.remove(out)
            let r = try Self.proctrace(["render", Self.recorded, "--tree", "-o", out])
            #expect(r.code == 0, "\(ext): \(r.err)")
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: out)).prefix(4))
            #expect(bytes == head, "\(out) starts with \(bytes)")
        }
        // A contradiction writes nothing.
        let png = Self.scratch("conflict.png")
        Self.remove(png)
        #expect(try Self.proctrace(["render", Self.recorded, "--tree", "-f", "svg", "-o", png]).code == 2)
        #expect(!Self.exists(png))
    }

    @Test func aFilterThatMatchesNothingSaysSoAndDrawsNothing() throws {
        let out = Self.scratch("nothing/")
        Self.remove(out)
        for (args, message) in [(["--match", "no-such-command-xyz"], "no process matches --match \"no-such-command-xyz\""),
                                (["--pids", "999999999"], "no process matches --pids 999999999"),
                                (["--timeline", "--from", "3600s"], "no process lives in the window --from 3600.000000s")] {
            let r = try Self.proctrace(["render", Self.recorded, "-o", out] + args)
            #expect(r.code == 1, "\(args): \(r.err)")
            #expect(r.err.hasPrefix("proctrace render: \(message)"), "\(args): \(r.err)")
            #expect(r.out.isEmpty)
            #expect((try? FileManager.default.contentsOfDirectory(atPath: out))?.isEmpty ?? true, "\(args) drew something")
        }
        // A pid list with one pid that is not there still draws the others, and says so.
        let root = try ProcessHistory(path: Self.recorded).roots[0].pid
        let r = try Self.proctrace(["render", Self.recorded, "--tree", "-o", out, "--pids", "\(root),999999999"])
        #expect(r.code == 0, "\(r.err)")
        #expect(r.err.contains("warning: --pids: no process 999999999 in the trace"), "\(r.err)")
    }

    @Test func replayAtAnInstantAfterTheEndSaysSo() throws {
        let r = try Self.proctrace(["replay", Self.recorded, "--at", "10s"])
        #expect(r.code == 1)
        #expect(r.out.isEmpty)
        #expect(r.err.hasPrefix("proctrace replay: --at 10.000000s is after the trace's last event (at "), "\(r.err)")
        let end = try ProcessHistory(path: Self.recorded).endTime
        // The very end is still an instant of the trace.
        let last = try Self.proctrace(["replay", Self.recorded, "--at", "\(end)ns"])
        #expect(last.code == 0, "\(last.err)")
    }

    @Test func exportDoesNotOverwriteWithoutForce() throws {
        let out = Self.scratch("kept.perfetto.json")
        try "precious\n".write(toFile: out, atomically: false, encoding: .utf8)
        let r = try Self.proctrace(["export", Self.recorded, "-o", out])
        #expect(r.code == 2)
        #expect(r.err == "proctrace export: \(out) exists: give --force to replace it\n")
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "precious\n")
        let forced = try Self.proctrace(["export", Self.recorded, "-o", out, "--force"])
        #expect(forced.code == 0, "\(forced.err)")
        #expect(try String(contentsOfFile: out, encoding: .utf8).hasPrefix("{\"traceEvents\":["))
    }
}
