#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SystemPackage

/// A trace that cannot be read: the file, the 1-based line (0 when the file itself could not
/// be opened or read, as opposed to a malformed line),
/// and what is wrong. Prints as `FILE:LINE: message`, the form editors jump to.
public struct TraceReadError: Error, Equatable, Sendable, CustomStringConvertible {
    public var path: String
    public var line: Int
    public var message: String
    /// The input is not a proctrace trace at all (empty, no header, another schema): nothing
    /// in it can be trusted, so no reader goes on past this.
    public var notATrace: Bool
    public init(path: String, line: Int, message: String, notATrace: Bool = false) {
        self.path = path; self.line = line; self.message = message; self.notATrace = notATrace
    }
    /// The file could not be opened or read (rather than holding a malformed line).
    public var isFileError: Bool { line == 0 && !notATrace }
    /// `FILE:LINE: message`, with control characters escaped (a file name or a quoted bad line
    /// may hold terminal escapes).
    public var description: String {
        TerminalText.escape(line > 0 ? "\(path):\(line): \(message)" : "\(path): \(message)")
    }
}

/// Streams a proctrace/1 JSONL trace one event at a time. The file is read in large chunks
/// and split on `\n`; memory stays at one chunk plus the longest line, whatever the trace's
/// length. Unknown event types and fields are kept (`EventKind.unknown`, `extra`).
///
/// A final line without its `\n` that does not parse is what a killed tracer leaves: it is
/// skipped and reported through `truncatedLine` rather than thrown.
///
/// A reader opened on a path (every command's way in) insists that the first line is a
/// proctrace/1 header: an empty file, garbage or another format is refused with
/// `FILE: not a proctrace trace` rather than read as a trace of nothing. `-` is standard input.
public final class TraceReader {
    /// The path as given, `<stdin>` for `-` (used in error messages).
    public let path: String
    /// The path that names standard input.
    public static let stdinPath = "-"
    /// The first line must be a `trace` header with schema proctrace/1.
    public var requiresHeader: Bool
    /// The 1-based line number of the event last returned by `next()`.
    public private(set) var line = 0
    /// True once an `end` event has been read.
    public private(set) var sawEnd = false
    /// True once the whole file has been read.
    public private(set) var atEOF = false
    /// The line number of a cut-off last line that was skipped, if any.
    public private(set) var truncatedLine: Int?
    /// Bytes consumed so far (for progress reports).
    public private(set) var bytesConsumed = 0

    /// A trace read to its end without an `end` event: usable, but the recording was cut short.
    public var incomplete: Bool { atEOF && !sawEnd }

    private var fd: Int32 = -1
    private var buffer: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var start = 0   // first unconsumed byte
    private var filled = 0  // end of valid bytes
    private var fileDone = false

    /// Chunk size: large enough that read(2) calls are rare, small enough to stay in cache-ish.
    public static let chunkSize = 1 << 20

