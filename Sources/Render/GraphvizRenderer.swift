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

/// Lays out and renders DOT text through libgvc, in this process.
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
        let result: Result<[UInt8], GraphvizError> = context.withLock { ctx in
            if ctx == nil { ctx = Context(gvc: Self.makeContext()) }
            let gvc = ctx!.gvc
            ErrorSink.begin()
            defer { warnings = ErrorSink.end() }

            let graph: UnsafeMutablePointer<Agraph_t>? = dot.withCString { agmemread($0) }
            guard let graph else {
                return .failure(GraphvizError(stage: "parse", messages: ErrorSink.messages()))
            }
            defer { agclose(graph) }
            if format == .png {
                // Cairo bitmaps stop at 32767 px; past that Graphviz scales down and prints a
                // warning to stderr itself. Ask for the scaling up front instead (inches, at
                // most: smaller pictures are not enlarged).
                func c(_ s: String) -> UnsafeMutablePointer<CChar> { strdup(s)! }
                let name = c("size"), value = c("300,300"), empty = c("")
                defer { free(name); free(value); free(empty) }
                let current = agget(graph, name).map { String(cString: $0) } ?? ""
                if current.isEmpty { _ = agsafeset(graph, name, value, empty) }
            }
            guard gvLayout(gvc, graph, engine) == 0 else {
                return .failure(GraphvizError(stage: "layout (\(engine))", messages: ErrorSink.messages()))
            }
            defer { gvFreeLayout(gvc, graph) }
            var data: UnsafeMutablePointer<CChar>? = nil
            var length: UInt32 = 0
            guard gvRenderData(gvc, graph, format.rawValue, &data, &length) == 0, let data else {
                return .failure(GraphvizError(stage: "render (\(format.rawValue))", messages: ErrorSink.messages()))
            }
            defer { gvFreeRenderData(data) }
            let bytes = UnsafeRawBufferPointer(start: data, count: Int(length))
            return .success([UInt8](bytes))
        }
        return try result.get()
    }

    private static func makeContext() -> OpaquePointer {
        // Route agerr through our sink from the start, warnings included.
        _ = agseterrf(ErrorSink.callback)
        _ = agseterr(AGWARN)
        guard let gvc = gvContext() else { fatalError("gvContext() returned NULL: libgvc is unusable") }
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
        _ = agreseterrors()
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
