import SystemPackage

/// The one way proctrace writes to standard error: unbuffered (a message is out before
/// whatever comes next, even a crash), each call one `write(2)` retried until whole.
public enum StandardError {
    /// Writes `text` as it is.
    public static func write(_ text: String) {
        _ = try? FileDescriptor.standardError.writeAll(text.utf8)
    }

    /// Writes `line` and a newline.
    public static func line(_ line: String) { write(line + "\n") }
}
