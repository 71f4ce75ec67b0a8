/// The words of the proctrace/1 format, as types: a typo does not compile, and each value is
/// written and read as exactly the string trace-format.md names.
///
/// A closed set (`via`, `phase`, `how`, `states`) is an enum: a trace line with a value outside
/// it is malformed, refused by every reader with its file and line, as the format says. An
/// open set (`call`: a newer kernel or writer may add one) is a `RawRepresentable` struct with
/// the documented values as constants: any string reads and is written back unchanged.

/// The ptrace event that reported a `fork` event's child (`via`).
public enum ForkVia: String, Sendable, CaseIterable {
    case fork, vfork, clone
}

/// How a process came to be in a trace: spawned by proctrace, created by a traced process
/// (the ptrace event that reported it), or first met in an event after a birth the trace lacks.
public enum ProcessOrigin: String, Sendable, CaseIterable {
    case spawn, fork, vfork, clone
    /// Its birth is not in the trace (an event named a pid never seen born).
    case unseen
    /// Already running when `record -p` attached to it (an `attach` line).
    case attach

    public init(_ via: ForkVia) {
        switch via {
        case .fork: self = .fork
        case .vfork: self = .vfork
        case .clone: self = .clone
        }
    }
}

/// A `thread` event's `phase`.
public enum ThreadPhase: String, Sendable, CaseIterable {
    case start, exit
}

/// A `wait` event's `phase` (the two phases are the cases `waitBegin` and `waitEnd`).
public enum WaitPhase: String, Sendable, CaseIterable {
    case begin, end
}

/// A `reap` event's `how`.
public enum ReapHow: String, Sendable, CaseIterable {
    /// By a wait call of `by`.
    case wait
    /// Released by the kernel at exit (the parent ignores SIGCHLD or set SA_NOCLDWAIT).
    case auto
    /// By an untraced adoptive parent; `t` is when proctrace saw the zombie disappear.
    case adopted
}

/// Where a trace's `state` events came from (the header's `states`).
public enum StateSource: String, Sendable, CaseIterable {
    /// Kernel scheduler events: every transition, ready and running told apart.
    case sched
    /// `/proc` polling: running and ready look the same ("runnable"), short states are missed.
    case sampled
    /// No state events: the model derives coarse states from lifecycle events.
    case none

    /// Whether the source can tell ready (waiting for a CPU) from running.
    public var distinguishesReady: Bool { self == .sched }
}

/// A `wait` event's `call`: the wait-family system call.
public struct WaitCall: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    /// `wait4`, which `wait()` and `waitpid()` call too.
    public static let wait4 = WaitCall(rawValue: "wait4")
    public static let waitid = WaitCall(rawValue: "waitid")
    public var description: String { rawValue }

    /// Whether a state's `why` names a wait call (the task is blocked in `wait4` or `waitid`).
    public static func isWaitReason(_ why: String?) -> Bool {
        why == wait4.rawValue || why == waitid.rawValue
    }
}

/// A `group` event's `call`.
public struct GroupCall: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let setsid = GroupCall(rawValue: "setsid")
    public static let setpgid = GroupCall(rawValue: "setpgid")
    public var description: String { rawValue }
}
