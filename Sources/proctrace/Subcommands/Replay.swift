import ArgumentParser
import Lifecycle
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

extension ProcTrace {
    struct Replay: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Play a trace back: the process tree with states, updating as events arrive.",
            discussion: """
                On a terminal the tree is redrawn in place at real speed (or --speed X); --step \
                advances one event per key press (q quits). When stdout is not a terminal, one \
                line is printed per event. --at T prints the world at instant T (seconds, or \
                with a unit: 31ms, 200us) as a pstree-style tree and a ps -ajx-style table. \
                --check replays the trace through the model and reports every recorded event \
                that disagrees with it (exit 1 if any).
                """
        )
        @Argument(help: "The trace file.") var trace: String
        @Option(help: "Playback speed factor (2 = twice as fast).") var speed: Double = 1
        @Flag(help: "Advance one event per key press.") var step = false
        @Option(name: .customLong("at"), help: "Print the world at this instant (seconds since the trace started).") var at: String?
        @Option(help: "State vocabulary: three or five.") var model: String = "five"
        @Flag(help: "Check every event against the model instead of playing.") var check = false

        func validate() throws {
            guard StateModel(rawValue: model) != nil else { throw ValidationError("--model must be three or five") }
            guard speed > 0 else { throw ValidationError("--speed must be positive") }
            if let at, TimeFormat.parseInstant(at) == nil { throw ValidationError("--at wants seconds (1.5) or a time with a unit (31ms)") }
        }

        func run() throws {
            let m = StateModel(rawValue: model) ?? .five
            do {
                if check { try runCheck() }
                else if let at { try runAt(TimeFormat.parseInstant(at)!, m) }
                else if LifecycleCLI.stdoutIsTerminal { try ReplayTerminal(path: trace, model: m, speed: speed, step: step).run() }
                else { try runLines(m) }
            } catch let e as TraceReadError {
                LifecycleCLI.flush()
                LifecycleCLI.stderr(e.description)
                throw ExitCode(2)
            }
        }

        func runCheck() throws {
            let report = try TraceValidator.check(path: trace)
            for line in report.formatted { print(line) }
            LifecycleCLI.flush()
            let n = report.violations.count
            LifecycleCLI.stderr("\(trace): replayed \(report.lines) events, \(report.processes) processes: \(n == 0 ? "no disagreement with the model" : "\(n) disagreement\(n == 1 ? "" : "s")")")
            if n > 0 { throw ExitCode(1) }
        }

        func runAt(_ t: Int64, _ m: StateModel) throws {
            let table = try ProcessTable.at(t, path: trace)
            let view = ReplayView(model: m, source: table.source, style: Style(enabled: LifecycleCLI.colorByDefault))
            LifecycleCLI.write(view.snapshot(table))
        }

        /// Not a terminal: one line per event, as fast as it can be read.
        func runLines(_ m: StateModel) throws {
            let reader = try TraceReader(path: trace)
            var table = ProcessTable()
            var view = ReplayView(model: m, source: .none)
            var out = ""
            out.reserveCapacity(1 << 16)
            while let e = try reader.next() {
                if case .trace = e.kind {} else { view.source = table.source }
                out += view.eventLine(e, before: table) + "\n"
                table.apply(e, line: reader.line)
                if case .trace = e.kind { view.source = table.source }
                if out.utf8.count > 60_000 { LifecycleCLI.write(out); out = "" }
            }
            LifecycleCLI.write(out)
            if reader.incomplete { LifecycleCLI.flush(); LifecycleCLI.stderr("\(trace): incomplete trace (no end line)") }
        }
    }
}

// MARK: - The live terminal mode

/// Saved terminal settings, restored on exit and from the SIGINT handler (which may only
/// use async-signal-safe calls: tcsetattr and write are).
nonisolated(unsafe) private var savedTermios = termios()
nonisolated(unsafe) private var termiosSaved = false

private func restoreTerminal() {
    if termiosSaved { _ = tcsetattr(0, TCSANOW, &savedTermios) }
    let showCursor: StaticString = "\u{1B}[?25h"
    _ = write(1, showCursor.utf8Start, showCursor.utf8CodeUnitCount)
}

