import CProcTrace
import Lifecycle
@preconcurrency import Glibc

/// Names for what a tracee reports.
enum Tracee {
    static func errnoName(_ e: Int32) -> String {
        if let p = pt_errno_name(e) { return String(cString: p) }
        return "E\(e)"
    }
}

/// Decoding of wait statuses and wait options into the trace's vocabulary.
enum WaitDecoding {
    static func status(_ s: Int32) -> ExitStatusValue {
        if pt_wifexited(s) != 0 { return .exited(Int(pt_wexitstatus(s))) }
        if pt_wifsignaled(s) != 0 { return .signaled(Int(pt_wtermsig(s)), core: pt_wcoredump(s) != 0) }
        if pt_wifstopped(s) != 0 { return .stopped(Int(pt_wstopsig(s))) }
        return .continued
    }

    /// The status a waitid(2) siginfo describes (si_code CLD_*).
    static func status(code: Int32, status: Int32) -> ExitStatusValue? {
        switch Int(code) {
        case CLD_EXITED: return .exited(Int(status))
        case CLD_KILLED: return .signaled(Int(status), core: false)
        case CLD_DUMPED: return .signaled(Int(status), core: true)
        case CLD_TRAPPED, CLD_STOPPED: return .stopped(Int(status))
        case CLD_CONTINUED: return .continued
        default: return nil
        }
    }

    static let optionNames: [(UInt32, String)] = [
        (UInt32(WNOHANG), "WNOHANG"), (UInt32(WUNTRACED), "WUNTRACED"), (UInt32(WEXITED), "WEXITED"),
        (UInt32(WCONTINUED), "WCONTINUED"), (UInt32(WNOWAIT), "WNOWAIT"),
        (UInt32(bitPattern: pt_wnothread()), "__WNOTHREAD"), (UInt32(bitPattern: pt_wall()), "__WALL"),
        (UInt32(bitPattern: pt_wclone()), "__WCLONE"),
    ]

    /// Option names; for waitid, WUNTRACED's bit is WSTOPPED.
    static func options(_ bits: UInt64, waitid: Bool) -> [String] {
        var names: [String] = []
        let b = UInt32(truncatingIfNeeded: bits)
        for (bit, name) in optionNames where b & bit != 0 {
            names.append(waitid && bit == UInt32(WSTOPPED) ? "WSTOPPED" : name)
        }
        return names
    }
}

/// A decoded status before signal numbers become names.
enum ExitStatusValue: Equatable {
    case exited(Int)
    case signaled(Int, core: Bool)
    case stopped(Int)
    case continued

    var traceStatus: ExitStatus {
        switch self {
        case .exited(let c): return .exited(c)
        case .signaled(let s, let core): return .signaled(SignalName.name(s), core: core)
        case .stopped(let s): return .stopped(SignalName.name(s))
        case .continued: return .continued
        }
    }
    var isTermination: Bool {
        switch self { case .exited, .signaled: return true; default: return false }
    }
}
