#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func getpidSafe() -> Int32 { getpid() }

func writeFile(_ path: String, _ text: String) throws {
    guard let f = fopen(path, "w") else { throw TestError("cannot write \(path)") }
    _ = text.utf8CString.withUnsafeBufferPointer { fputs($0.baseAddress!, f) }
    fclose(f)
}

func removeFile(_ path: String) { unlink(path) }

struct TestError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// Runs a program and returns its exit status and standard output.
func run(_ argv: [String]) throws -> (status: Int32, stdout: String) {
    let out = "/tmp/proctrace-test-out-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    defer { unlink(out) }
    let cmd = argv.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ") + " >\(out) 2>&1"
    let rc = system(cmd)
    guard let f = fopen(out, "r") else { throw TestError("no output file") }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buf, 1, buf.count, f)
        if n <= 0 { break }
        bytes.append(contentsOf: buf[0..<n])
    }
    let status = (rc >> 8) & 0xFF
    return (status, String(decoding: bytes, as: UTF8.self))
}

extension String {
    func replacingOccurrences(of a: String, with b: String) -> String {
        split(separator: a, omittingEmptySubsequences: false).joined(separator: b)
    }
}
