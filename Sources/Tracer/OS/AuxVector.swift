import CProcTrace

/// The auxiliary vector the kernel puts on a new image's stack after `envp`, and shows in
/// `/proc/PID/auxv`: (type, value) pairs of 64-bit words that end with `AT_NULL`. The one
/// walker of it.
enum AuxVector {
    /// The value of entry `type`, walking the words `word(start)`, `word(start + 1)`, …; nil
    /// when the vector ends, or its words cannot be read, before such an entry.
    static func value(of type: Int32, from start: Int, word: (Int) -> UInt64?) -> UInt64? {
        var i = start
        while let key = word(i), key != UInt64(AT_NULL), let value = word(i + 1) {
            if key == UInt64(type) { return value }
            i += 2
        }
        return nil
    }

    /// The value of entry `type` in the bytes of a `/proc/PID/auxv` file.
    static func value(of type: Int32, in bytes: [UInt8]) -> UInt64? {
        bytes.withUnsafeBytes { raw in
            value(of: type, from: 0) { i in
                (i + 1) * 8 <= raw.count ? raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self) : nil
            }
        }
    }
}
