import ArgumentParser

extension ProcTrace {
    struct Tree: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Not built yet.")
        @Argument(help: "The trace file.") var trace: String
        func run() throws { throw ValidationError("proctrace tree is not built yet") }
    }
}
