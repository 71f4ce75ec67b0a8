import CProcTrace
@preconcurrency import Glibc

/// The six arguments of a syscall, inline (no array to allocate at every stop).
struct SyscallArgs: Equatable, ExpressibleByArrayLiteral {
    private var words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)

    init() {}
    /// Up to six values; the rest are 0.
    init(arrayLiteral values: UInt64...) {
        precondition(values.count <= 6, "a syscall has six arguments")
        for (i, v) in values.enumerated() { self[i] = v }
    }

    subscript(i: Int) -> UInt64 {
        get {
            precondition(i >= 0 && i < 6, "a syscall has six arguments")
            return withUnsafeBytes(of: words) { $0.load(fromByteOffset: i * 8, as: UInt64.self) }
        }
        set {
            precondition(i >= 0 && i < 6, "a syscall has six arguments")
            withUnsafeMutableBytes(of: &words) { $0.storeBytes(of: newValue, toByteOffset: i * 8, as: UInt64.self) }
        }
    }

    static func == (a: SyscallArgs, b: SyscallArgs) -> Bool { (0..<6).allSatisfy { a[$0] == b[$0] } }

    /// The arguments as the C shim's `uint64_t args[6]`.
    mutating func withPointer<R>(_ body: (UnsafeMutablePointer<UInt64>) -> R) -> R {
        withUnsafeMutableBytes(of: &words) { body($0.baseAddress!.assumingMemoryBound(to: UInt64.self)) }
    }
}

/// A syscall stop as `PTRACE_GET_SYSCALL_INFO` describes it.
struct SyscallInfo: Equatable {
    enum Op: Int32 { case none = 0, entry = 1, exit = 2, seccomp = 3 }
    var op: Op
    var nr: UInt64 = 0
    var args = SyscallArgs()
    /// At the exit: the return value (a negated errno when `isError`).
    var rval: Int64 = 0
    var isError = false
    /// At a seccomp stop: the filter's SECCOMP_RET_DATA (which of the traced calls it is), what
    /// `PTRACE_GETEVENTMSG` would give there.
    var retData: UInt32 = 0
    /// The task's user stack pointer at the stop (0: not known).
    var sp: UInt64 = 0
}

/// The registers of a task at a signal-delivery stop that tell whether the signal interrupted
/// a syscall: its number (-1: none), its return so far (-ERESTART*: interrupted), and the user
/// stack pointer at the call, above which a handler's frame never reaches.
struct InterruptedCall: Equatable {
    var nr: Int64
    var ret: Int64
    var sp: UInt64
}

/// The fields of a pending signal (`PTRACE_GETSIGINFO`) the recorder uses.
struct SignalInfo: Equatable {
    var signo: Int32
    var code: Int32
    /// `si_pid`: the sender, or for SIGCHLD the child, in the receiver's pid namespace.
    var pid: Int32
    var status: Int32 = 0
}

/// Everything the ptrace event loop asks of the kernel about its tasks: the ptrace requests,
/// their memory (`process_vm_readv`), the few `/proc` facts read while a task is stopped, and
/// the wake-up timer of the loop. `LiveKernel` is the real thing and the only one a recording
/// uses; tests drive the loop's logic with a scripted sequence of stops (EventLoopTests).
///
/// Requests return 0 or a negated errno, as the C shim does.
protocol Kernel: AnyObject {
    /// `waitpid(pid, __WALL|__WNOTHREAD|extra)` on traced tasks: (pid, status); pid 0 with
    /// `WNOHANG` when nothing is ready; a negated errno (`-ECHILD`: nothing traced is left).
    /// With `control`, a signal to proctrace (Ctrl-C, SIGTERM, Ctrl-Z, its timer) ends the wait
    /// with `-EINTR`.
    func wait(_ pid: Int, extraFlags: Int32, control: Bool) -> (pid: Int, status: Int32)

