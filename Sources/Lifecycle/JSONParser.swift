#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a line is not valid JSON, with the 1-based byte column where the parser gave up.
public struct JSONParseError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public var column: Int
    public init(_ message: String, column: Int) { self.message = message; self.column = column }
    public var description: String { "\(message) at column \(column)" }
}

/// A hand-written JSON parser over the bytes of one trace line. It builds `JSONValue`s
/// directly from the bytes (no Foundation, no intermediate `String` for the line) because
/// reading traces of millions of events is the hot path of every view.
public struct JSONLineParser {
    private let base: UnsafePointer<UInt8>
    private let count: Int
    private var i = 0
    private static let maxDepth = 256

    private init(_ buffer: UnsafeBufferPointer<UInt8>) {
        // An empty buffer may have a nil base address; give it a harmless one.
        self.base = buffer.baseAddress ?? UnsafePointer(bitPattern: 1)!
        self.count = buffer.count
    }

    /// Parses one line that must hold exactly one JSON object (surrounding blanks allowed).
    public static func parseObject(_ line: UnsafeBufferPointer<UInt8>) throws(JSONParseError) -> JSONObject {
        var p = JSONLineParser(line)
        p.skipBlanks()
        guard p.i < p.count else { throw JSONParseError("expected a JSON object, found an empty line", column: 1) }
        guard p.base[p.i] == UInt8(ascii: "{") else {
            throw JSONParseError("expected '{' (each line must be one JSON object), found \(p.describeHere())", column: p.i + 1)
        }
        let o = try p.parseObjectBody(depth: 0)
        p.skipBlanks()
        if p.i < p.count {
            throw JSONParseError("unexpected \(p.describeHere()) after the end of the object", column: p.i + 1)
        }
        return o
    }

    /// Parses a JSON object from a string (convenience for tests and small inputs).
    public static func parseObject(_ text: String) throws(JSONParseError) -> JSONObject {
        var bytes = Array(text.utf8)
        return try bytes.withUnsafeMutableBufferPointer { (b) throws(JSONParseError) -> JSONObject in
            try parseObject(UnsafeBufferPointer(b))
        }
    }

    // MARK: - Grammar

    private func describeHere() -> String {
        guard i < count else { return "end of line" }
        let b = base[i]
        if b >= 0x20 && b < 0x7F { return "'\(Character(Unicode.Scalar(b)))'" }
        return "byte 0x\(String(b, radix: 16))"
    }

    private mutating func skipBlanks() {
        while i < count {
            let b = base[i]
            if b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A { i += 1 } else { break }
        }
    }

