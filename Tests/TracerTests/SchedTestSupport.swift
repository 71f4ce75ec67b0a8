#if os(Linux)
@preconcurrency import Glibc
import Synchronization
import Testing
import Lifecycle
@testable import Tracer

extension Trait where Self == ConditionTrait {
    /// For an in-process `SchedSource` whose workload makes more than one task. Inside a pid
    /// namespace the source pairs the kernel's tids with the namespace's through the tracer's
    /// fork events (`forked(child:byThread:)`); built in the test process, it has no tracer, so
    /// the children's events stay unpaired and are counted lost. These run on the host; the CLI
    /// suites (StatesTests, PidNamespaceTests, ConcurrentRecordingTests) hold the namespace mode.
    static var hostPidNamespace: Self {
        .enabled(if: ProcFS.inInitialPidNamespace(),
                 "in a pid namespace an in-process source has no tracer to pair the namespace's tids: it runs on the host")
    }
}

extension Trait where Self == ConditionTrait {
    /// For tests of parked instances: in a pid namespace other than the machine's nothing is
    /// parked (its parker would die with the namespace: `SchedSource.helpersOutliveNamespace`).
    static var parkingPossible: Self {
        .enabled(if: SchedSource.helpersOutliveNamespace,
                 "in a pid namespace other than the machine's a recording removes its instance instead of parking it: it runs on the host")
    }
}

extension Trait where Self == ConditionTrait {
    /// For recordings whose facts come from waits read from the ring (kernel-time ends): the
    /// recorder turns ring waits off inside a pid namespace (docs/recorder.md).
    static var ringWaitsPossible: Self {
        .enabled(if: ProcFS.inInitialPidNamespace(),
                 "inside a pid namespace the recorder reads waits by ptrace, not from the ring: it runs on the host")
    }
}

/// A tag of this test process's own, new at each call (`PROCTRACE_INSTANCE_TAG`,
/// `SchedSource.Options.instanceTag`): a recording with it claims only a parked instance of the
/// same tag, and no recording of another tag, or untagged (another checkout's tests on this
/// machine), claims its instances.
func uniqueInstanceTag() -> String {
    "t\(getpid())x\(instanceTagCounter.add(1, ordering: .relaxed).newValue)"
}
private let instanceTagCounter = Atomic<Int>(0)

/// A child started by posix_spawn (no ptrace) that waits on a pipe until `release()`, so a
/// state source can follow it before it does anything: `sh -c 'read x; exec "$@"'`.
struct GatedChild {
    let pid: pid_t
    let gate: Int32

    init(_ argv: [String]) throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw SchedError(.io, "pipe", errno: errno) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[0], 0)
        posix_spawn_file_actions_addclose(&actions, fds[1])
        let full = ["/bin/sh", "-c", "read x; exec \"$@\"", "sh"] + argv
        let cargs: [UnsafeMutablePointer<CChar>?] = full.map { strdup($0) } + [nil]
        defer { for p in cargs { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, "/bin/sh", &actions, nil, cargs, environ)
        close(fds[0])
        guard rc == 0 else { close(fds[1]); throw SchedError(.io, "posix_spawn", errno: rc) }
        self.pid = pid
        self.gate = fds[1]
    }

    func release() {
        _ = "\n".withCString { write(gate, $0, 1) }
        close(gate)
    }

    /// Waits for the child and returns its raw wait status.
    func wait() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return status
    }
}

/// The five-state transitions a task may make.
func isLegalTransition(_ from: ProcState, _ to: ProcState) -> Bool {
    switch (from, to) {
    case (.new, .ready), (.ready, .running), (.running, .ready), (.running, .blocked), (.blocked, .ready):
        return true
    case (_, .terminated):
        return from != .terminated
    default:
        return false
    }
}

struct StateStep: Equatable {
    var t: Int64
    var from: ProcState
    var to: ProcState
    var why: String?
}

/// The state steps of one tid, in order.
func steps(_ events: [TraceEvent], tid: Int) -> [StateStep] {
    events.compactMap { e in
        if case let .state(_, tt, from, to, why) = e.kind, tt == tid { return StateStep(t: e.t, from: from, to: to, why: why) }
        return nil
    }
}

/// Problems with a tid's path: must start at `start`, chain, be legal, and (optionally) end terminated.
func pathProblems(_ s: [StateStep], start: ProcState = .new, mustTerminate: Bool = true) -> [String] {
    var problems: [String] = []
    var cur = start
    var lastT: Int64 = .min
    for (i, x) in s.enumerated() {
        if x.from != cur { problems.append("step \(i): from \(x.from) but was \(cur)") }
        if !isLegalTransition(x.from, x.to) { problems.append("step \(i): illegal \(x.from)→\(x.to)") }
        if x.t < lastT { problems.append("step \(i): time goes back") }
        cur = x.to
        lastT = x.t
    }
    if mustTerminate && cur != .terminated { problems.append("ends \(cur), not terminated") }
    return problems
}

/// Time spent in each state along a path up to its last step.
func timeIn(_ s: [StateStep]) -> [ProcState: Int64] {
    var out: [ProcState: Int64] = [:]
    for i in s.indices.dropFirst() { out[s[i - 1].to, default: 0] += s[i].t - s[i - 1].t }
    return out
}
#endif
