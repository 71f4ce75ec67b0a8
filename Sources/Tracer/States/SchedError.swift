#if os(Linux)
@preconcurrency import Glibc

/// A failure to set up or run a scheduler-state source.
struct SchedError: Error, CustomStringConvertible {
    enum Code: Sendable { case permission, tracefs, format, io }
    var code: Code
    var errno: Int32
    var message: String

    init(_ code: Code, _ message: String, errno: Int32 = 0) {
        self.code = code; self.message = message; self.errno = errno
    }

    var description: String {
        errno == 0 ? message : "\(message): \(String(cString: strerror(errno)))"
    }
}
#endif
