import ArgumentParser

extension ProcTrace {
    struct Render: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Not built yet.")
        @Argument(help: "The trace file.") var trace: String
        func run() throws { throw ValidationError("proctrace render is not built yet") }
    }
}