    /// `PTRACE_CONT`, delivering `signal` (0: none).
    func cont(_ tid: Int, signal: Int32) -> Int
    /// `PTRACE_SYSCALL`: resume, stopping again at the current syscall's exit.
    func syscall(_ tid: Int, signal: Int32) -> Int
    /// `PTRACE_LISTEN`: leave a task in its group-stop, still reporting to the tracer.
    func listen(_ tid: Int) -> Int
    /// `PTRACE_INTERRUPT`: make a running task stop (or a stopped one trap again).
    func interrupt(_ tid: Int) -> Int
    /// `PTRACE_DETACH`, delivering `signal` as the task goes.
    func detach(_ tid: Int, signal: Int32) -> Int

    /// `PTRACE_GETEVENTMSG`.
    func eventMessage(_ tid: Int) -> UInt?
    /// At a fork/vfork/clone event: the clone flags of the call that made the new task.
    func cloneFlags(_ tid: Int) -> UInt64?
    func syscallInfo(_ tid: Int) -> SyscallInfo?
    func signalInfo(_ tid: Int) -> SignalInfo?
    /// The stack pointer of a stopped task.
    func stackPointer(_ tid: Int) -> UInt64?
    /// At a signal-delivery stop: the syscall the signal interrupted, if any (nil: unknown).
    func interruptedCall(_ tid: Int) -> InterruptedCall?
    /// At a signal-delivery stop: the return register alone, cheaper than `interruptedCall`
    /// (one word); nil when it cannot be read alone (then ask `interruptedCall`).
    func interruptedReturn(_ tid: Int) -> Int64?
    /// Up to `count` bytes of the task's memory at `address` (fewer where a mapping ends), or
    /// nil when none can be read.
    func readMemory(_ tid: Int, at address: UInt64, count: Int) -> [UInt8]?
    /// The same into `buffer`: the number of bytes read (fewer where a mapping ends), or a
    /// negated errno. A default implementation reads through `readMemory(_:at:count:)`.
    func readMemory(_ tid: Int, at address: UInt64, into buffer: UnsafeMutableRawBufferPointer) -> Int

    /// The current parent (field 4 of `/proc/PID/stat`), nil when the process is gone.
    func parent(of pid: Int) -> Int?
    /// The process a task belongs to (`Tgid:`).
    func threadGroup(of tid: Int) -> Int?
    /// `SigIgn:` and `SigCgt:` of `/proc/PID/status`.
    func signalMasks(of pid: Int) -> (ignored: UInt64, caught: UInt64)?
    /// argv from `/proc/PID/cmdline`, whole; `lossy` when some bytes were not UTF-8.
    func commandLine(of pid: Int) -> (argv: [String], lossy: Bool)?
    /// The `/proc/PID/exe` link.
    func executable(of pid: Int) -> String?
    /// `/proc/PID/auxv`.
    func auxiliaryVector(of pid: Int) -> [UInt8]?
    /// The `/proc/PID/ns/pid` link text.
    func pidNamespace(of pid: Int) -> String?
    /// `NSpid:` of `/proc/PID/status`: the pid in each namespace, outermost first.
    func namespacePids(of pid: Int) -> [Int]?
    /// getpgid(2), getsid(2): the id or a negated errno.
    func processGroup(of pid: Int) -> Int
    func session(of pid: Int) -> Int
    /// pidfd_open(2): an fd or a negated errno.
    func openPidfd(_ pid: Int) -> Int32
    /// Who adopts an orphan of proctrace's own children now, measured with a probe orphan
    /// (`pt_orphan_adopter`); nil when the probe failed.
    func orphanAdopter() -> Int?
    /// Wakes a control wait after `ms` milliseconds (SIGALRM to proctrace's ptrace thread).
    func wakeAfter(ms: Int)
}

extension Kernel {
    func interruptedReturn(_ tid: Int) -> Int64? { nil }

    func readMemory(_ tid: Int, at address: UInt64, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard let b = readMemory(tid, at: address, count: buffer.count) else { return -Int(EFAULT) }
        buffer.copyBytes(from: b)
        return b.count
    }

    /// A value of the task's memory (`int *status`, a pointer), read whole or not at all.
    func read<T: FixedWidthInteger>(_ tid: Int, at address: UInt64, as type: T.Type = T.self) -> T? {
        var value = T.zero
        let n = withUnsafeMutableBytes(of: &value) { readMemory(tid, at: address, into: $0) }
        return n == MemoryLayout<T>.size ? value : nil
    }

