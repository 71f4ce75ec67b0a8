@preconcurrency import Glibc
import Lifecycle
import Synchronization

/// Writes trace lines to a file as they happen: one `write(2)` per line, so a killed
/// tracer leaves a valid prefix. Safe to call from the ptrace thread and the reap watcher;
/// times are kept non-decreasing in file order.
final class TraceWriter: Sendable {
    private struct State {
        var lastT: Int64 = 0
        var lines = 0
        var lost = 0
        var failed: Int32 = 0
    }
    private let fd: Int32
    let path: String
    private let state = Mutex(State())

    /// Opens `path` for a new trace. Refuses to replace an existing file unless `force`.
    init(path: String, force: Bool) throws(RecordError) {
        var flags = O_WRONLY | O_CREAT | O_CLOEXEC
        flags |= force ? O_TRUNC : O_EXCL
        let fd = open(path, flags, 0o644)
        if fd < 0 {
            let e = errno
            if e == EEXIST {
                throw RecordError("\(path): already exists; choose another -o or pass --force to replace it")
            }
            throw RecordError("\(path): cannot create the trace: \(String(cString: strerror(e)))")
        }
        self.fd = fd
        self.path = path
    }

    /// Lines written so far (the `end` line's `events` counts every line before it).
    var lineCount: Int { state.withLock { $0.lines } }
    var lostCount: Int { state.withLock { $0.lost } }
    func countLost(_ n: Int) { state.withLock { $0.lost += n } }

    /// Appends one event.
    func write(_ event: TraceEvent) { write([event]) }

    /// Appends events with one `write(2)`. Times are raised to the previous line's when
    /// another thread's observation ran behind, so they never decrease in the file.
    func write(_ events: [TraceEvent]) {
        guard !events.isEmpty else { return }
        state.withLock { s in
            var w = JSONWriter()
            for var e in events {
                if e.t < s.lastT { e.t = s.lastT }
                s.lastT = e.t
                w.write(.object(e.jsonObject))
                w.bytes.append(0x0A)
            }
            if s.failed == 0 {
                let ok = w.bytes.withUnsafeBytes { buf -> Bool in
                    var off = 0
                    while off < buf.count {
                        let n = Glibc.write(fd, buf.baseAddress! + off, buf.count - off)
                        if n < 0 {
                            if errno == EINTR { continue }
                            return false
                        }
                        off += n
                    }
                    return true
                }
                if !ok {
                    s.failed = errno
                    let msg = "proctrace: writing \(path) failed: \(String(cString: strerror(errno))); later events are counted as lost\n"
                    _ = msg.withCString { Glibc.write(2, $0, strlen($0)) }
                }
            }
            if s.failed != 0 { s.lost += events.count } else { s.lines += events.count }
        }
    }

    func close() { _ = Glibc.close(fd) }
}

/// A failure of `proctrace record` itself (not of the workload, whose status is data).
public struct RecordError: Error, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
