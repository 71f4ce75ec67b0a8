#if os(Linux)
@preconcurrency import Glibc
import Foundation

/// A failure to set up or run a scheduler-state source.
public struct SchedError: Error, CustomStringConvertible {
    public enum Code: Sendable { case permission, tracefs, format, io }
    public var code: Code
    public var errno: Int32
    public var message: String

    init(_ code: Code, _ message: String, errno: Int32 = 0) {
        self.code = code; self.message = message; self.errno = errno
    }

    public var description: String {
        errno == 0 ? message : "\(message): \(String(cString: strerror(errno)))"
    }
}
#endif
