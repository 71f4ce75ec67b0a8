/// How a process or a wait ended, as the kernel reports it in a wait status.
public enum ExitStatus: Equatable, Sendable, CustomStringConvertible {
    case exited(Int)
    case signaled(String, core: Bool)
    case stopped(String)
    case continued

    /// The status a shell would report: the exit code, or 128+N for a signal.
    public var shellCode: Int32 {
        switch self {
        case .exited(let c): return Int32(truncatingIfNeeded: c)
        case .signaled(let s, _): return 128 + Int32(SignalName.number(s) ?? 0)
        case .stopped, .continued: return 0
        }
    }

    public var description: String {
        switch self {
        case .exited(let c): return "exited \(c)"
        case .signaled(let s, let core): return core ? "killed by \(s) (core dumped)" : "killed by \(s)"
        case .stopped(let s): return "stopped by \(s)"
        case .continued: return "continued"
        }
    }

    public var json: JSONValue {
        switch self {
        case .exited(let c): return .object(JSONObject([("exited", .int(Int64(c)))]))
        case .signaled(let s, let core): return .object(JSONObject([("signaled", .string(s)), ("core", .bool(core))]))
        case .stopped(let s): return .object(JSONObject([("stopped", .string(s))]))
        case .continued: return .object(JSONObject([("continued", .bool(true))]))
        }
    }

    public init?(json: JSONValue) {
        guard let o = json.object else { return nil }
        if let c = o["exited"]?.int { self = .exited(Int(c)) }
        else if let s = o["signaled"]?.string { self = .signaled(s, core: o["core"]?.bool ?? false) }
        else if let s = o["stopped"]?.string { self = .stopped(s) }
        else if o["continued"] != nil { self = .continued }
        else { return nil }
    }
}

/// What a wait-family call returned.
public enum WaitResult: Equatable, Sendable {
    /// A child's pid: the call reported (and unless `WNOWAIT`, reaped) it.
    case pid(Int)
    /// `WNOHANG` and no child was ready.
    case nothing
    /// The call failed with this errno name (`ECHILD`, `EINTR`, …).
    case error(String)

    public var json: JSONValue {
        switch self {
        case .pid(let p): return .int(Int64(p))
        case .nothing: return .int(0)
        case .error(let e): return .string(e)
        }
    }

    public init?(json: JSONValue) {
        if let i = json.int { self = i == 0 ? .nothing : .pid(Int(i)) }
        else if let s = json.string { self = .error(s) }
        else { return nil }
    }
}

/// The five process states of the tutorial; the three-state model drops `new` and `terminated`.
/// `unknown` is not a sixth state of the model: it is what a view shows where the trace's
/// state source stopped (an `unknown` event) and no later `state` event has said more. It
/// never appears in a `state` event's `from` or `to`.
public enum ProcState: String, Sendable, CaseIterable {
    case new, ready, running, blocked, terminated, unknown
}

public struct HostInfo: Equatable, Sendable {
    public var kernel: String
    public var arch: String
    public var cpus: Int
    public init(kernel: String, arch: String, cpus: Int) { self.kernel = kernel; self.arch = arch; self.cpus = cpus }
}

/// ELF facts of an executed image.
public struct ELFInfo: Equatable, Sendable {
    public var elfClass: String      // "ELF64"
    public var machine: String       // "x86_64"
    public var type: String          // "EXEC", "DYN"
    public var interp: String?
    public var buildID: String?
    public init(elfClass: String, machine: String, type: String, interp: String?, buildID: String?) {
        self.elfClass = elfClass; self.machine = machine; self.type = type; self.interp = interp; self.buildID = buildID
    }
}

