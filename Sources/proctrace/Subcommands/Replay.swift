import ArgumentParser
import Lifecycle
import SystemPackage
import Tracer
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

extension ProcTrace {
    struct Replay: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "replay",
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
        @OptionGroup var source: TraceAndModel
        var trace: String { source.trace }
        @Option(parsing: .unconditional, help: "Playback speed factor on a terminal (2 = twice as fast; default 1).") var speed: String?
        @Flag(help: "Advance one event per key press (needs a terminal on stdin and stdout).") var step = false
        @Option(name: .customLong("at"), parsing: .unconditional, help: ArgumentHelp("Print the world at this instant " +
            "(seconds since the trace started, or with a unit: 31ms).")) var at: String?
        @Flag(help: "Check every event against the model instead of playing.") var check = false

        static let speeds = 0.001...1_000_000.0

        func validate() throws {
            try source.check()
            if let speed { _ = try OptionValue.number("--speed", speed, in: Self.speeds) }
            if let at { _ = try OptionValue.instant("--at", at) }
            // Each mode takes its own options; one given to another mode would be ignored.
            if check {
                if at != nil { throw OptionValue.conflict("--check", "--at", "--check replays the whole trace through the model") }
                if step { throw OptionValue.conflict("--check", "--step", "--check prints disagreements, it does not play") }
                if speed != nil { throw OptionValue.conflict("--check", "--speed", "--check prints disagreements, it does not play") }
                if source.model != nil { throw OptionValue.conflict("--check", "--model", "--check prints no states") }
            }
            if at != nil {
                if step { throw OptionValue.conflict("--at", "--step", "--at prints one instant, --step plays event by event") }
                if speed != nil { throw OptionValue.conflict("--at", "--speed", "--at prints one instant, it does not play") }
            }
            if step && speed != nil { throw OptionValue.conflict("--step", "--speed", "--step waits for a key at each event") }
            if !check && at == nil {
                if (step || speed != nil) && !LifecycleCLI.stdoutIsTerminal {
                    throw ValidationError("\(step ? "--step" : "--speed") plays on a terminal, and stdout is not one " +
                        "(without a terminal replay prints one line per event)")
                }
                if step && (trace == TraceReader.stdinPath || isatty(0) != 1) {
                    throw ValidationError("--step reads its keys from a terminal on " +
                        "stdin\(trace == TraceReader.stdinPath ? ", where the trace is coming from" : "")")
                }
            }
        }

        func run() throws {
            let m = source.stateModel
            if check { try runCheck() }
            else if let at { try runAt(TimeFormat.parseInstant(at)!, m) }
            else if LifecycleCLI.stdoutIsTerminal {
                let rate = speed.flatMap(OptionValue.decimal) ?? 1
                let reader = try LifecycleCLI.open(trace)
                let health: TraceHealth
                do { health = try ReplayTerminal(reader: reader, model: m, speed: rate, step: step).run() }
                catch { throw LifecycleCLI.fail(error) }
                LifecycleCLI.warn(health)
            }
            else { try runLines(m) }
        }

        func runCheck() throws {
            let report: ValidationReport
            do { report = try TraceValidator.check(path: trace) } catch { throw LifecycleCLI.fail(error) }
            for line in report.formatted { print(line) }
            LifecycleCLI.flush()
            let n = report.violations.count
            LifecycleCLI.stderr("\(TerminalText.escape(report.path)): replayed \(report.health.lines) events, " +
                "\(report.processes) processes: \(n == 0 ? "no disagreement with the model" : "\(n) disagreement\(n == 1 ? "" : "s")")")
            LifecycleCLI.warn(report.health)
            if n > 0 { throw ExitCode(1) }
        }

