@preconcurrency import Glibc
import Lifecycle
import SystemPackage

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
    /// The process ends after this request (the CLI): the last picture's Graphviz graph is
    /// left to the exit instead of being freed (0.4 s of CPU on a 10,000-lane timeline).
    public var exitsAfter = false
    public init(trace: String) { self.trace = trace }
}

/// A failure of `proctrace render` or `export` that the CLI reports as one line.
public struct RenderFailure: Error, CustomStringConvertible {
    public var description: String
    /// The exit status it means: 2 bad input (the trace, the options), 1 nothing to draw or
    /// a failure on the way (Graphviz, writing the file).
    public var exitCode: Int32
    public init(_ d: String, exitCode: Int32 = 1) { description = d; self.exitCode = exitCode }
}

/// The library side of `proctrace render`: read, build DOT, lay out, write.
public enum RenderFrontend {
    /// Renders the requested pictures and returns the paths written. `progress` receives
    /// short status lines (the CLI shows them only on a terminal).
    public static func run(_ req: RenderRequest, progress: (String) -> Void = { _ in }) throws -> [String] {
        let history: ProcessHistory
        do { history = try ProcessHistory(path: req.trace) } catch { throw RenderFailure(error.description, exitCode: 2) }
        return try run(req, history: consume history, progress: progress)
    }

    /// Renders the requested pictures of a history already read. `warning` receives what the
    /// user should know about the selection (a `--pids` pid that is not in the trace).
    /// The history is given up once the DOT is built: Graphviz's graph of a big picture and
    /// the history need not be in memory together (a 10,000-lane timeline: 100 MB + 200 MB).
    public static func run(_ req: RenderRequest, history: consuming ProcessHistory, progress: (String) -> Void = { _ in },
                           warning: (String) -> Void = { _ in }) throws -> [String] {
        for w in try checkSelection(req, history) { warning(w) }
        var kinds: [String] = []
        if req.tree { kinds.append("tree") }
        if req.timeline { kinds.append("timeline") }
        let paths = try outputPaths(trace: req.trace, kinds: kinds, format: req.format, output: req.output)
        var dots: [(dot: String, engine: String)] = []
        for kind in kinds {
            progress("\(kind): building DOT for \(history.processes.count) processes")
            if kind == "tree" {
                dots.append((ProcessTreeDOT.dot(history, options: req.treeOptions), "dot"))
            } else {
                dots.append((TimelineDOT.dot(history, options: req.timelineOptions) { f in
                    progress("timeline: \(Int(f * 100))% of lanes")
                }, "nop2"))
            }
        }
        _ = consume history
        var written: [String] = []
        for (kind, path) in zip(kinds, paths) {
            var dot = ""
            swap(&dot, &dots[written.count].dot)
            let engine = dots[written.count].engine
            var size: PictureSize?
            if req.format == .dot {
                try writeFile(path, Array(dot.utf8))
            } else {
                progress("\(kind): Graphviz layout (\(engine)) and \(req.format.rawValue) output")
                // Written from Graphviz's own buffer, the timeline's SVG slimmed in place: no copy.
                let slim = kind == "timeline" && req.format == .svg
                let last = req.exitsAfter && written.count == kinds.count - 1
                var warnings: [String] = []
                var failure: (any Error)?
                do {
                    size = try GraphvizRenderer.shared.render(dot: &dot, engine: engine, format: req.format, warnings: &warnings,
                                                              release: !last) { out in
                        let bytes = UnsafeRawBufferPointer(rebasing: out[0..<(slim ? TimelineDOT.slim(svg: out) : out.count)])
                        do { try writeFile(path, bytes) } catch { failure = error }
                        return PictureSize(Array(bytes.prefix(4096)), format: req.format)
                    }
                } catch { throw RenderFailure("\(kind): \(error.description)") }
                if let failure { throw failure }
            }
            written.append(path)
            if let size, size.tooBigToRead {
                warning("\(path) is \(size): too big to read as one picture (more than \(Int(PictureSize.readable)) pt on a side at the size "
                        + "its text is legible); zoom into it, narrow it with --pids, --match or --from/--to, or open the interactive "
                        + "viewer: proctrace render \(req.trace) -f html")
            }
        }
        return written
    }

