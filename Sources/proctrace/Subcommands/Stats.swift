import ArgumentParser

extension ProcTrace {
    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Not built yet.")
        @Argument(help: "The trace file.") var trace: String
        func run() throws { throw ValidationError("proctrace stats is not built yet") }
    }
}
