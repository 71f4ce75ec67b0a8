import Lifecycle
import Testing

/// The pieces under the readers' promises: escaping for the terminal, what an instant may be,
/// what a trace says about its own losses, and that a path-opened reader wants a header.
@Suite struct TerminalTextTests {
    @Test func controlCharactersBecomeVisibleEscapes() {
        #expect(TerminalText.escape("plain text, ünïcode ☃ and a \\ backslash") == "plain text, ünïcode ☃ and a \\ backslash")
        #expect(TerminalText.escape("\u{1B}]0;title\u{7}") == #"\x1b]0;title\x07"#)
        #expect(TerminalText.escape("a\nb\tc\rd") == #"a\nb\tc\rd"#)
        #expect(TerminalText.escape("\0\u{7F}") == #"\x00\x7f"#)
        #expect(TerminalText.escape("\u{9B}31m") == #"\u{9b}31m"#)
        #expect(TerminalText.escape("abc\u{202E}fed") == #"abc\u{202e}fed"#)
        #expect(TerminalText.escape(joining: ["ls", "-l\n", "x"]) == #"ls -l\n x"#)
    }

    @Test func jsonKeepsItsMeaningWithoutRawC1OrBidi() throws {
        let raw = JSONValue.object(JSONObject([("argv", .string("\u{9B}2J\u{202E}x\u{1B}"))])).jsonText
        let safe = TerminalText.escapeJSON(raw)
        #expect(safe == #"{"argv":"\u009b2J\u202ex\u001b"}"#)
        #expect(try JSONLineParser.parseObject(safe) == JSONLineParser.parseObject(raw))
    }

    @Test func anInstantIsAFiniteNonNegativeTimeWithinATrace() {
        #expect(TimeFormat.parseInstant("0.02") == 20_000_000)
        #expect(TimeFormat.parseInstant("31ms") == 31_000_000)
        #expect(TimeFormat.parseInstant("200us") == 200_000)
        #expect(TimeFormat.parseInstant("5s") == 5_000_000_000)
        #expect(TimeFormat.parseInstant("1e-3") == 1_000_000)
        for bad in ["", "-1", "nan", "inf", "-inf", "1e10", "1e300", "0x10", "ms", "1h", " 1", "1 s"] {
            #expect(TimeFormat.parseInstant(bad) == nil, "\(bad)")
        }
        // The longest trace a JSON reader holds exactly is still an instant.
        #expect(TimeFormat.parseInstant("\(TraceEvent.maxTime)ns") == TraceEvent.maxTime)
        #expect(TimeFormat.parseInstant("\(TraceEvent.maxTime + 2)ns") == nil)
    }

    @Test func healthTellsLossesUnknownsAndAMissingEnd() throws {
        let header = #"{"type":"trace","t":0,"schema":"proctrace/1","argv":["x"],"cwd":"/","start":"2026-11-26T22:00:00Z","host":{"kernel":"6","arch":"x86_64","cpus":2},"tracer":"p","states":"none"}"#
        let spawn = #"{"type":"spawn","t":10,"pid":5,"argv":["x"]}"#
        let end = #"{"type":"end","t":30,"status":{"exited":0},"events":3,"lost":7}"#
        let lossy = TraceReader(text: [header, spawn, end].joined(separator: "\n") + "\n", name: "l.jsonl")
        var h = TraceHealth(name: lossy.path)
        while let e = try lossy.next() { h.observe(e, line: lossy.line) }
        h.finish(lossy)
        #expect(h.lost == 7 && h.complete && !h.isClean)
        #expect(h.warnings == ["l.jsonl: warning: the recorder lost 7 events (counted in its end line): what is shown may miss processes, waits, signals or state changes, and states near the losses may be wrong"])

        let cut = TraceReader(text: header + "\n" + spawn + "\n{\"type\":\"ex", name: "c.jsonl")
        var c = TraceHealth(name: cut.path)
        while let e = try cut.next() { c.observe(e, line: cut.line) }
        c.finish(cut)
        #expect(!c.complete && c.lines == 2 && c.cutOffLine == 3)
        #expect(c.warnings.count == 1)
        #expect(c.warnings[0].hasPrefix("c.jsonl: warning: incomplete trace: no end line after line 2 (t = 0.000000s), and line 3 is cut off"))
    }

    @Test func aReaderOnAPathWantsTheHeaderAndOneInMemoryNeedNot() throws {
        let fragment = #"{"type":"exit","t":5,"pid":3,"status":{"exited":0}}"# + "\n"
        #expect(throws: TraceReadError(path: "f", line: 1, message: "not a proctrace trace (the first line must be the \"trace\" header; it is an event of type \"exit\")", notATrace: true)) {
            try TraceReader(text: fragment, name: "f", requiresHeader: true).next()
        }
        #expect(try TraceReader(text: fragment, name: "f").next() != nil)
    }
}