private func monotonicNanos() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}

/// Redraws the tree in place with ANSI escapes while events are applied at trace speed.
struct ReplayTerminal {
    let path: String
    let model: StateModel
    let speed: Double
    let step: Bool

    func run() throws {
        let reader = try TraceReader(path: path)
        var table = ProcessTable()
        var log: [String] = []
        signal(SIGINT) { _ in restoreTerminal(); _exit(130) }
        signal(SIGTERM) { _ in restoreTerminal(); _exit(143) }
        if step { enterRawMode() }
        LifecycleCLI.write("\u{1B}[?25l")
        defer { restoreTerminal(); signal(SIGINT, SIG_DFL); signal(SIGTERM, SIG_DFL) }

        var pending = try reader.next()
        var index = 0
        let start = monotonicNanos()
        var lastDraw: Int64 = 0
        var shownTime: Int64 = 0
        while let e = pending {
            if step {
                draw(table, log: log, clock: table.now, index: index)
                if readKey() == UInt8(ascii: "q") { return }
            } else {
                let due = start + Int64(Double(e.t) / speed)
                let now = monotonicNanos()
                if now < due {
                    shownTime = Int64(Double(now - start) * speed)
                    table.advance(to: shownTime)
                    draw(table, log: log, clock: shownTime, index: index)
                    lastDraw = now
                    let nap = min(due - now, 50_000_000)
                    var ts = timespec(tv_sec: Int(nap / 1_000_000_000), tv_nsec: Int(nap % 1_000_000_000))
                    nanosleep(&ts, nil)
                    continue
                }
            }
            let view = ReplayView(model: model, source: table.source)
            log.append(view.eventLine(e, before: table))
            if log.count > 8 { log.removeFirst(log.count - 8) }
            table.apply(e, line: reader.line)
            index += 1
            pending = try reader.next()
            if !step, monotonicNanos() - lastDraw > 33_000_000 {
                draw(table, log: log, clock: table.now, index: index)
                lastDraw = monotonicNanos()
            }
        }
        draw(table, log: log, clock: table.now, index: index, done: true)
    }

    func draw(_ table: ProcessTable, log: [String], clock: Int64, index: Int, done: Bool = false) {
        let view = ReplayView(model: model, source: table.source, style: Style(enabled: getenv("NO_COLOR") == nil))
        var rows = termRows()
        var o = "\u{1B}[H\u{1B}[J"
        let status = done ? "done" : (step ? "step: any key = next event, q = quit" : "speed \(speed)x, ctrl-c to stop")
        o += "\u{1B}[1m\(TimeFormat.clock(clock))s\u{1B}[0m  event \(index)  \(table.processes.count) processes  \u{1B}[2m\(status)\u{1B}[0m\n\n"
        rows -= 3 + log.count + 1
        let tree = view.tree(table)
        for (i, l) in tree.enumerated() {
            if i >= max(rows, 1) { o += "… \(tree.count - i) more\n"; break }
            o += l + "\n"
        }
        o += "\n\u{1B}[2m" + log.joined(separator: "\n") + "\u{1B}[0m\n"
        LifecycleCLI.write(o)
        LifecycleCLI.flush()
    }

    func termRows() -> Int {
        var ws = winsize()
        if ioctl(1, UInt(TIOCGWINSZ), &ws) == 0, ws.ws_row > 0 { return Int(ws.ws_row) }
        return 24
    }

    /// Raw mode on stdin: one key at a time, no echo. Restored by `restoreTerminal`.
    func enterRawMode() {
        guard isatty(0) == 1, tcgetattr(0, &savedTermios) == 0 else { return }
        termiosSaved = true
        var raw = savedTermios
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO)
        raw.c_cc.6 = 1  // VMIN
        raw.c_cc.5 = 0  // VTIME
        _ = tcsetattr(0, TCSANOW, &raw)
    }

    func readKey() -> UInt8 {
        var b: UInt8 = 0
        while true {
            let n = read(0, &b, 1)
            if n == 1 { return b }
            if n == 0 { return UInt8(ascii: "q") }
            if errno != EINTR { return UInt8(ascii: "q") }
        }
    }
}
