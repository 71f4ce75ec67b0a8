#if os(Linux)
@preconcurrency import Glibc

/// A field's place in an event record, read from the event's `format` file.
struct TraceField: Equatable {
    var offset: Int
    var size: Int
}

/// An event's layout as tracefs describes it in `events/SYSTEM/NAME/format`.
struct TraceEventFormat: Equatable {
    var id: UInt16
    var fields: [String: TraceField]

    /// Parses the text of a `format` file ("ID: 372", "field:pid_t prev_pid; offset:24; size:4; …").
    /// Byte-wise: Foundation's trimming made reading the 8 formats a visible part of each
    /// start (docs/states.md, Measurements).
    init?(text: String) {
        var id: UInt16?
        var fields: [String: TraceField] = [:]
        func isBlank(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 }
        func trimmed(_ s: Substring.UTF8View.SubSequence) -> Substring.UTF8View.SubSequence {
            var t = s.drop(while: isBlank)
            while let last = t.last, isBlank(last) { t = t.dropLast() }
            return t
        }
        func number(_ s: Substring.UTF8View.SubSequence) -> Int? { Int(Substring(trimmed(s))) }
        let utf8 = Substring(text).utf8
        for raw in utf8.split(separator: UInt8(ascii: "\n")) {
            let line = trimmed(raw)
            if line.starts(with: "ID:".utf8) {
                id = number(line.dropFirst(3)).flatMap { UInt16(exactly: $0) }
                continue
            }
            guard line.starts(with: "field:".utf8) else { continue }
            var decl: Substring.UTF8View.SubSequence?
            var offset: Int?
            var size: Int?
            for part in line.split(separator: UInt8(ascii: ";")) {
                let p = trimmed(part)
                if p.starts(with: "field:".utf8) { decl = p.dropFirst(6) }
                else if p.starts(with: "offset:".utf8) { offset = number(p.dropFirst(7)) }
                else if p.starts(with: "size:".utf8) { size = number(p.dropFirst(5)) }
            }
            guard let o = offset, let s = size, let d = decl,
                  var name = trimmed(d).split(whereSeparator: isBlank).last else { continue }
            if let b = name.firstIndex(of: UInt8(ascii: "[")) { name = name[..<b] }
            fields[String(Substring(name))] = TraceField(offset: o, size: s)
        }
        guard let id else { return nil }
        self.id = id
        self.fields = fields
    }

    func field(_ name: String) throws -> TraceField {
        guard let f = fields[name] else { throw SchedError(.format, "event format lacks field \(name)") }
        return f
    }
}
#endif
