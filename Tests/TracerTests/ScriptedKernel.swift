#if os(Linux)
import CProcTrace
@preconcurrency import Glibc
import Foundation
import Lifecycle
@testable import Tracer

/// A kernel that plays a written sequence of stops to the event loop and notes every request
/// the loop makes: the loop's logic tested without ptrace, root or timing.
final class ScriptedKernel: Kernel {
    /// One wait status the loop will receive, with what the kernel says about it while the task
    /// sits in that stop.
    struct Stop {
        var tid: Int
        var status: Int32
        var message: UInt?
        var syscall: SyscallInfo?
        var signal: SignalInfo?
        var cloneFlags: UInt64?
        /// The task's memory at this stop: address → bytes.
        var memory: [UInt64: [UInt8]] = [:]
    }

    /// A request of the loop, as the kernel received it.
    enum Request: Equatable, CustomStringConvertible {
        case cont(Int, signal: Int32)
        case syscall(Int)
        case listen(Int)
        case interrupt(Int)
        case detach(Int, signal: Int32)

        var tid: Int {
            switch self {
            case .cont(let t, _), .syscall(let t), .listen(let t), .interrupt(let t), .detach(let t, _): return t
            }
        }
        var description: String {
            switch self {
            case .cont(let t, let s): return s == 0 ? "cont \(t)" : "cont \(t) \(SignalName.name(Int(s)))"
            case .syscall(let t): return "syscall \(t)"
            case .listen(let t): return "listen \(t)"
            case .interrupt(let t): return "interrupt \(t)"
            case .detach(let t, let s): return "detach \(t) \(s)"
            }
        }
    }

    private var script: [Stop]
    private var current: [Int: Stop] = [:]
    private(set) var requests: [Request] = []
    /// Requests to answer with an error instead of 0: tid → negated errno (once).
    var failures: [Int: Int] = [:]
    var commandLines: [Int: [String]] = [:]
    var parents: [Int: Int] = [:]
    /// Real pidfds to hand out once (pid → fd); any other pid is gone (ESRCH).
    var pidfds: [Int: Int32] = [:]
    var executables: [Int: String] = [:]
    /// Signals a process ignores (SigIgn).
    var ignored: [Int: Set<Int32>] = [:]
    let home = ProcFS.readlink("/proc/self/ns/pid")

    init(_ script: [Stop]) { self.script = script }

    func wait(_ pid: Int, extraFlags: Int32, control: Bool) -> (pid: Int, status: Int32) {
        // A wait for one pid (WNOHANG) finds nothing queued for it here.
        guard pid == -1 else { return (0, 0) }
        guard !script.isEmpty else { return (-Int(ECHILD), 0) }
        let stop = script.removeFirst()
        current[stop.tid] = stop
        return (stop.tid, stop.status)
    }

    private func request(_ r: Request) -> Int {
        requests.append(r)
        return failures.removeValue(forKey: r.tid) ?? 0
    }

    func cont(_ tid: Int, signal: Int32) -> Int { request(.cont(tid, signal: signal)) }
    func syscall(_ tid: Int, signal: Int32) -> Int { request(.syscall(tid)) }
    func listen(_ tid: Int) -> Int { request(.listen(tid)) }
    func interrupt(_ tid: Int) -> Int { request(.interrupt(tid)) }
    func detach(_ tid: Int, signal: Int32) -> Int { request(.detach(tid, signal: signal)) }

    func eventMessage(_ tid: Int) -> UInt? { current[tid]?.message }
    func cloneFlags(_ tid: Int) -> UInt64? { current[tid]?.cloneFlags }
    func syscallInfo(_ tid: Int) -> SyscallInfo? { current[tid]?.syscall }
    func signalInfo(_ tid: Int) -> SignalInfo? { current[tid]?.signal }
    func stackPointer(_ tid: Int) -> UInt64? { nil }
    func interruptedCall(_ tid: Int) -> InterruptedCall? { nil }

    func readMemory(_ tid: Int, at address: UInt64, count: Int) -> [UInt8]? {
        guard let bytes = current[tid]?.memory[address] else { return nil }
        return Array(bytes.prefix(count))
    }

    func parent(of pid: Int) -> Int? { parents[pid] }
    func threadGroup(of tid: Int) -> Int? { nil }
    func signalMasks(of pid: Int) -> (ignored: UInt64, caught: UInt64)? {
        let mask = (ignored[pid] ?? []).reduce(UInt64(0)) { $0 | 1 << UInt64($1 - 1) }
        return (mask, 0)
    }
    func commandLine(of pid: Int) -> (argv: [String], lossy: Bool)? { commandLines[pid].map { ($0, false) } }
    func executable(of pid: Int) -> String? { executables[pid] }
    func auxiliaryVector(of pid: Int) -> [UInt8]? { nil }
    func pidNamespace(of pid: Int) -> String? { home }
    func namespacePids(of pid: Int) -> [Int]? { [pid] }
    func processGroup(of pid: Int) -> Int { 4242 }
    func session(of pid: Int) -> Int { 4242 }
    func openPidfd(_ pid: Int) -> Int32 { pidfds.removeValue(forKey: pid) ?? -ESRCH }
    func orphanAdopter() -> Int? { nil }
    func wakeAfter(ms: Int) {}
}

