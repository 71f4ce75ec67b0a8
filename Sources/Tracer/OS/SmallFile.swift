import SystemPackage

/// Small files of the kernel's (/proc, tracefs), read whole or written in one call. The one
/// place the recorder opens, reads and writes a file by path; swift-system retries `EINTR`.
enum SmallFile {
    /// The whole content of a file, at most `limit` bytes; nil if it cannot be opened, or if
    /// its first read fails (after a later failure, what was read so far).
    static func read(_ path: String, limit: Int = 1 << 20) -> [UInt8]? {
        guard let fd = try? FileDescriptor.open(FilePath(path), .readOnly, options: .closeOnExec) else { return nil }
        defer { try? fd.close() }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while out.count < limit {
            guard let n = try? chunk.withUnsafeMutableBytes({ try fd.read(into: $0) }) else { return out.isEmpty ? nil : out }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }

    /// The whole content of a text file (invalid UTF-8 becomes U+FFFD), or nil.
    static func text(_ path: String) -> String? {
        read(path, limit: .max).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Writes `text` to a control file in one `write(2)` (a tracefs file takes each write as
    /// one command); the error, or nil.
    @discardableResult
    static func write(_ path: String, _ text: String, append: Bool = false) -> Errno? {
        do {
            let fd = try FileDescriptor.open(FilePath(path), .writeOnly,
                                             options: append ? [.closeOnExec, .append] : [.closeOnExec, .truncate])
            defer { try? fd.close() }
            _ = try Array(text.utf8).withUnsafeBytes { try fd.write($0) }
            return nil
        } catch {
            return error as? Errno ?? .ioError
        }
    }
}
