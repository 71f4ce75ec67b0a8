import CProcTrace
import Lifecycle
@preconcurrency import Glibc

/// Thin wrappers over the ptrace shim for one stopped task.
enum Tracee {
    /// Reads a NUL-terminated string from a tracee, page by page so that the end of a
    /// mapping does not fail the whole read.
    static func readCString(_ tid: Int, at addr: UInt64, max: Int = 4096) -> String? {
        var out: [UInt8] = []
        var a = addr
        while out.count < max {
            let toPage = Int(4096 - (a % 4096))
            var buf = [UInt8](repeating: 0, count: toPage)
            let n = buf.withUnsafeMutableBytes { pt_read_mem(pid_t(tid), a, $0.baseAddress!, UInt(toPage)) }
            if n <= 0 { break }
            if let z = buf[0..<n].firstIndex(of: 0) {
                out.append(contentsOf: buf[0..<z])
                return ProcFS.decode(out)
            }
            out.append(contentsOf: buf[0..<n])
            a += UInt64(n)
        }
        return out.isEmpty ? nil : ProcFS.decode(out)
    }

    static func readInt32(_ tid: Int, at addr: UInt64) -> Int32? {
        var v: Int32 = 0
        let n = withUnsafeMutableBytes(of: &v) { pt_read_mem(pid_t(tid), addr, $0.baseAddress!, 4) }
        return n == 4 ? v : nil
    }

    static func readUInt64(_ tid: Int, at addr: UInt64) -> UInt64? {
        var v: UInt64 = 0
        let n = withUnsafeMutableBytes(of: &v) { pt_read_mem(pid_t(tid), addr, $0.baseAddress!, 8) }
        return n == 8 ? v : nil
    }

    static func eventMessage(_ tid: Int) -> UInt? {
        var msg: UInt = 0
        return pt_geteventmsg(pid_t(tid), &msg) < 0 ? nil : msg
    }

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
        switch code {
        case 1: return .exited(Int(status))                 // CLD_EXITED
        case 2: return .signaled(Int(status), core: false)  // CLD_KILLED
        case 3: return .signaled(Int(status), core: true)   // CLD_DUMPED
        case 4, 5: return .stopped(Int(status))             // CLD_TRAPPED, CLD_STOPPED
        case 6: return .continued                           // CLD_CONTINUED
        default: return nil
        }
    }

    static let optionNames: [(Int, String)] = [
        (0x1, "WNOHANG"), (0x2, "WUNTRACED"), (0x4, "WEXITED"), (0x8, "WCONTINUED"),
        (0x0100_0000, "WNOWAIT"), (0x2000_0000, "__WNOTHREAD"), (0x4000_0000, "__WALL"), (Int(bitPattern: 0x8000_0000), "__WCLONE"),
    ]

    /// Option names; for waitid, 0x2 is WSTOPPED (the same bit as WUNTRACED).
    static func options(_ bits: UInt64, waitid: Bool) -> [String] {
        var names: [String] = []
        let b = Int(truncatingIfNeeded: UInt32(truncatingIfNeeded: bits))
        for (bit, name) in optionNames where b & bit != 0 {
            names.append(waitid && bit == 0x2 ? "WSTOPPED" : name)
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