    /// Writes the interactive viewer (`-f html`): one self-contained file, `NAME.html` beside
    /// the trace, in `-o DIR`, or `-o FILE`. `stream` is the same trace folded as `replay --at`
    /// folds it (`ProcessHistory(path:observe:)` reads both in one pass).
    public static func runViewer(_ req: RenderRequest, history: ProcessHistory, stream: ViewerStream, options: ViewerOptions,
                                 progress: (String) -> Void = { _ in }) throws -> [String] {
        _ = try checkSelection(req, history)
        let path = try outputPaths(trace: req.trace, kinds: [""], format: .html, output: req.output)[0]
        progress("html: embedding \(history.processes.count) processes")
        let bytes = HTMLViewer.page(history, stream: stream, options: options)
        try writeFile(path, bytes)
        return [path]
    }

    /// Refuses a request that would draw nothing (a filter that matches no process, a window
    /// where no process lives, a trace without processes) instead of drawing an empty
    /// picture; returns warnings for a partly wrong one (a listed pid the trace lacks).
    public static func checkSelection(_ req: RenderRequest, _ history: ProcessHistory) throws(RenderFailure) -> [String] {
        guard !history.processes.isEmpty else { throw RenderFailure("the trace holds no process: nothing to draw") }
        var warnings: [String] = []
        let filters = [req.treeOptions.filter, req.timelineOptions.filter]
        var candidates = history.processes
        for f in filters where !f.isEmpty {
            let known = Set(history.processes.map(\.pid))
            let missing = f.pids.filter { !known.contains($0) }
            let selected = f.select(history)
            var asked: [String] = []
            if !f.pids.isEmpty { asked.append("--pids \(f.pids.map(String.init).joined(separator: ","))") }
            if let m = f.match, !m.isEmpty { asked.append("--match \"\(m)\"") }
            if selected.isEmpty {
                throw RenderFailure("no process matches \(asked.joined(separator: " ")) (the trace has " +
                    "\(history.processes.count) processes; proctrace tree lists them)")
            }
            if !missing.isEmpty { warnings.append("--pids: no process \(missing.map(String.init).joined(separator: ", ")) in the trace") }
            candidates = history.processes.filter { selected.contains($0.id) }
            break
        }
        if req.timeline {
            let o = req.timelineOptions
            let (t0, t1) = TimelineDOT.window(candidates, from: o.from, to: o.to)
            if !candidates.contains(where: { $0.lastSeen >= t0 && $0.birth <= t1 }) {
                let first = candidates.map(\.birth).min() ?? 0, last = candidates.map(\.lastSeen).max() ?? 0
                var window: [String] = []
                if let f = o.from { window.append("--from \(Lifecycle.TimeFormat.clock(f))s") }
                if let t = o.to { window.append("--to \(Lifecycle.TimeFormat.clock(t))s") }
                throw RenderFailure("no process lives in the window \(window.joined(separator: " ")) "
                                    + "(the processes drawn live from \(Lifecycle.TimeFormat.clock(first))s to " +
                                    "\(Lifecycle.TimeFormat.clock(last))s): nothing to draw")
            }
        }
        return warnings
    }

