import CGraphviz
@preconcurrency import Glibc
import Synchronization

/// The picture formats `proctrace render` writes.
public enum OutputFormat: String, Sendable, CaseIterable {
    case svg, png, pdf, dot
    /// The interactive viewer (`HTMLViewer`), not a Graphviz output.
    case html

    /// The file name extension for this format.
    public var fileExtension: String { rawValue }
}

/// A failure reported by Graphviz (its `agerr` messages, captured) or by the plumbing around it.
public struct GraphvizError: Error, CustomStringConvertible, Sendable {
    /// Which step failed: `parse`, `layout` or `render`.
    public var stage: String
    /// Graphviz's own messages for this call, without the trailing newlines.
    public var messages: [String]

    public var description: String {
        let detail = messages.isEmpty ? "no message from Graphviz" : messages.joined(separator: "; ")
        return "graphviz \(stage) failed: \(detail)"
    }
}

/// Lays out and renders DOT text through libgvc, in this process (loaded at the first render:
/// `CGraphviz`).
///
/// Graphviz keeps global state (its error handler, the lexer, the plugin registry), so every
/// call is serialized on one lock and one `GVC_t` context is created once and reused.
public final class GraphvizRenderer: Sendable {
    /// The renderer of this process.
    public static let shared = GraphvizRenderer()

    private struct Context: @unchecked Sendable { let gvc: OpaquePointer }
    private let context: Mutex<Context?> = Mutex(nil)

    private init() {}

    /// Lays out `dot` with `engine` (`dot`, `nop2`, `neato`, …) and renders it as `format`.
    /// For `.dot` the result is Graphviz's laid-out DOT (with positions).
    /// Warnings Graphviz printed are returned in `warnings` rather than written to stderr.
    public func render(dot: String, engine: String, format: OutputFormat) throws(GraphvizError) -> [UInt8] {
        var warnings: [String] = []
        return try render(dot: dot, engine: engine, format: format, warnings: &warnings)
    }

    /// As `render(dot:engine:format:)`, also handing back Graphviz's warnings.
    public func render(dot: String, engine: String, format: OutputFormat,
                       warnings: inout [String]) throws(GraphvizError) -> [UInt8] {
        var dot = dot
        return try render(dot: &dot, engine: engine, format: format, warnings: &warnings) { Array($0.bindMemory(to: UInt8.self)) }
    }

