import ArgumentParser

extension ProcTrace {
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Not built yet.")
        @Argument(help: "The trace file.") var trace: String
        func run() throws { throw ValidationError("proctrace export is not built yet") }
    }
}