    /// The picture format: `-f` if given, else the extension of `-o FILE` (`x.png` is PNG),
    /// else SVG. A `-f` that contradicts the extension, or an extension that is not a format
    /// without `-f`, is an error rather than a PNG named `.svg`.
    public static func format(flag: String?, output: String?) throws(RenderFailure) -> OutputFormat {
        let formats = OutputFormat.allCases.map(\.rawValue).joined(separator: ", ")
        var chosen: OutputFormat?
        if let flag {
            guard let f = OutputFormat(rawValue: flag) else { throw RenderFailure("-f wants one of \(formats), not \"\(flag)\"", exitCode: 2) }
            chosen = f
        }
        guard let o = output, !o.hasSuffix("/"), !isDirectory(o) else { return chosen ?? .svg }
        let name = basename(o)
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return chosen ?? .svg }
        let ext = name[name.index(after: dot)...].lowercased()
        if let byName = OutputFormat(rawValue: ext) {
            if let chosen, chosen != byName {
                throw RenderFailure("-f \(chosen.rawValue) but -o \(o) ends in .\(ext): drop -f (the name decides) or change the name", exitCode: 2)
            }
            return byName
        }
        guard let chosen else {
            throw RenderFailure("-o \(o): .\(ext) is not a picture format proctrace writes (\(formats)); name it so or give -f", exitCode: 2)
        }
        return chosen
    }

    /// `NAME.tree.svg` next to the trace, in `-o DIR`, or `-o FILE` when one picture is asked.
    /// A trace read from standard input is named `stdin`.
    public static func outputPaths(trace: String, kinds: [String], format: OutputFormat, output: String?) throws -> [String] {
        var base = trace == TraceReader.stdinPath ? "stdin" : trace
        if let slash = base.lastIndex(of: "/") { base = String(base[base.index(after: slash)...]) }
        for ext in [".jsonl", ".json", ".trace"] where base.hasSuffix(ext) { base = String(base.dropLast(ext.count)) }
        func named(_ dir: String, _ kind: String) -> String {
            (dir.isEmpty ? "" : (dir.hasSuffix("/") ? dir : dir + "/"))
                + (kind.isEmpty ? "\(base).\(format.fileExtension)" : "\(base).\(kind).\(format.fileExtension)")
        }
        guard let o = output else {
            var dir = ""
            if trace == TraceReader.stdinPath { return kinds.map { named("", $0) } }
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

    /// Writes a whole file, reporting the errno on failure. Without `replace`, an existing
    /// file is left alone and is an error (exit 2: `--force` replaces it).
    public static func writeFile(_ path: String, _ bytes: [UInt8], replace: Bool = true) throws {
        try bytes.withUnsafeBytes { b in try writeFile(path, b, replace: replace) }
    }

    /// As `writeFile(_:_:replace:)`, from memory proctrace does not own (Graphviz's buffer).
    public static func writeFile(_ path: String, _ bytes: UnsafeRawBufferPointer, replace: Bool = true) throws {
        try writeFile(path, replace: replace) { write in try write(bytes) }
    }

    /// Writes a file piece by piece: `body` hands each piece, in order, to the function it
    /// is given (a big export never has to be in memory whole). Errors as `writeFile(_:_:replace:)`.
    public static func writeFile(_ path: String, replace: Bool = true,
                                 _ body: (_ write: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        do {
            let fd = try FileDescriptor.open(FilePath(path), .writeOnly,
                                             options: [.create, .closeOnExec, replace ? .truncate : .exclusiveCreate],
                                             permissions: [.ownerReadWrite, .groupRead, .otherRead])
            try fd.closeAfter { try body { bytes in _ = try fd.writeAll(bytes) } }
        } catch Errno.fileExists where !replace {
            throw RenderFailure("\(path) exists: give --force to replace it", exitCode: 2)
        } catch {
            throw RenderFailure("\(path): \(error)")
        }
    }
}

/// The size a rendered picture asks to be shown at (points, 1/72 in), read from its header:
/// an SVG's `width`/`height`, a PNG's pixels (Graphviz draws 96 per inch).
public struct PictureSize: Sendable, CustomStringConvertible {
    public var width: Double
    public var height: Double
    /// Longer than this on a side (about 2.5 m at the size its 10 pt text is drawn), a picture
    /// cannot be read whole: a person sees either the shape or the labels, never both.
    public static let readable = 7200.0

    public var tooBigToRead: Bool { max(width, height) > Self.readable }
    public var description: String { "\(Int(width.rounded())) × \(Int(height.rounded())) pt" }

    public init(width: Double, height: Double) { self.width = width; self.height = height }

    public init?(_ bytes: [UInt8], format: OutputFormat) {
        switch format {
        case .svg:
            // `<svg width="8967pt" height="5050pt"`, within the first few hundred bytes.
            let head = Array(bytes.prefix(4096))
            func find(_ needle: String, from: Int) -> Int? {
                let n = Array(needle.utf8)
                guard head.count >= n.count else { return nil }
                return (from...(head.count - n.count)).first { head[$0..<$0 + n.count].elementsEqual(n) }.map { $0 + n.count }
            }
            guard let svg = find("<svg", from: 0) else { return nil }
            func attribute(_ name: String) -> Double? {
                guard let start = find(" \(name)=\"", from: svg) else { return nil }
                let digits = head[start...].prefix { ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E }
                return Double(String(decoding: digits, as: UTF8.self))
            }
            guard let w = attribute("width"), let h = attribute("height") else { return nil }
            self.init(width: w, height: h)
        case .png:
            // The IHDR chunk: width and height as big-endian 32-bit integers at bytes 16–23.
            guard bytes.count >= 24, bytes[12..<16].elementsEqual("IHDR".utf8) else { return nil }
            func be32(_ i: Int) -> Double { Double(bytes[i..<i + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }) }
            self.init(width: be32(16) * 72 / 96, height: be32(20) * 72 / 96)
        default:
            return nil
        }
    }
}
