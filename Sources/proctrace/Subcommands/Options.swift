import ArgumentParser
import Lifecycle
import Render
import Tracer

/// A word from a fixed set, the raw values of `Value` (`--states`, `-f`, `--format`,
/// `--model`). ArgumentParser takes the set from here for the help and for shell completion
/// (`--model <Tab>` offers three and five); the word is checked in `validate()` by `value(_:)`,
/// so a word outside the set is refused in the same words as every other option value
/// (`--model wants three or five, not "four"`, exit 2) rather than ArgumentParser's own.
struct Choice<Value: CaseIterable & RawRepresentable & Sendable>: ExpressibleByArgument, CustomStringConvertible, Sendable
where Value.RawValue == String {
    /// The word as given.
    let text: String

    init(argument: String) { text = argument }
    init(_ value: Value) { text = value.rawValue }

    static var allValueStrings: [String] { Value.allCases.map(\.rawValue) }
    static var defaultCompletionKind: CompletionKind { .list(allValueStrings) }
    var description: String { text }
    var defaultValueDescription: String { text }

    /// The value, or a ValidationError naming the option and the words it takes.
    func value(_ option: String) throws -> Value {
        try OptionValue.choice(option, text, Value.self, Self.allValueStrings)
    }
}

/// `export --format`: the formats export writes.
enum ExportFormat: String, CaseIterable, Sendable {
    case perfetto
}

/// The argument every command that reads one trace takes: a proctrace/1 file, or `-` for
/// standard input. Shells complete it with `.jsonl` files.
struct TraceArgument: ParsableArguments {
    @Argument(help: "The trace file (- for standard input).", completion: .file(extensions: ["jsonl"]))
    var trace: String
}

/// The trace and the state model, for the commands that show states (render, replay, stats,
/// export).
struct TraceAndModel: ParsableArguments {
    @OptionGroup var input: TraceArgument
    @Option(help: "State model (default five).")
    var model: Choice<StateModel>?

    var trace: String { input.trace }
    /// Checks `--model` (the command's `validate()` calls it, where its message belongs).
    func check() throws { _ = try model?.value("--model") }
    /// The model asked for, five without `--model`.
    var stateModel: StateModel { (try? model?.value("--model")) ?? .five }
}
