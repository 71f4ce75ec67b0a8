import ArgumentParser

extension ProcTrace {
    struct Record: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Not built yet.")
        func run() throws { throw ValidationError("proctrace record is not built yet") }
    }
}