        func runAt(_ t: Int64, _ m: StateModel) throws {
            let reader = try LifecycleCLI.open(trace)
            let world: (table: ProcessTable, health: TraceHealth)
            do { world = try ProcessTable.at(t, reader: reader) } catch { throw LifecycleCLI.fail(error) }
            if t > world.health.lastTime {
                LifecycleCLI.warn(world.health)
                throw LifecycleCLI.fail("replay", "--at \(TimeFormat.clock(t))s is after the trace's last event (at " +
                    "\(TimeFormat.clock(world.health.lastTime))s): nothing happened then", code: LifecycleCLI.nothingToShow)
            }
            let view = ReplayView(model: m, source: world.table.source, style: Style(enabled: LifecycleCLI.colorByDefault))
            LifecycleCLI.write(view.snapshot(world.table))
            LifecycleCLI.warn(world.health)
        }

        /// Not a terminal: one line per event, as fast as it can be read.
        func runLines(_ m: StateModel) throws {
            let reader = try LifecycleCLI.open(trace)
            var table = ProcessTable()
            var view = ReplayView(model: m, source: .none)
            var health = TraceHealth(name: reader.path)
            var out = ""
            out.reserveCapacity(1 << 16)
            do {
                while let e = try reader.next() {
                    health.observe(e, line: reader.line)
                    if case .trace = e.kind {} else { view.source = table.source }
                    out += view.eventLine(e, before: table) + "\n"
                    table.apply(e, line: reader.line)
                    if case .trace = e.kind { view.source = table.source }
                    if out.utf8.count > 60_000 { LifecycleCLI.write(out); out = "" }
                }
            } catch {
                LifecycleCLI.write(out)
                throw LifecycleCLI.fail(error)
            }
            health.finish(reader)
            LifecycleCLI.write(out)
            LifecycleCLI.warn(health)
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

/// Redraws the tree in place with ANSI escapes while events are applied at trace speed.
struct ReplayTerminal {
    let reader: TraceReader
    let model: StateModel
    let speed: Double
    let step: Bool

    /// Plays the trace; returns its health (read to the end, or as far as the user let it).
    func run() throws(TraceReadError) -> TraceHealth {
        var health = TraceHealth(name: reader.path)
        var table = ProcessTable()
        var log: [String] = []
        signal(SIGINT) { _ in restoreTerminal(); _exit(130) }
        signal(SIGTERM) { _ in restoreTerminal(); _exit(143) }
        if step { enterRawMode() }
        LifecycleCLI.write("\u{1B}[?25l")
        defer { restoreTerminal(); signal(SIGINT, SIG_DFL); signal(SIGTERM, SIG_DFL) }

        var pending = try reader.next()
        var index = 0
        let start = monotonicNow()
        var lastDraw: Int64 = 0
        var shownTime: Int64 = 0
        while let e = pending {
            if step {
                draw(table, log: log, clock: table.now, index: index)
                if readKey() == UInt8(ascii: "q") {
                    // Still read the rest, quietly: a loss told in the end line is still told.
                    while let e = try reader.next() { health.observe(e, line: reader.line) }
                    health.finish(reader)
                    return health
                }
            } else {
                let due = start + Int64(Double(e.t) / speed)
                let now = monotonicNow()
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
            health.observe(e, line: reader.line)
            log.append(view.eventLine(e, before: table))
            if log.count > 8 { log.removeFirst(log.count - 8) }
            table.apply(e, line: reader.line)
            index += 1
            pending = try reader.next()
            if !step, monotonicNow() - lastDraw > 33_000_000 {
                draw(table, log: log, clock: table.now, index: index)
                lastDraw = monotonicNow()
            }
        }
        draw(table, log: log, clock: table.now, index: index, done: true)
        health.finish(reader)
        return health
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

    /// The next key pressed; `q` at the end of the input or on an error.
    func readKey() -> UInt8 {
        var b: UInt8 = 0
        let n = try? withUnsafeMutableBytes(of: &b) { try FileDescriptor.standardInput.read(into: $0) }
        return n == 1 ? b : UInt8(ascii: "q")
    }
}
