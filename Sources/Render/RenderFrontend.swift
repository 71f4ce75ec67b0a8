@preconcurrency import Glibc
import Lifecycle

/// What `proctrace render` was asked to do.
public struct RenderRequest: Sendable {
    public var trace: String
    public var tree = true
    public var timeline = true
    public var format: OutputFormat = .svg
    /// A directory (exists, or ends with `/`) or, for one picture, a file path.
    public var output: String?
    public var treeOptions = TreeOptions()
    public var timelineOptions = TimelineOptions()
    public init(trace: String) { self.trace = trace }
}

/// A failure of `proctrace render` or `export` that the CLI reports as one line.
public struct RenderFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

/// The library side of `proctrace render`: read, build DOT, lay out, write.
public enum RenderFrontend {
    /// Renders the requested pictures and returns the paths written. `progress` receives
    /// short status lines (the CLI shows them only on a terminal).
    public static func run(_ req: RenderRequest, progress: (String) -> Void = { _ in }) throws -> [String] {
        let history: ProcessHistory
        do { history = try ProcessHistory(path: req.trace) } catch { throw RenderFailure(error.description) }
        var kinds: [String] = []
        if req.tree { kinds.append("tree") }
        if req.timeline { kinds.append("timeline") }
        let paths = try outputPaths(trace: req.trace, kinds: kinds, format: req.format, output: req.output)
        var written: [String] = []
        for (kind, path) in zip(kinds, paths) {
            progress("\(kind): building DOT for \(history.processes.count) processes")
            let dot: String
            let engine: String
            if kind == "tree" {
                dot = ProcessTreeDOT.dot(history, options: req.treeOptions)
                engine = "dot"
            } else {
                dot = TimelineDOT.dot(history, options: req.timelineOptions) { f in
                    progress("timeline: \(Int(f * 100))% of lanes")
                }
                engine = "nop2"
            }
            let bytes: [UInt8]
            if req.format == .dot {
                bytes = Array(dot.utf8)
            } else {
                progress("\(kind): Graphviz layout (\(engine)) and \(req.format.rawValue) output")
                do { bytes = try GraphvizRenderer.shared.render(dot: dot, engine: engine, format: req.format) }
                catch { throw RenderFailure("\(kind): \(error.description)") }
            }
            try writeFile(path, bytes)
            written.append(path)
        }
        return written
    }

    /// `NAME.tree.svg` next to the trace, in `-o DIR`, or `-o FILE` when one picture is asked.
    public static func outputPaths(trace: String, kinds: [String], format: OutputFormat, output: String?) throws -> [String] {
        var base = trace
        if let slash = base.lastIndex(of: "/") { base = String(base[base.index(after: slash)...]) }
        for ext in [".jsonl", ".json", ".trace"] where base.hasSuffix(ext) { base = String(base.dropLast(ext.count)) }
        func named(_ dir: String, _ kind: String) -> String {
            (dir.isEmpty ? "" : (dir.hasSuffix("/") ? dir : dir + "/")) + "\(base).\(kind).\(format.fileExtension)"
        }
        guard let o = output else {
            var dir = ""
            if let slash = trace.lastIndex(of: "/") { dir = String(trace[...slash]) }
            return kinds.map { named(dir, $0) }
        }
        if o.hasSuffix("/") || isDirectory(o) {
            if !isDirectory(o) && mkdir(o, 0o755) != 0 { throw RenderFailure("\(o): cannot create directory: \(String(cString: strerror(errno)))") }
            return kinds.map { named(o, $0) }
        }
        guard kinds.count == 1 else {
            throw RenderFailure("-o \(o) names one file but \(kinds.count) pictures were asked: give a directory (ending in /) or --tree/--timeline")
        }
        return [o]
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Writes a whole file (replacing it), reporting the errno on failure.
    public static func writeFile(_ path: String, _ bytes: [UInt8]) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RenderFailure("\(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw RenderFailure("\(path): \(String(cString: strerror(errno)))")
            }
            off += n
        }
    }
}
