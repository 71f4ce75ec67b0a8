import ArgumentParser

extension ProcTrace {
    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Not built yet.")
        @Argument(help: "The trace file.") var trace: String
        func run() throws { throw ValidationError("proctrace validate is not built yet") }
    }
}