    private mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
        skipBlanks()
        guard i < count else { throw JSONParseError("expected a value, found end of line", column: i + 1) }
        switch base[i] {
        case UInt8(ascii: "{"): return .object(try parseObjectBody(depth: depth + 1))
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        default: throw JSONParseError("expected a value, found \(describeHere())", column: i + 1)
        }
    }

    private mutating func literal(_ word: StaticString) throws(JSONParseError) {
        let n = word.utf8CodeUnitCount
        let w = word.utf8Start
        let start = i
        for k in 0..<n {
            guard i + k < count, base[i + k] == w[k] else {
                throw JSONParseError("invalid literal (expected '\(word)')", column: start + 1)
            }
        }
        i += n
    }

    /// At '{'.
    private mutating func parseObjectBody(depth: Int) throws(JSONParseError) -> JSONObject {
        if depth > JSONLineParser.maxDepth { throw JSONParseError("nesting too deep", column: i + 1) }
        i += 1
        var o = JSONObject()
        skipBlanks()
        if i < count && base[i] == UInt8(ascii: "}") { i += 1; return o }
        // Trace events have up to a dozen keys; nested objects (status, elf, host) a few.
        o.reserveCapacity(depth == 0 ? 12 : 4)
        while true {
            skipBlanks()
            guard i < count, base[i] == UInt8(ascii: "\"") else {
                throw JSONParseError("expected a string key, found \(describeHere())", column: i + 1)
            }
            let key = try parseString()
            skipBlanks()
            guard i < count, base[i] == UInt8(ascii: ":") else {
                throw JSONParseError("expected ':' after key \"\(key)\", found \(describeHere())", column: i + 1)
            }
            i += 1
            let v = try parseValue(depth: depth)
            o.append(key, v)
            skipBlanks()
            guard i < count else { throw JSONParseError("expected ',' or '}', found end of line", column: i + 1) }
            let b = base[i]
            if b == UInt8(ascii: ",") { i += 1; continue }
            if b == UInt8(ascii: "}") { i += 1; return o }
            throw JSONParseError("expected ',' or '}', found \(describeHere())", column: i + 1)
        }
    }

    /// At '['.
    private mutating func parseArray(depth: Int) throws(JSONParseError) -> JSONValue {
        if depth > JSONLineParser.maxDepth { throw JSONParseError("nesting too deep", column: i + 1) }
        i += 1
        var a: [JSONValue] = []
        skipBlanks()
        if i < count && base[i] == UInt8(ascii: "]") { i += 1; return .array(a) }
        while true {
            a.append(try parseValue(depth: depth))
            skipBlanks()
            guard i < count else { throw JSONParseError("expected ',' or ']', found end of line", column: i + 1) }
            let b = base[i]
            if b == UInt8(ascii: ",") { i += 1; continue }
            if b == UInt8(ascii: "]") { i += 1; return .array(a) }
            throw JSONParseError("expected ',' or ']', found \(describeHere())", column: i + 1)
        }
    }

    /// At '"'. The common case (no escapes) becomes a String straight from the line's bytes.
    private mutating func parseString() throws(JSONParseError) -> String {
        let open = i
        i += 1
        let start = i
        while i < count {
            let b = base[i]
            if b == UInt8(ascii: "\"") {
                let s = String(decoding: UnsafeBufferPointer(start: base + start, count: i - start), as: UTF8.self)
                i += 1
                return s
            }
            if b == UInt8(ascii: "\\") { break }
            if b < 0x20 { throw JSONParseError("control byte 0x\(String(b, radix: 16)) inside a string (must be escaped)", column: i + 1) }
            i += 1
        }
        guard i < count else { throw JSONParseError("unterminated string", column: open + 1) }
        // Slow path: escapes.
        var out: [UInt8] = []
        out.reserveCapacity(i - start + 16)
        out.append(contentsOf: UnsafeBufferPointer(start: base + start, count: i - start))
        while i < count {
            let b = base[i]
            if b == UInt8(ascii: "\"") {
                i += 1
                return String(decoding: out, as: UTF8.self)
            }
            if b < 0x20 { throw JSONParseError("control byte 0x\(String(b, radix: 16)) inside a string (must be escaped)", column: i + 1) }
            if b != UInt8(ascii: "\\") { out.append(b); i += 1; continue }
            guard i + 1 < count else { break }
            let e = base[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if scalar >= 0xD800 && scalar < 0xDC00 {
                    // A high surrogate must be followed by an escaped low surrogate.
                    if i + 1 < count, base[i] == UInt8(ascii: "\\"), base[i + 1] == UInt8(ascii: "u") {
                        i += 2
                        let low = try hex4()
                        if low >= 0xDC00 && low < 0xE000 {
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            scalar = 0xFFFD
                        }
                    } else {
                        scalar = 0xFFFD
                    }
                } else if scalar >= 0xDC00 && scalar < 0xE000 {
                    scalar = 0xFFFD
                }
                let us = Unicode.Scalar(scalar) ?? "\u{FFFD}"
                out.append(contentsOf: String(Character(us)).utf8)
            default:
                throw JSONParseError("invalid escape '\\\(Character(Unicode.Scalar(e)))' in a string", column: i - 1)
            }
        }
        throw JSONParseError("unterminated string", column: open + 1)
    }

    private mutating func hex4() throws(JSONParseError) -> UInt32 {
        guard i + 4 <= count else { throw JSONParseError("truncated \\u escape", column: i + 1) }
        var v: UInt32 = 0
        for k in 0..<4 {
            let c = base[i + k]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw JSONParseError("invalid hex digit in \\u escape", column: i + k + 1)
            }
            v = v << 4 | d
        }
        i += 4
        return v
    }

    private mutating func parseNumber() throws(JSONParseError) -> JSONValue {
        let start = i
        var negative = false
        if base[i] == UInt8(ascii: "-") { negative = true; i += 1 }
        guard i < count, base[i] >= UInt8(ascii: "0"), base[i] <= UInt8(ascii: "9") else {
            throw JSONParseError("expected a digit", column: i + 1)
        }
        if base[i] == UInt8(ascii: "0"), i + 1 < count, base[i + 1] >= UInt8(ascii: "0"), base[i + 1] <= UInt8(ascii: "9") {
            throw JSONParseError("leading zero in a number", column: i + 1)
        }
        var magnitude: UInt64 = 0
        var overflow = false
        while i < count, base[i] >= UInt8(ascii: "0"), base[i] <= UInt8(ascii: "9") {
            let (m1, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (m2, o2) = m1.addingReportingOverflow(UInt64(base[i] - UInt8(ascii: "0")))
            if o1 || o2 { overflow = true }
            magnitude = m2
            i += 1
        }
        var isFloat = false
        if i < count, base[i] == UInt8(ascii: ".") {
            isFloat = true
            i += 1
            guard i < count, base[i] >= UInt8(ascii: "0"), base[i] <= UInt8(ascii: "9") else {
                throw JSONParseError("expected a digit after '.'", column: i + 1)
            }
            while i < count, base[i] >= UInt8(ascii: "0"), base[i] <= UInt8(ascii: "9") { i += 1 }
        }
        if i < count, base[i] == UInt8(ascii: "e") || base[i] == UInt8(ascii: "E") {
            isFloat = true
            i += 1
            if i < count, base[i] == UInt8(ascii: "+") || base[i] == UInt8(ascii: "-") { i += 1 }
            guard i < count, base[i] >= UInt8(ascii: "0"), base[i] <= UInt8(ascii: "9") else {
                throw JSONParseError("expected a digit in the exponent", column: i + 1)
            }
            while i < count, base[i] >= UInt8(ascii: "0"), base[i] <= UInt8(ascii: "9") { i += 1 }
        }
        if !isFloat && !overflow {
            if negative {
                if magnitude <= UInt64(Int64.max) + 1 { return .int(magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)) }
            } else if magnitude <= UInt64(Int64.max) {
                return .int(Int64(magnitude))
            }
        }
        let text = String(decoding: UnsafeBufferPointer(start: base + start, count: i - start), as: UTF8.self)
        guard let d = Double(text) else { throw JSONParseError("invalid number", column: start + 1) }
        return .double(d)
    }
}
