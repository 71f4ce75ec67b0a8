import ArgumentParser

extension ProcTrace {
    struct Replay: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Not built yet.")
        @Argument(help: "The trace file.") var trace: String
        func run() throws { throw ValidationError("proctrace replay is not built yet") }
    }
}
