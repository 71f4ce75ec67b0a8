/// Escaping of text that comes from traced programs (argv, paths, command names) before it
/// goes into DOT, and through Graphviz into SVG/PNG/PDF.
///
/// Graphviz interprets a quoted label in three layers: the DOT lexer (`\"`), then HTML
/// entities (`&#92;` becomes a backslash), then its own escapes (`\n`, `\l`, `\N`, `\\`, …).
/// The escaper undoes all three so that a label shows exactly the program's bytes, made
/// printable, and nothing in it can end the string, start an attribute or an escape.
public enum DOTText {
    /// `text` as printable characters: C0 controls become control pictures (`␊` for a newline,
    /// `␉` for a tab), DEL `␡`, C1 controls and noncharacters U+FFFD. Invalid UTF-8 was already
    /// replaced by U+FFFD when the trace was decoded.
    public static func printable(_ text: String) -> String {
        var needsWork = false
        for u in text.unicodeScalars where !isPlain(u) { needsWork = true; break }
        if !needsWork { return text }
        var out = String.UnicodeScalarView()
        for u in text.unicodeScalars {
            switch u.value {
            case 0x00..<0x20: out.append(Unicode.Scalar(0x2400 + u.value)!)
            case 0x7F: out.append("\u{2421}")
            case 0x80..<0xA0, 0xFDD0...0xFDEF: out.append("\u{FFFD}")
            case let v where v & 0xFFFE == 0xFFFE: out.append("\u{FFFD}")
            default: out.append(u)
            }
        }
        return String(out)
    }

    private static func isPlain(_ u: Unicode.Scalar) -> Bool {
        let v = u.value
        if v < 0x20 || v == 0x7F { return false }
        if v < 0x80 { return true }
        return !((0x80..<0xA0).contains(v) || (0xFDD0...0xFDEF).contains(v) || v & 0xFFFE == 0xFFFE)
    }

    /// Shortens `text` to at most `limit` characters, marking the cut with `…`.
    public static func truncated(_ text: String, to limit: Int) -> String {
        guard text.count > limit, limit > 1 else { return text }
        return String(text.prefix(limit - 1)) + "…"
    }

    /// A complete quoted DOT string (quotes included) for a label-like attribute (`label`,
    /// `xlabel`, `tooltip`) whose lines display exactly `lines`, made printable.
    /// `justify` is the Graphviz line-end escape: `n` centred, `l` left, `r` right.
    public static func label(_ lines: [String], justify: Character = "n") -> String {
        var out = "\""
        for (i, line) in lines.enumerated() {
            appendEscaped(printable(line), to: &out)
            if i < lines.count - 1 || justify != "n" { out += "\\" + String(justify) }
        }
        out += "\""
        return out
    }

    /// `label([text])`.
    public static func label(_ text: String) -> String { label([text]) }

    /// A complete quoted DOT string for a `tooltip` showing exactly `lines`. Graphviz
    /// (2.42/2.43) runs tooltips through its backslash escapes twice, so a backslash takes four.
    public static func tooltip(_ lines: [String]) -> String {
        var out = "\""
        for (i, line) in lines.enumerated() {
            appendEscaped(printable(line), to: &out, backslash: #"\\\\"#)
            if i < lines.count - 1 { out += "\\n" }
        }
        out += "\""
        return out
    }

    /// A quoted DOT string for a value proctrace itself produced (a colour, a position, a
    /// class name): only the DOT lexer layer is escaped.
    public static func quoted(_ value: String) -> String {
        var out = "\""
        for c in value.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += " "
            default: out.unicodeScalars.append(c)
            }
        }
        out += "\""
        return out
    }

    private static func appendEscaped(_ text: String, to out: inout String, backslash: String = "\\\\") {
        // Most text has nothing to escape: appended whole (a timeline writes 100,000 tooltips).
        if !text.utf8.contains(where: { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "&") }) {
            out += text
            return
        }
        for c in text.unicodeScalars {
            switch c {
            // The lexer: a quote would end the string.
            case "\"": out += "\\\""
            // Graphviz's escapes: `\\` is one backslash (so `\N`, `\n`, a trailing `\` stay text).
            case "\\": out += backslash
            // Entities: `&amp;` is decoded to `&`, so `&#92;n` in argv stays text.
            case "&": out += "&amp;"
            default: out.unicodeScalars.append(c)
            }
        }
    }
}