    /// Renders `dot` and hands Graphviz's output to `output`, which makes the result from it
    /// (the bytes are Graphviz's, `output` may change them in place, and they are gone once it
    /// returns). `dot` is emptied once Graphviz has read it: a big picture's DOT (27 MB for
    /// 10,000 lanes) need not live through its layout. With `release` false the graph is not
    /// freed: for the last picture of a process about to exit, whose memory the kernel takes
    /// back at once (freeing a 10,000-lane timeline's graph cost 0.3 s of CPU, handing its pages
    /// back 0.1 s more).
    public func render<T>(dot: inout String, engine: String, format: OutputFormat, warnings: inout [String], release: Bool = true,
                          output: (UnsafeMutableRawBufferPointer) -> T) throws(GraphvizError) -> T {
        let result: Result<T, GraphvizError> = context.withLock { ctx in
            if ctx == nil {
                guard let gvc = Self.makeContext() else {
                    return .failure(GraphvizError(stage: "load", messages: [String(cString: pt_gv_load_error())]))
                }
                ctx = Context(gvc: gvc)
            }
            let gvc = ctx!.gvc
            ErrorSink.begin()
            defer { warnings = ErrorSink.end() }

            let graph: UnsafeMutablePointer<Agraph_t>? = dot.withCString { pt_agmemread($0) }
            dot = ""
            guard let graph else {
                return .failure(GraphvizError(stage: "parse", messages: ErrorSink.messages()))
            }
            var closed = false
            defer { if !closed { pt_agclose(graph) } }
            if format == .png {
                // Cairo bitmaps stop at 32767 px; past that Graphviz scales down and prints a
                // warning to stderr itself. Ask for the scaling up front instead (inches, at
                // most: smaller pictures are not enlarged).
                func c(_ s: String) -> UnsafeMutablePointer<CChar> { strdup(s)! }
                let name = c("size"), value = c("300,300"), empty = c("")
                defer { free(name); free(value); free(empty) }
                let current = pt_agget(graph, name).map { String(cString: $0) } ?? ""
                if current.isEmpty { _ = pt_agsafeset(graph, name, value, empty) }
            }
            guard pt_gvLayout(gvc, graph, engine) == 0 else {
                return .failure(GraphvizError(stage: "layout (\(engine))", messages: ErrorSink.messages()))
            }
            var freed = false
            defer { if !freed { pt_gvFreeLayout(gvc, graph) } }
            // Into a memory stream, not gvRenderData: that buffer grows a page at a time, each
            // growth a realloc (mremap) of all of it, which took a tenth of a 48 MB timeline's time.
            var data: UnsafeMutablePointer<CChar>? = nil
            var length = 0
            guard let stream = open_memstream(&data, &length) else {
                let reason = "open_memstream: \(String(cString: strerror(errno)))"
                return .failure(GraphvizError(stage: "render (\(format.rawValue))", messages: [reason]))
            }
            let rendered = pt_gvRender(gvc, graph, format.rawValue, stream)
            fclose(stream)
            defer { free(data) }
            guard rendered == 0, let data else {
                return .failure(GraphvizError(stage: "render (\(format.rawValue))", messages: ErrorSink.messages()))
            }
            if release {
                // The graph is freed before `output` makes a copy: the two need not coexist.
                pt_gvFreeLayout(gvc, graph); freed = true
                pt_agclose(graph); closed = true
                // Hand the graph's pages back (it is made of small blocks the next big buffer
                // cannot reuse), so that they do not count twice in the peak.
                _ = malloc_trim(0)  // glibc: gives free heap pages back (declared through CGraphviz's header)
            } else {
                freed = true; closed = true   // left to the process's exit
            }
            return .success(output(UnsafeMutableRawBufferPointer(start: data, count: length)))
        }
        return try result.get()
    }

    /// Loads Graphviz (nil when it cannot be: `pt_gv_load_error` says why) and makes its context.
    private static func makeContext() -> OpaquePointer? {
        guard pt_gv_load() == 0 else { return nil }
        // Route agerr through our sink from the start, warnings included.
        _ = pt_agseterrf(ErrorSink.callback)
        _ = pt_agseterr(AGWARN)
        guard let gvc = pt_gvContext() else { fatalError("gvContext() returned NULL: libgvc is unusable") }
        return gvc
    }
}

/// Collects what Graphviz reports through `agerr` during one render (the renderer's lock is
/// held for the whole render, so one buffer is enough).
private enum ErrorSink {
    static let buffer = Mutex<[String]>([])

    static let callback: agusererrf = { message in
        guard let message else { return 0 }
        let text = String(cString: message)
        buffer.withLock { lines in
            // Graphviz sends one message in pieces (AGPREV continuations): glue them back.
            if let last = lines.last, !last.hasSuffix("\n") {
                lines[lines.count - 1] = last + text
            } else {
                lines.append(text)
            }
        }
        return 0
    }

    static func begin() {
        _ = pt_agreseterrors()
        buffer.withLock { $0.removeAll() }
    }

    static func messages() -> [String] {
        buffer.withLock { lines in
            lines.map { $0.trimmingSuffix("\n") }.filter { !$0.isEmpty }
        }
    }

    static func end() -> [String] {
        let m = messages()
        buffer.withLock { $0.removeAll() }
        return m
    }
}

extension String {
    func trimmingSuffix(_ suffix: Character) -> String {
        var s = Substring(self)
        while s.last == suffix { s = s.dropLast() }
        return String(s)
    }
}
