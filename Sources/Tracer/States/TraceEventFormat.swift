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
    /// One pass over the bytes, no intermediate arrays: every recording parses ~10 formats
    /// before its root may run (docs/states.md, Measurements).
    init?(text: String) {
        var text = text
        guard let (id, fields) = text.withUTF8({ Self.parse($0) }) else { return nil }
        self.id = id
        self.fields = fields
    }

    private static func isBlank(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0D }

    /// Whether `b[from..<to]` starts with `prefix`.
    private static func starts(_ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int, with prefix: StaticString) -> Bool {
        let n = prefix.utf8CodeUnitCount
        guard to - from >= n else { return false }
        let p = prefix.utf8Start
        for k in 0..<n where b[from + k] != p[k] { return false }
        return true
    }

    /// The decimal number that `b[from..<to]` holds, blanks around it allowed (as `Int(String)`
    /// on the trimmed text: an optional sign, digits only), or nil.
    private static func number(_ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> Int? {
        var i = from, e = to
        while i < e && isBlank(b[i]) { i += 1 }
        while e > i && isBlank(b[e - 1]) { e -= 1 }
        var negative = false
        if i < e && (b[i] == UInt8(ascii: "-") || b[i] == UInt8(ascii: "+")) { negative = b[i] == UInt8(ascii: "-"); i += 1 }
        guard i < e else { return nil }
        var v = 0
        while i < e {
            let d = Int(b[i]) - 48
            guard d >= 0 && d <= 9 else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(d)
            guard !o1 && !o2 else { return nil }
            v = a
            i += 1
        }
        return negative ? -v : v
    }

    private static func parse(_ b: UnsafeBufferPointer<UInt8>) -> (UInt16, [String: TraceField])? {
        var id: UInt16?
        var fields: [String: TraceField] = [:]
        var i = 0
        let n = b.count
        while i < n {
            var e = i
            while e < n && b[e] != 0x0A { e += 1 }
            defer { i = e + 1 }
            var s = i
            while s < e && isBlank(b[s]) { s += 1 }
            if starts(b, s, e, with: "ID:") {
                id = number(b, s + 3, e).flatMap { UInt16(exactly: $0) }
                continue
            }
            guard starts(b, s, e, with: "field:") else { continue }
            // Parts between ';': "field:DECL", "offset:N", "size:N", "signed:N".
            var nameFrom = -1, nameTo = -1
            var offset: Int?, size: Int?
            var p = s
            while p < e {
                var q = p
                while q < e && b[q] != UInt8(ascii: ";") { q += 1 }
                var a = p
                while a < q && isBlank(b[a]) { a += 1 }
                if starts(b, a, q, with: "field:") {
                    // The name is the declaration's last blank-separated word, up to any '['.
                    var z = q
                    while z > a + 6 && isBlank(b[z - 1]) { z -= 1 }
                    var w = z
                    while w > a + 6 && !isBlank(b[w - 1]) { w -= 1 }
                    var cut = w
                    while cut < z && b[cut] != UInt8(ascii: "[") { cut += 1 }
                    if w < z { nameFrom = w; nameTo = cut }
                } else if starts(b, a, q, with: "offset:") {
                    offset = number(b, a + 7, q)
                } else if starts(b, a, q, with: "size:") {
                    size = number(b, a + 5, q)
                }
                p = q + 1
            }
            guard let o = offset, let sz = size, nameFrom >= 0 else { continue }
            let name = String(decoding: UnsafeBufferPointer(rebasing: b[nameFrom..<nameTo]), as: UTF8.self)
            fields[name] = TraceField(offset: o, size: sz)
        }
        guard let id else { return nil }
        return (id, fields)
    }

    func field(_ name: String) throws -> TraceField {
        guard let f = fields[name] else { throw SchedError(.format, "event format lacks field \(name)") }
        return f
    }
}
#endif
