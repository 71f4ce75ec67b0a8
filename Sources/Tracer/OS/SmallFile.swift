import SystemPackage
@preconcurrency import Glibc

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

    /// The names in a directory (without `.` and `..`), or nil if it cannot be read.
    static func names(in path: String) -> [String]? {
        guard let dir = opendir(path) else { return nil }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
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

extension StringProtocol {
    /// Without the spaces, tabs and line ends at either end (what a number in a /proc or
    /// tracefs file is wrapped in).
    var trimmingBlanks: String {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }
        guard let first = firstIndex(where: { !blank($0) }), let last = lastIndex(where: { !blank($0) }) else { return "" }
        return String(self[first...last])
    }
}
