import ArgumentParser
import Lifecycle

extension ProcTrace {
    struct Tree: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "tree",
            abstract: "Print the trace's whole process history as a tree, like pstree -p.",
            discussion: "Each process shows its exec chain, lifetime, exit status or killing signal, zombie time, and " +
                "markers for orphaned (reparented) and auto-reaped processes. Colour only on a terminal (NO_COLOR turns it off)."
        )
        @OptionGroup var input: TraceArgument
        var trace: String { input.trace }
        @Flag(name: .long, inversion: .prefixedNo, help: "Colour (default: only when stdout is a terminal).") var color: Bool?

        func run() throws {
            let h = try LifecycleCLI.loadHistory(trace)
            LifecycleCLI.write(TreeView.render(h, style: Style(enabled: color ?? LifecycleCLI.colorByDefault)))
            LifecycleCLI.warn(h)
        }
    }
}
