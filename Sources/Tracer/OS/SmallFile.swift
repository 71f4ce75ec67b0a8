#if os(Linux)
@preconcurrency import Glibc
import Foundation

/// Reads a small text file (tracefs, procfs) in one go; nil if it cannot be opened.
func readSmallFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var data = [UInt8]()
    var buf = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 { if errno == EINTR { continue }; return data.isEmpty ? nil : String(decoding: data, as: UTF8.self) }
        if n == 0 { break }
        data.append(contentsOf: buf[0..<n])
    }
    return String(decoding: data, as: UTF8.self)
}

/// Writes a short string to a tracefs/procfs control file.
@discardableResult
func writeSmallFile(_ path: String, _ text: String, append: Bool = false) -> Int32 {
    let fd = open(path, O_WRONLY | O_CLOEXEC | (append ? O_APPEND : O_TRUNC))
    guard fd >= 0 else { return errno }
    defer { close(fd) }
    let n = text.withCString { write(fd, $0, strlen($0)) }
    return n < 0 ? errno : 0
}
#endif