    /// Opens a trace file (`-`: standard input) for streaming. `requiresHeader`: refuse
    /// anything whose first line is not a proctrace/1 header (off only for tests of fragments).
    public init(path: String, requiresHeader: Bool = true) throws(TraceReadError) {
        self.path = path == TraceReader.stdinPath ? "<stdin>" : path
        self.requiresHeader = requiresHeader
        let fd = path == TraceReader.stdinPath ? fcntl(0, F_DUPFD_CLOEXEC, 0) : open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let err = String(cString: strerror(errno))
            throw TraceReadError(path: self.path, line: 0, message: path == TraceReader.stdinPath ? "cannot read " +
                "standard input: \(err)" : "cannot open: \(err)")
        }
        self.fd = fd
        capacity = TraceReader.chunkSize
        buffer = .allocate(capacity: capacity)
    }

    /// Reads a trace held in memory (tests, pipes already drained).
    public init(bytes: [UInt8], name: String = "<memory>", requiresHeader: Bool = false) {
        path = name
        self.requiresHeader = requiresHeader
        capacity = max(bytes.count, 1)
        buffer = .allocate(capacity: capacity)
        bytes.withUnsafeBufferPointer { b in
            if let p = b.baseAddress { buffer.update(from: p, count: b.count) }
        }
        filled = bytes.count
        fileDone = true
    }

    /// Reads a trace held in a string.
    public convenience init(text: String, name: String = "<memory>", requiresHeader: Bool = false) {
        self.init(bytes: Array(text.utf8), name: name, requiresHeader: requiresHeader)
    }

    deinit {
        if fd >= 0 { close(fd) }
        buffer.deallocate()
    }

    /// The next line's bytes (without `\n`), or nil at the end of the file. `isLast` tells
    /// whether the line was cut off without its newline.
    private func nextLine() throws(TraceReadError) -> (UnsafeBufferPointer<UInt8>, terminated: Bool)? {
        while true {
            if start < filled {
                let avail = filled - start
                if let nl = memchr(buffer + start, 0x0A, avail) {
                    let p = nl.assumingMemoryBound(to: UInt8.self)
                    let len = p - (buffer + start)
                    let line = UnsafeBufferPointer(start: UnsafePointer(buffer + start), count: len)
                    start += len + 1
                    bytesConsumed += len + 1
                    return (line, true)
                }
            }
            if fileDone {
                if start < filled {
                    let line = UnsafeBufferPointer(start: UnsafePointer(buffer + start), count: filled - start)
                    bytesConsumed += filled - start
                    start = filled
                    return (line, false)
                }
                return nil
            }
            try refill()
        }
    }

    /// Moves the unconsumed tail to the front, grows the buffer if one line fills it, reads more.
    private func refill() throws(TraceReadError) {
        let tail = filled - start
        if start > 0 {
            if tail > 0 { memmove(buffer, buffer + start, tail) }
            start = 0
            filled = tail
        }
        if filled == capacity {
            let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity * 2)
            bigger.update(from: buffer, count: filled)
            buffer.deallocate()
            buffer = bigger
            capacity *= 2
        }
        let n: Int
        do {
            n = try FileDescriptor(rawValue: fd).read(into: UnsafeMutableRawBufferPointer(start: buffer + filled, count: capacity - filled))
        } catch {
            throw TraceReadError(path: path, line: 0, message: line == 0 ? "cannot read: \(error)" : "read failed after line \(line): \(error)")
        }
        if n == 0 { fileDone = true; close(fd); fd = -1 }
        filled += n
    }

    /// The next line parsed as a JSON object, or nil at the end of the file.
    public func nextObject() throws(TraceReadError) -> JSONObject? {
        guard let (bytes, terminated) = try nextLine() else { atEOF = true; return nil }
        line += 1
        do {
            return try JSONLineParser.parseObject(bytes)
        } catch {
            if !terminated {
                // A cut-off last line: the prefix before it is a valid (incomplete) trace.
                truncatedLine = line
                atEOF = true
                return nil
            }
            throw TraceReadError(path: path, line: line, message: error.description)
        }
    }

    /// The next event, or nil at the end of the file. Throws on a malformed line, and on a
    /// first line that is not a proctrace/1 header when `requiresHeader`.
    public func next() throws(TraceReadError) -> TraceEvent? {
        if requiresHeader && line == 0 { return try header() }
        guard let o = try nextObject() else { return nil }
        do {
            let e = try TraceEvent(json: o)
            if case .end = e.kind { sawEnd = true }
            return e
        } catch {
            throw TraceReadError(path: path, line: line, message: error.message)
        }
    }

    /// The first event, which must be the header: anything else is not a trace.
    private func header() throws(TraceReadError) -> TraceEvent {
        func refuse(_ why: String, line: Int = 1) -> TraceReadError {
            TraceReadError(path: path, line: line, message: "not a proctrace trace (\(why))", notATrace: true)
        }
        let object: JSONObject?
        do { object = try nextObject() } catch { throw error.isFileError ? error : refuse(error.message) }
        guard let o = object else {
            if truncatedLine != nil { throw refuse("the only line is cut off and is not JSON") }
            throw refuse("empty file", line: 0)
        }
        guard o["type"]?.string == "trace" else {
            let found = o["type"]?.string.map { "an event of type \"\($0)\"" } ?? "an object without \"type\""
            throw refuse("the first line must be the \"trace\" header; it is \(found)")
        }
        let e: TraceEvent
        do { e = try TraceEvent(json: o) } catch { throw refuse("a broken header: \(error.message)") }
        if case let .trace(schema, _, _, _, _, _, _, _, _, _, _) = e.kind, schema != "proctrace/1" {
            throw refuse("schema \"\(schema)\"; this proctrace reads proctrace/1")
        }
        return e
    }

    /// Reads every remaining event (for small traces and tests), with their line numbers.
    public func readAll() throws(TraceReadError) -> [(line: Int, event: TraceEvent)] {
        var out: [(line: Int, event: TraceEvent)] = []
        while let e = try next() { out.append((line, e)) }
        return out
    }
}
