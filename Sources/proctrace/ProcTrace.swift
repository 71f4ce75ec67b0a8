import ArgumentParser

@main
struct ProcTrace: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proctrace",
        abstract: "Trace how processes are born, wait, die, get orphaned and get reaped — and draw it.",
        version: ProcTraceVersion.string,
        subcommands: [Record.self, Render.self, Replay.self, Export.self, Tree.self, Stats.self, Validate.self]
    )
}

enum ProcTraceVersion {
    static let string = "0.1.0"
}
