/// Human-readable times and terminal styling for the text views.
public enum TimeFormat {
    /// A duration in nanoseconds with a unit that keeps 3 significant digits: `850ns`,
    /// `12.3µs`, `4.56ms`, `1.23s`, `2m03s`.
    public static func duration(_ ns: Int64) -> String {
        let a = ns < 0 ? -ns : ns
        let sign = ns < 0 ? "-" : ""
        func sig(_ v: Double, _ unit: String) -> String {
            let s: String
            if v >= 100 { s = String(Int((v).rounded())) }
            else if v >= 10 { s = fixed(v, 1) }
            else { s = fixed(v, 2) }
            return sign + s + unit
        }
        if a < 1_000 { return "\(sign)\(a)ns" }
        if a < 1_000_000 { return sig(Double(a) / 1e3, "µs") }
        if a < 1_000_000_000 { return sig(Double(a) / 1e6, "ms") }
        if a < 60_000_000_000 { return sig(Double(a) / 1e9, "s") }
        let totalS = a / 1_000_000_000
        let m = totalS / 60, s = totalS % 60
        if m < 60 { return "\(sign)\(m)m\(s < 10 ? "0" : "")\(s)s" }
        return "\(sign)\(m / 60)h\(m % 60 < 10 ? "0" : "")\(m % 60)m"
    }

    /// An instant since the trace started, in seconds with microsecond precision: `0.031200`.
    public static func clock(_ ns: Int64) -> String {
        let s = ns / 1_000_000_000
        let us = (ns % 1_000_000_000) / 1_000
        var frac = String(us)
        while frac.count < 6 { frac = "0" + frac }
        return "\(s).\(frac)"
    }

    /// `ps`'s TIME column: `M:SS` of CPU time (with hundredths below a minute for short runs).
    public static func cpuTime(_ ns: Int64) -> String {
        let cs = ns / 10_000_000
        let s = cs / 100
        let m = s / 60
        let rem = s % 60
        let hundredths = cs % 100
        return "\(m):\(rem < 10 ? "0" : "")\(rem).\(hundredths < 10 ? "0" : "")\(hundredths)"
    }

    /// `v` with `digits` decimals, without Foundation (`"0"` for NaN and infinities).
    public static func fixed(_ v: Double, _ digits: Int) -> String {
        guard v.isFinite else { return "0" }
        if v < 0 { return "-" + fixed(-v, digits) }
        var p = 1.0
        for _ in 0..<digits { p *= 10 }
        guard v * p < 9e18 else { return "\(v)" }   // beyond Int64: no trap, the plain form
        let n = Int64((v * p).rounded())
        let whole = n / Int64(p)
        var frac = String(n % Int64(p))
        while frac.count < digits { frac = "0" + frac }
        return digits == 0 ? "\(whole)" : "\(whole).\(frac)"
    }

    /// Parses seconds (`1.5`, `0.0312`) or a value with a unit (`31ms`, `200us`, `5s`, `12ns`)
    /// into nanoseconds. Nil for anything else: text, a negative, infinite or NaN value, or an
    /// instant beyond `TraceEvent.maxTime` (no trace is longer).
    public static func parseInstant(_ text: String) -> Int64? {
        let units: [(String, Double)] = [("ns", 1), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9)]
        var number = Substring(text), mult = 1e9
        for (u, m) in units where text.hasSuffix(u) { number = text.dropLast(u.count); mult = m; break }
        // Double() also reads "nan", "inf" and hex; only plain decimals are instants.
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "." || $0 == "e" || $0 == "E" || $0 == "+" || $0 == "-") }),
              let v = Double(number), v.isFinite, v >= 0 else { return nil }
        let ns = (v * mult).rounded()
        guard ns <= Double(TraceEvent.maxTime) else { return nil }
        return Int64(ns)
    }

    /// What `parseInstant` accepts, for error messages.
    public static let instantHelp = "seconds (1.5) or a time with a unit (31ms, 200us), from 0 to \(TraceEvent.maxTime / 86_400_000_000_000) days"
}

