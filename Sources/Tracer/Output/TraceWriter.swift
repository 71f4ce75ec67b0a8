@preconcurrency import Glibc
import Lifecycle
import Synchronization

/// Where and why writing the trace stopped (a full disk, a closed pipe).
public struct WriteFailure: Sendable, Equatable {
    /// errno of the failed write(2).
    public var errno: Int32
    /// Whole lines in the file: the trace stops after this line.
    public var lines: Int
    /// The `t` of the last whole line.
    public var lastT: Int64
}

/// Writes trace lines to a file as they happen: one `write(2)` per line, so a killed
/// tracer leaves a valid prefix. Safe to call from the ptrace thread and the reap watcher;
/// times are kept non-decreasing in file order. If a write fails (disk full), the file is cut
/// back to its last whole line and nothing more is written: later events count as lost.
final class TraceWriter: Sendable {
    private struct State {
        var lastT: Int64 = 0
        var lastWrittenT: Int64 = 0
        var lines = 0
        var lost = 0
        var bytes: Int64 = 0
        var failure: WriteFailure?
    }
    private let fd: Int32
    let path: String
    /// The trace goes to standard output (`-o -`).
    let toStdout: Bool
    private let state = Mutex(State())

    /// Opens `path` for a new trace (`-` is standard output). Refuses to replace an existing
    /// file unless `force`.
    init(path: String, force: Bool) throws(RecordError) {
        if path == "-" {
            self.fd = 1
            self.path = "standard output"
            self.toStdout = true
            return
        }
        toStdout = false
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
    /// Set once a write has failed.
    var failure: WriteFailure? { state.withLock { $0.failure } }
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
            if s.failure == nil {
                var err: Int32 = 0
                w.bytes.withUnsafeBytes { buf in
                    var off = 0
                    while off < buf.count {
                        let n = Glibc.write(fd, buf.baseAddress! + off, buf.count - off)
                        if n < 0 {
                            if errno == EINTR { continue }
                            err = errno
                            return
                        }
                        off += n
                    }
                }
                if err != 0 {
                    // A part of a line may have reached the file: cut it back to the last
                    // whole line, so the trace stays a valid (incomplete) prefix.
                    if !toStdout { _ = ftruncate(fd, off_t(s.bytes)) }
                    s.failure = WriteFailure(errno: err, lines: s.lines, lastT: s.lastWrittenT)
                    let msg = "proctrace: writing \(path) failed: \(String(cString: strerror(err))); the trace stops after line \(s.lines), later events are counted as lost\n"
                    _ = msg.withCString { Glibc.write(2, $0, strlen($0)) }
                } else {
                    s.bytes += Int64(w.bytes.count)
                    s.lastWrittenT = s.lastT
                }
            }
            if s.failure != nil { s.lost += events.count } else { s.lines += events.count }
        }
    }

    func close() { if !toStdout { _ = Glibc.close(fd) } }
}

/// A failure of `proctrace record` itself (not of the workload, whose status is data).
public struct RecordError: Error, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
