import Lifecycle

/// The pictures' styles of the one `TimeFormat`: spaced units for labels and axes (trace times
/// are nanoseconds); `fixed` is Lifecycle's.
extension TimeFormat {
    /// A duration with a unit chosen for its size: `850 ns`, `12.5 µs`, `3.20 ms`, `1.25 s`.
    public static func labelDuration(_ ns: Int64) -> String {
        let a = Double(ns.magnitude)
        let sign = ns < 0 ? "-" : ""
        if a < 1_000 { return "\(sign)\(ns.magnitude) ns" }
        if a < 1_000_000 { return sign + fixed(a / 1_000, a < 10_000 ? 2 : 1) + " µs" }
        if a < 1_000_000_000 { return sign + fixed(a / 1_000_000, a < 10_000_000 ? 2 : 1) + " ms" }
        return sign + fixed(a / 1_000_000_000, a < 10_000_000_000 ? 3 : 2) + " s"
    }

    /// An instant on a trace's clock, in the unit that suits the whole trace (`span`).
    public static func instant(_ ns: Int64, span: Int64) -> String {
        let (div, unit) = unit(for: span)
        let digits = span / div >= 100 ? 0 : (span / div >= 10 ? 1 : 2)
        return fixed(Double(ns) / Double(div), digits) + " " + unit
    }

    /// The divisor and unit name that suit a span of time.
    public static func unit(for span: Int64) -> (Int64, String) {
        if span >= 2_000_000_000 { return (1_000_000_000, "s") }
        if span >= 2_000_000 { return (1_000_000, "ms") }
        if span >= 2_000 { return (1_000, "µs") }
        return (1, "ns")
    }
}

/// Which processes a picture shows: subtrees of `pids`, processes whose command or argv
/// contains `match`, both when both are given, everything when neither is.
public struct ProcessFilter: Sendable {
    public var pids: [Int]
    public var match: String?
    public init(pids: [Int] = [], match: String? = nil) { self.pids = pids; self.match = match }

    public var isEmpty: Bool { pids.isEmpty && (match ?? "").isEmpty }

    /// The selected processes, in the history's (tree) order.
    public func select(_ history: ProcessHistory) -> Set<ProcessID> {
        var selected = Set(history.processes.map(\.id))
        if !pids.isEmpty {
            let wanted = Set(pids)
            var inSubtree = Set<ProcessID>()
            // Tree order puts every parent before its children.
            for p in history.processes {
                if wanted.contains(p.pid) || (p.parent.map { inSubtree.contains($0) } ?? false) { inSubtree.insert(p.id) }
            }
            selected = inSubtree
        }
        if let m = match, !m.isEmpty {
            selected = selected.filter { id in
                guard let r = history.record(for: id) else { return false }
                return r.command.contains(m) || r.execs.contains { $0.path.contains(m) }
                    || r.initialArgv.joined(separator: " ").contains(m) || r.argv.joined(separator: " ").contains(m)
            }
        }
        return selected
    }
}

/// A process's short description, shared by every view.
extension ProcessRecord {
    static func base(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        let rest = path[path.index(after: slash)...]
        return rest.isEmpty ? path : String(rest)
    }

    /// The punctuation an argument may hold and still need no quotes.
    private static let shellPlainPunctuation = Set("-_./=:,+@%".utf8)

    /// argv as a shell would print it, with quotes where needed.
    static func shellQuoted(_ argv: [String]) -> String {
        argv.map { a in
            // ASCII words (nearly all) are checked byte by byte; the Unicode check is for the rest.
            if !a.isEmpty && a.utf8.allSatisfy({ c in
                (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || shellPlainPunctuation.contains(c)
            }) { return a }
            if !a.isEmpty && a.allSatisfy({ $0.isLetter || $0.isNumber || "-_./=:,+@%".contains($0) }) { return a }
            return "'" + a.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
        }.joined(separator: " ")
    }

    /// How it ended, in a few words.
    var endSummary: String {
        switch exitStatus {
        case .exited(let c)?: return "exited \(c)"
        case .signaled(let s, let core)?: return core ? "killed by \(s) (core)" : "killed by \(s)"
        case .some(let other): return other.description
        case nil: return "still running at trace end"
        }
    }

    var wasKilled: Bool { if case .signaled? = exitStatus { return true } else { return false } }
    var exitedNonZero: Bool { if case .exited(let c)? = exitStatus { return c != 0 } else { return false } }
    var autoReaped: Bool { reapHow == .auto }
}

/// Colours shared by the tree, the timeline and their legends.
enum Palette {
    static let exitedOK = "#e8f5e9"
    static let nonZero = "#ffe0b2"
    static let killed = "#ffcdd2"
    static let alive = "#eeeeee"
    static let killedBorder = "#c62828"
    /// The critical path (`render --critical-path`): a colour no state or status uses.
    static let criticalPath = "#d81b60"
    static let orphanBorder = "#1565c0"
    static let autoBorder = "#6a1b9a"

    static let new = "#b0bec5"
    static let ready = "#ffca28"
    static let running = "#43a047"
    static let blocked = "#e57373"
    static let traced = "#7e57c2"
    /// Blocked inside a wait-family call: distinct from other blocking, it is the lesson.
    static let waiting = "#64b5f6"
    static let stopped = "#a1887f"
    static let waitingText = "#0d47a1"
    /// What a blocked stretch sleeps in, written on its red band.
    static let blockedText = "#7f1d1d"
    static let zombie = "#424242"
    static let runnable = "#9ccc65"
    static let alive_ = "#c8e6c9"
    /// State unknown (the state source stopped): hatched in these two.
    static let unknown = "#ad1457"
    static let unknownGap = "#f8bbd0"
}