/// ANSI styling that disappears when colour is off (not a terminal, or NO_COLOR).
public struct Style: Sendable {
    public var enabled: Bool
    public init(enabled: Bool) { self.enabled = enabled }
    func wrap(_ s: String, _ code: String) -> String { enabled ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }
    public func bold(_ s: String) -> String { wrap(s, "1") }
    public func dim(_ s: String) -> String { wrap(s, "2") }
    public func red(_ s: String) -> String { wrap(s, "31") }
    public func green(_ s: String) -> String { wrap(s, "32") }
    public func yellow(_ s: String) -> String { wrap(s, "33") }
    public func blue(_ s: String) -> String { wrap(s, "34") }
    public func magenta(_ s: String) -> String { wrap(s, "35") }
    public func cyan(_ s: String) -> String { wrap(s, "36") }

    /// The colour a state is drawn in.
    public func state(_ label: String, _ s: ProcState) -> String {
        switch s {
        case .running: return green(label)
        case .ready, .new: return cyan(label)
        case .blocked: return yellow(label)
        case .terminated: return red(label)
        case .unknown: return magenta(label)
        }
    }
}

/// Shortens a string to at most `max` characters with an ellipsis.
func clip(_ s: String, _ max: Int) -> String {
    s.count <= max ? s : String(s.prefix(max - 1)) + "…"
}

/// Text from a trace (argv, paths, signal names, `why`) made safe to print on a terminal, as
/// `ps` does: a traced program's argv may hold escape sequences that would retitle or clear
/// the terminal, or a newline that would split a row. Every text view and message passes
/// trace-derived text through `escape` before adding its own colours.
///
/// C0 controls become C escapes (`\n`, `\t`, `\r`, `\x1b` for ESC), DEL `\x7f`, C1 controls
/// `\u{9b}`, and the bidirectional overrides that reorder what a reader sees (U+202A–U+202E,
/// U+2066–U+2069) `\u{202e}`. Everything else, backslashes included, is shown as it is.
public enum TerminalText {
    /// `text` with every control character replaced by a visible escape.
    public static func escape(_ text: String) -> String {
        var plain = true
        for u in text.unicodeScalars where needsEscape(u) { plain = false; break }
        if plain { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 8)
        for u in text.unicodeScalars {
            guard needsEscape(u) else { out.unicodeScalars.append(u); continue }
            switch u {
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                let hex = String(u.value, radix: 16)
                out += u.value < 0x80 ? "\\x" + (hex.count < 2 ? "0" : "") + hex : "\\u{" + hex + "}"
            }
        }
        return out
    }

    /// JSON text made as safe as `escape` makes plain text: the writer already escapes C0
    /// controls and DEL; C1 controls and the bidirectional overrides, which JSON allows raw,
    /// become `\u00XX`/`\u202e` too. They can only occur inside strings (JSON's structure is
    /// ASCII), where the escape means the same character, so the JSON is unchanged.
    public static func escapeJSON(_ json: String) -> String {
        var plain = true
        for u in json.unicodeScalars where u.value >= 0x80 && needsEscape(u) { plain = false; break }
        if plain { return json }
        var out = String.UnicodeScalarView()
        for u in json.unicodeScalars {
            if u.value >= 0x80 && needsEscape(u) {
                let hex = String(u.value, radix: 16)
                out.append(contentsOf: ("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).unicodeScalars)
            } else {
                out.append(u)
            }
        }
        return String(out)
    }

    /// Each string of `words` escaped, joined by spaces (an argv as one line).
    public static func escape<S: Sequence>(joining words: S) -> String where S.Element == String {
        words.map(escape).joined(separator: " ")
    }

    static func needsEscape(_ u: Unicode.Scalar) -> Bool {
        let v = u.value
        if v < 0x20 || v == 0x7F { return true }
        if v < 0x80 { return false }
        return (0x80..<0xA0).contains(v) || (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v)
    }
}