    /// Reads a NUL-terminated string, page by page so that the end of a mapping does not fail
    /// the whole read.
    func readCString(_ tid: Int, at address: UInt64, max: Int = 4096) -> String? {
        var out: [UInt8] = []
        var a = address
        while out.count < max {
            let toPage = Int(4096 - (a % 4096))
            guard let chunk = readMemory(tid, at: a, count: toPage), !chunk.isEmpty else { break }
            if let z = chunk.firstIndex(of: 0) {
                out.append(contentsOf: chunk[..<z])
                return ProcFS.decode(out)
            }
            out.append(contentsOf: chunk)
            a += UInt64(chunk.count)
        }
        return out.isEmpty ? nil : ProcFS.decode(out)
    }

    /// The `siginfo_t` a waitid(2) stored in the tracee: (si_pid, si_code, si_status).
    func readWaitidInfo(_ tid: Int, at address: UInt64) -> (pid: Int32, code: Int32, status: Int32)? {
        // 64-bit layout: si_signo, si_errno, si_code, padding, then si_pid, si_uid, si_status.
        guard let b = readMemory(tid, at: address, count: 28), b.count == 28 else { return nil }
        return b.withUnsafeBytes { raw in
            (raw.loadUnaligned(fromByteOffset: 16, as: Int32.self), raw.loadUnaligned(fromByteOffset: 8, as: Int32.self),
             raw.loadUnaligned(fromByteOffset: 24, as: Int32.self))
        }
    }

    /// Whether `sig` is ignored in the process (SIG_IGN).
    func ignores(_ pid: Int, signal sig: Int32) -> Bool {
        guard let m = signalMasks(of: pid) else { return false }
        return m.ignored & (1 << UInt64(sig - 1)) != 0
    }

    /// Whether `sig`'s action in the process is the default one (neither caught nor ignored).
    func hasDefaultAction(_ pid: Int, signal sig: Int32) -> Bool {
        guard let m = signalMasks(of: pid) else { return false }
        return (m.ignored | m.caught) & (1 << UInt64(sig - 1)) == 0
    }

    /// The file name the exec was called with (`AT_EXECFN`), from the auxiliary vector.
    func execFilename(_ pid: Int) -> String? {
        guard let aux = auxiliaryVector(of: pid), let addr = AuxVector.value(of: AT_EXECFN, in: aux), addr != 0 else { return nil }
        return readCString(pid, at: addr)
    }
}

/// The kernel itself: the C shim's ptrace and process_vm_readv calls, and /proc.
final class LiveKernel: Kernel {
    private let waitFlags = pt_wall() | pt_wnothread()

    func wait(_ pid: Int, extraFlags: Int32, control: Bool) -> (pid: Int, status: Int32) {
        var status: Int32 = 0
        let r = control ? pt_waitpid_control(pid_t(pid), &status, waitFlags | extraFlags)
                        : pt_waitpid(pid_t(pid), &status, waitFlags | extraFlags)
        return (Int(r), status)
    }

    func cont(_ tid: Int, signal: Int32) -> Int { pt_cont(pid_t(tid), signal) }
    func syscall(_ tid: Int, signal: Int32) -> Int { pt_syscall(pid_t(tid), signal) }
    func listen(_ tid: Int) -> Int { pt_listen(pid_t(tid)) }
    func interrupt(_ tid: Int) -> Int { pt_interrupt(pid_t(tid)) }
    func detach(_ tid: Int, signal: Int32) -> Int { pt_detach(pid_t(tid), signal) }

    func eventMessage(_ tid: Int) -> UInt? {
        var msg: UInt = 0
        return pt_geteventmsg(pid_t(tid), &msg) < 0 ? nil : msg
    }

    func cloneFlags(_ tid: Int) -> UInt64? {
        var flags: UInt64 = 0
        return pt_clone_flags(pid_t(tid), &flags) == 0 ? flags : nil
    }

