import ArgumentParser
import Tracer
@preconcurrency import Glibc

@main
struct ProcTrace: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proctrace",
        abstract: "Trace how processes are born, wait, die, get orphaned and get reaped — and draw it.",
        version: TracerVersion.string,
        subcommands: [Record.self, Render.self, Replay.self, Export.self, Tree.self, Stats.self, Validate.self]
    )

    static func main() {
        let args = CommandLine.arguments
        if args.count > 2, args[1] == "record", let run = Record.fastPath(args[2...]) {
            Glibc.exit(run())
        }
        main(nil)
    }
}