/// Wait statuses as the kernel encodes them.
enum WaitStatus {
    static func exited(_ code: Int32) -> Int32 { code << 8 }
    static func killed(_ sig: Int32) -> Int32 { sig }
    /// A signal-delivery stop.
    static func signal(_ sig: Int32) -> Int32 { sig << 8 | 0x7f }
    /// A ptrace-event stop (`PT_EVENT_*`); `sig` is SIGTRAP but for PTRACE_EVENT_STOP, where
    /// it is the stop signal of a group-stop (SIGTRAP otherwise).
    static func event(_ event: Int32, sig: Int32 = SIGTRAP) -> Int32 { event << 16 | sig << 8 | 0x7f }
    static let syscallExit: Int32 = (SIGTRAP | 0x80) << 8 | 0x7f
}

extension ScriptedKernel.Stop {
    static func fork(_ tid: Int, child: Int, thread: Bool = false) -> Self {
        .init(tid: tid, status: WaitStatus.event(thread ? Int32(PT_EVENT_CLONE) : Int32(PT_EVENT_FORK)), message: UInt(child),
              cloneFlags: thread ? UInt64(PT_CLONE_THREAD) : UInt64(SIGCHLD))
    }
    /// A new child's first stop.
    static func firstStop(_ tid: Int) -> Self { .init(tid: tid, status: WaitStatus.event(Int32(PT_EVENT_STOP))) }
    static func groupStop(_ tid: Int, _ sig: Int32) -> Self { .init(tid: tid, status: WaitStatus.event(Int32(PT_EVENT_STOP), sig: sig)) }
    /// The end of a listened group-stop (SIGCONT).
    static func groupStopEnds(_ tid: Int) -> Self { .init(tid: tid, status: WaitStatus.event(Int32(PT_EVENT_STOP))) }
    static func signal(_ tid: Int, _ sig: Int32, from: Int = 0, code: Int32 = 0) -> Self {
        .init(tid: tid, status: WaitStatus.signal(sig), signal: SignalInfo(signo: sig, code: code, pid: Int32(from)))
    }
    static func exited(_ tid: Int, _ code: Int32) -> Self { .init(tid: tid, status: WaitStatus.exited(code)) }
    static func exec(_ tid: Int, formerTid: Int? = nil) -> Self {
        .init(tid: tid, status: WaitStatus.event(Int32(PT_EVENT_EXEC)), message: UInt(formerTid ?? tid))
    }
    /// The seccomp stop at a `wait4(target, &status, options)` whose status pointer is `statusAt`.
    static func wait4(_ tid: Int, target: Int, statusAt: UInt64 = 0x1000, options: UInt64 = 0) -> Self {
        .init(tid: tid, status: WaitStatus.event(Int32(PT_EVENT_SECCOMP)), message: UInt(PT_SC_WAIT4),
              syscall: SyscallInfo(op: .seccomp, nr: UInt64(pt_nr_wait4()),
                                   args: [UInt64(bitPattern: Int64(target)), statusAt, options, 0, 0, 0], retData: UInt32(PT_SC_WAIT4)))
    }
    /// The exit stop of a syscall stopped at its entry, returning `rval`; `statusAt` holds the
    /// wait status a wait4 stored.
    static func returns(_ tid: Int, _ rval: Int64, storing status: Int32? = nil, at address: UInt64 = 0x1000) -> Self {
        var stop = Self(tid: tid, status: WaitStatus.syscallExit, syscall: SyscallInfo(op: .exit, rval: rval, isError: rval < 0 && rval > -4096))
        if let status { stop.memory[address] = withUnsafeBytes(of: status) { Array($0) } }
        return stop
    }
    /// The seccomp stop of `rt_sigaction(SIGCHLD, act)` whose handler is `handler` (1: SIG_IGN).
    static func sigchldAction(_ tid: Int, handler: UInt64, flags: UInt64 = 0) -> Self {
        let act: UInt64 = 0x2000
        var stop = Self(tid: tid, status: WaitStatus.event(Int32(PT_EVENT_SECCOMP)), message: UInt(PT_SC_SIGCHLD_ACTION),
                        syscall: SyscallInfo(op: .seccomp, args: [UInt64(SIGCHLD), act, 0, 8, 0, 0], retData: UInt32(PT_SC_SIGCHLD_ACTION)))
        stop.memory[act] = withUnsafeBytes(of: handler) { Array($0) }
        stop.memory[act + 8] = withUnsafeBytes(of: flags) { Array($0) }
        return stop
    }
}
#endif