    func syscallInfo(_ tid: Int) -> SyscallInfo? {
        var op: Int32 = 0, nr: UInt64 = 0, rval: Int64 = 0, isErr: Int32 = 0, sp: UInt64 = 0
        var args = SyscallArgs()
        guard args.withPointer({ pt_syscall_info(pid_t(tid), &op, &nr, $0, &rval, &isErr, &sp) }) == 0 else { return nil }
        let kind = SyscallInfo.Op(rawValue: op) ?? .none
        // At a seccomp stop the shim gives the filter's data in rval.
        if kind == .seccomp { return SyscallInfo(op: kind, nr: nr, args: args, retData: UInt32(truncatingIfNeeded: rval), sp: sp) }
        return SyscallInfo(op: kind, nr: nr, args: args, rval: rval, isError: isErr != 0, sp: sp)
    }

    func signalInfo(_ tid: Int) -> SignalInfo? {
        var signo: Int32 = 0, code: Int32 = 0, from: Int32 = 0, st: Int32 = 0
        guard pt_getsiginfo(pid_t(tid), &signo, &code, &from, &st) == 0 else { return nil }
        return SignalInfo(signo: signo, code: code, pid: from, status: st)
    }

    func stackPointer(_ tid: Int) -> UInt64? {
        var sp: UInt64 = 0
        return pt_stack_pointer(pid_t(tid), &sp) == 0 ? sp : nil
    }

    func interruptedCall(_ tid: Int) -> InterruptedCall? {
        var nr: Int64 = 0, ret: Int64 = 0, sp: UInt64 = 0
        return pt_interrupted_call(pid_t(tid), &nr, &ret, &sp) == 0 ? InterruptedCall(nr: nr, ret: ret, sp: sp) : nil
    }

    func interruptedReturn(_ tid: Int) -> Int64? {
        var ret: Int64 = 0
        return pt_interrupted_return(pid_t(tid), &ret) == 0 ? ret : nil
    }

    func readMemory(_ tid: Int, at address: UInt64, count: Int) -> [UInt8]? {
        var buf = [UInt8](repeating: 0, count: count)
        let n = buf.withUnsafeMutableBytes { readMemory(tid, at: address, into: $0) }
        guard n > 0 else { return nil }
        if n < count { buf.removeSubrange(n...) }
        return buf
    }

    func readMemory(_ tid: Int, at address: UInt64, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard let base = buffer.baseAddress, !buffer.isEmpty else { return 0 }
        return pt_read_mem(pid_t(tid), address, base, UInt(buffer.count))
    }

    func parent(of pid: Int) -> Int? { ProcFS.ppid(pid) }

    func threadGroup(of tid: Int) -> Int? { ProcStatus(pid: tid)?.tgid }

    func signalMasks(of pid: Int) -> (ignored: UInt64, caught: UInt64)? {
        guard let status = ProcStatus(pid: pid), let ign = status.field("SigIgn").flatMap({ UInt64($0, radix: 16) }),
              let cgt = status.field("SigCgt").flatMap({ UInt64($0, radix: 16) }) else { return nil }
        return (ign, cgt)
    }

    func commandLine(of pid: Int) -> (argv: [String], lossy: Bool)? { ProcFS.cmdline(pid) }
    func executable(of pid: Int) -> String? { ProcFS.readlink("/proc/\(pid)/exe") }
    func auxiliaryVector(of pid: Int) -> [UInt8]? { SmallFile.read("/proc/\(pid)/auxv") }
    func pidNamespace(of pid: Int) -> String? { ProcFS.readlink("/proc/\(pid)/ns/pid") }

    func namespacePids(of pid: Int) -> [Int]? {
        guard let v = ProcStatus(pid: pid)?.nsPids, !v.isEmpty else { return nil }
        return v
    }

    func processGroup(of pid: Int) -> Int { Int(pt_getpgid(pid_t(pid))) }
    func session(of pid: Int) -> Int { Int(pt_getsid(pid_t(pid))) }
    func openPidfd(_ pid: Int) -> Int32 { pt_pidfd_open(pid_t(pid)) }

    func orphanAdopter() -> Int? {
        let r = pt_orphan_adopter(1000)
        return r > 0 ? Int(r) : nil
    }
    func wakeAfter(ms: Int) { pt_control_alarm(ms) }
}