/// One line of a proctrace/1 trace. Every field trace-format.md documents is a value of its
/// case (optional ones last, with their defaults); `TraceEvent.extra` holds only the others.
/// The big kinds (written once per trace or once per process: `trace`, `attach`, `exec`, the
/// end of a wait, `end`) are `indirect`, boxed on the heap, so that every event is the size of
/// a small one: 96 bytes instead of 280 for a `TraceEvent`. A recording holds tens of thousands
/// of `state` events in flight and a reader a whole trace; each copy and move was of the
/// largest case (`exec`, with its ELF facts).
public enum EventKind: Equatable, Sendable {
    /// `pid`: proctrace's own (the root's reaper); `env`: only with `record --env`;
    /// `failedExecs`: whether failed execs are recorded; `attached`: the pids `record -p` took.
    indirect case trace(schema: String, argv: [String], cwd: String, start: String, host: HostInfo, tracer: String, states: StateSource,
               env: [String]? = nil, pid: Int? = nil, failedExecs: Bool? = nil, attached: [Int]? = nil)
    /// `ppid` (proctrace), `pgid`, `sid`: the root's at the start, when they could be read.
    case spawn(pid: Int, argv: [String], ppid: Int? = nil, pgid: Int? = nil, sid: Int? = nil)
    /// A process already running when `record -p` attached to it (instead of its `fork`):
    /// its parent, argv, exe, /proc state letter, start time (`started`, and `ageNs` at the
    /// attach), threads (when more than one), group and session then.
    indirect case attach(pid: Int, ppid: Int, argv: [String], exe: String? = nil, state: String? = nil, started: String? = nil,
                ageNs: Int? = nil, threads: [Int]? = nil, pgid: Int? = nil, sid: Int? = nil)
    /// `tid`: the creating thread when not the main one; `nspid`: the child's pid in each
    /// namespace from proctrace's down to its own, when it lives in a nested one.
    case fork(pid: Int, child: Int, parent: Int, via: ForkVia, tid: Int? = nil, nspid: [Int]? = nil)
    /// `reason`: why a thread ended other than by its own exit (`exec`: another thread exec'd).
    case thread(pid: Int, tid: Int, phase: ThreadPhase, reason: String? = nil)
    /// `error` (an errno name): the exec failed and the process runs its old image on.
    /// `argvTruncated`: argv could not be read whole (`argvBytes`: its real size);
    /// `argvNotUTF8`: some argument's bytes were not UTF-8 (shown as U+FFFD). A failed exec may
    /// say the calling thread (`tid`), that its pointers could not be read (`argsUnreadable`),
    /// and for `execveat` (`call`) its `dirfd`, what that names (`dirfdPath`) and its `flags`.
    indirect case exec(pid: Int, path: String, argv: [String], exe: String?, elf: ELFInfo?, formerTid: Int?, error: String? = nil,
              argvTruncated: Bool = false, argvBytes: Int? = nil, argvNotUTF8: Bool = false, tid: Int? = nil, argsUnreadable: Bool = false,
              call: String? = nil, dirfd: Int? = nil, dirfdPath: String? = nil, flags: [String]? = nil)
    /// `tid`: the waiting thread when not the main one.
    case waitBegin(pid: Int, call: WaitCall, target: Int, options: [String], tid: Int? = nil)
    /// `restarted`: the times a signal interrupted the call and the kernel restarted it.
    indirect case waitEnd(pid: Int, call: WaitCall, target: Int, options: [String], result: WaitResult, status: ExitStatus?, tid: Int? = nil,
                          restarted: [Int64]? = nil)
    /// `error`: the root's exec failed (errno name; status 127 or 126).
    case exit(pid: Int, status: ExitStatus, error: String? = nil)
    /// `unobserved`: proctrace stopped watching before the adoptive parent reaped it.
    case reap(pid: Int, by: Int, how: ReapHow, unobserved: Bool = false)
    case reparent(pid: Int, from: Int, to: Int)
    /// `tid`: the receiving thread when not the main one.
    case signal(pid: Int, sig: String, from: Int?, code: String?, tid: Int? = nil)
    case state(pid: Int, tid: Int?, from: ProcState, to: ProcState, why: String?)
    /// The state source stopped knowing this task's state (type `unknown`): from `t` until
    /// the task's next `state` event or its exit, its five-state state is unknown.
    case stateUnknown(pid: Int, tid: Int?, reason: String)
    /// A session or process-group change (`setsid`, `setpgid`): the process's new ids.
    case group(pid: Int, pgid: Int, sid: Int, call: GroupCall, by: Int)
    /// `status` is nil when the root was still running when proctrace detached from it.
    /// `reason` (`SIGINT`, `SIGTERM`, `SIGHUP`, `root-exited`) and `detached` (the pids let go,
    /// still running): the recording ended while traced processes remained.
    /// `ptraceFailures`: ptrace requests that failed while their task was there (nil: none).
    indirect case end(status: ExitStatus?, events: Int, lost: Int, reason: String? = nil, detached: [Int]? = nil, ptraceFailures: Int? = nil)
    /// A type this reader does not know; kept, and ignored by the model.
    case unknown(type: String)

    public var typeName: String {
        switch self {
        case .trace: return "trace"
        case .spawn: return "spawn"
        case .attach: return "attach"
        case .fork: return "fork"
        case .thread: return "thread"
        case .exec: return "exec"
        case .waitBegin, .waitEnd: return "wait"
        case .exit: return "exit"
        case .reap: return "reap"
        case .reparent: return "reparent"
        case .signal: return "signal"
        case .state: return "state"
        case .stateUnknown: return "unknown"
        case .group: return "group"
        case .end: return "end"
        case .unknown(let t): return t
        }
    }
}

/// An event with its time (nanoseconds since the trace started) and any fields beyond the
/// contract's, kept so that nothing a newer writer recorded is lost on a round trip.
public struct TraceEvent: Equatable, Sendable {
    public var t: Int64
    public var kind: EventKind
    public var extra: JSONObject

    /// The largest `t` a trace may hold: 2^53 ns (104 days), the largest integer that
    /// JavaScript and other double-based JSON readers (Perfetto's among them) hold exactly. It
    /// also keeps every sum and difference of times far from Int64 overflow.
    public static let maxTime: Int64 = 1 << 53

    public init(t: Int64, _ kind: EventKind, extra: JSONObject = JSONObject()) {
        self.t = t; self.kind = kind; self.extra = extra
    }
}
