@preconcurrency import Glibc
import Lifecycle
import Synchronization
import SystemPackage

/// Where and why writing the trace stopped (a full disk, a closed pipe).
public struct WriteFailure: Sendable, Equatable {
    /// errno of the failed write(2).
    public var errno: Int32
    /// Whole lines in the file: the trace stops after this line.
    public var lines: Int
    /// The `t` of the last whole line.
    public var lastT: Int64
}

/// Writes trace lines to a file as they happen: one `write(2)` per batch of whole lines, so a killed
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
        /// The lines of one write, encoded into storage kept from write to write.
        var encoder = TraceLineEncoder()
    }
    private let fd: FileDescriptor
    let path: String
    /// The trace goes to standard output (`-o -`).
    let toStdout: Bool
    private let state = Mutex(State())

    /// Opens `path` for a new trace (`-` is standard output). Refuses to replace an existing
    /// file unless `force`.
    init(path: String, force: Bool) throws(RecordError) {
        if path == "-" {
            self.fd = .standardOutput
            self.path = "standard output"
            self.toStdout = true
            return
        }
        toStdout = false
        do {
            fd = try FileDescriptor.open(FilePath(path), .writeOnly,
                                         options: [.create, .closeOnExec, force ? .truncate : .exclusiveCreate],
                                         permissions: [.ownerReadWrite, .groupRead, .otherRead])
        } catch Errno.fileExists {
            throw RecordError("\(path): already exists; choose another -o or pass --force to replace it")
        } catch {
            throw RecordError("\(path): cannot create the trace: \(error)")
        }
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
            s.encoder.reset()
            for i in events.indices {
                let t = max(events[i].t, s.lastT)
                s.lastT = t
                s.encoder.append(events[i], t: t)
            }
            if s.failure == nil {
                let count = s.encoder.bytes.count
                if let err = s.encoder.bytes.withUnsafeBytes({ writeAll($0) }) {
                    // A part of a line may have reached the file: cut it back to the last
                    // whole line, so the trace stays a valid (incomplete) prefix.
                    if !toStdout { try? fd.resize(to: s.bytes) }
                    s.failure = WriteFailure(errno: err.rawValue, lines: s.lines, lastT: s.lastWrittenT)
                    let msg = "proctrace: writing \(path) failed: \(err); the trace stops after line \(s.lines), " +
                        "later events are counted as lost\n"
                    StandardError.write(msg)
                } else {
                    s.bytes += Int64(count)
                    s.lastWrittenT = s.lastT
                }
            }
            if s.failure != nil { s.lost += events.count } else { s.lines += events.count }
        }
    }

    /// Writes the whole buffer (write(2) may take part of it); nil when done, else the error.
    private func writeAll(_ buffer: UnsafeRawBufferPointer) -> Errno? {
        var rest = buffer
        while !rest.isEmpty {
            do {
                let n = try fd.write(rest)   // retries EINTR
                if n <= 0 { return .ioError }
                rest = UnsafeRawBufferPointer(rebasing: rest[n...])
            } catch {
                return error as? Errno ?? .ioError
            }
        }
        return nil
    }

    func close() { if !toStdout { try? fd.close() } }
}

/// A failure of `proctrace record` itself (not of the workload, whose status is data).
public struct RecordError: Error, CustomStringConvertible {
    var message: String
    init(_ message: String) { self.message = message }
    public var description: String { message }
}
