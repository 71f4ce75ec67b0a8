// swift-tools-version: 6.2
import PackageDescription

// FileDescriptor, Errno, FilePath: the one OS layer under the recorder and the readers.
let system = Target.Dependency.product(name: "SystemPackage", package: "swift-system")

/// This package's directory (the manifest's own), for paths the linker needs whole.
let packageRoot = String(#filePath.dropLast("/Package.swift".count))

// Linux only (ptrace, seccomp, tracefs): no `platforms`, which would name Apple ones.
let package = Package(
    name: "proctrace",
    products: [
        .executable(name: "proctrace", targets: ["proctrace"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
    ],
    targets: [
        // The only C: ptrace, waitpid, seccomp and fork+exec shims.
        .target(
            name: "CProcTrace",
            cSettings: [
                .define("_GNU_SOURCE"),
                .enableWarning("all"), .enableWarning("extra"), .treatAllWarnings(as: .error),
            ]
        ),
        .systemLibrary(name: "CLibELF", pkgConfig: "libelf", providers: [.apt(["libelf-dev"])]),
        // Graphviz through dlopen at the first render (libgraphviz-dev's headers; scripts/install-deps.sh):
        // linked, its libraries were mapped at every start of every subcommand, `record`'s too.
        .target(
            name: "CGraphviz",
            cSettings: [
                .define("_GNU_SOURCE"),
                .enableWarning("all"), .enableWarning("extra"), .treatAllWarnings(as: .error),
            ]
        ),
        // Pure Swift: events, JSONL, the process model, validation, replay.
        .target(name: "Lifecycle", dependencies: [system]),
        // Linux recorder: ptrace event loop, scheduler states, ELF facts.
        .target(name: "Tracer", dependencies: ["Lifecycle", "CProcTrace", "CLibELF", system]),
        // Questions answered from a trace: critical path, steps, parallelism, findings, diff.
        .target(name: "Analysis", dependencies: ["Lifecycle"]),
        // Pictures and exports.
        .target(name: "Render", dependencies: ["Lifecycle", "CGraphviz", system]),
        .executableTarget(
            name: "proctrace",
            dependencies: [
                "Lifecycle", "Tracer", "Render", "Analysis",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                system,
            ],
            // gcc's libstdc++.a, linked alone there by `make` (scripts/static-libstdcxx.sh), is
            // found before libstdc++.so: loading the shared one cost every start ~0.3-0.5 ms.
            // (Its symbols stay local: the static stdlib's link passes --exclude-libs ALL.)
            linkerSettings: [.unsafeFlags(["-L", packageRoot + "/.build/static-libstdc++"])]
        ),
        // The state sources' own costs (`make bench`): measurements, not tests.
        .executableTarget(name: "SchedBench", dependencies: ["Tracer", "Lifecycle"], path: "Benchmarks/SchedBench"),
        .testTarget(name: "LifecycleTests", dependencies: ["Lifecycle"]),
        .testTarget(name: "TracerTests", dependencies: ["Tracer", "Lifecycle", "Analysis", "CProcTrace"]),
        .testTarget(name: "RenderTests", dependencies: ["Render", "Lifecycle"]),
    ],
    swiftLanguageModes: [.v6]
)

// Warnings are errors in every Swift target of this package, tests included, in every build
// (debug and release): what CI accepts is what a developer's `swift build` accepts. SwiftPM
// applies these settings to this package only, never to its dependencies.
// Concrete type metadata through accessor functions, not mangled names: by default the runtime
// demangles a name (and scans every protocol conformance of the binary for each generic
// argument's) the first time a function meets a type such as `[Int: Pending]`, and every
// `record` is a fresh process: ~1.3 ms of CPU per recording went there (docs/recorder.md).
for target in package.targets where target.type != .system && !["CProcTrace", "CGraphviz"].contains(target.name) {
    target.swiftSettings = (target.swiftSettings ?? []) + [.treatAllWarnings(as: .error),
        .unsafeFlags(["-Xfrontend", "-disable-concrete-type-metadata-mangled-name-accessors"])]
}
