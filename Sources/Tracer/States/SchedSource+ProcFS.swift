import CProcTrace
#if os(Linux)
@preconcurrency import Glibc

/// What the scheduler source reads from /proc: the syscall a task sleeps in.
extension SchedSource {

    /// The syscall a task sleeps in, from `/proc/TID/syscall` ("202 0x… …" → "futex").
    static func procSyscallName(_ tid: Int) -> String? {
        guard let text = SmallFile.text("/proc/\(tid)/syscall"),
              let first = text.split(separator: " ").first,
              let nr = Int(first.trimmingBlanks()), nr >= 0 else { return nil }
        // The wait family is known exactly from ptrace; a late look here could catch a task
        // already in its next wait and mislabel an earlier sleep.
        if nr == pt_nr_wait4() || nr == pt_nr_waitid() { return nil }
        return SyscallNames.name(nr)
    }
}

/// Names of the syscalls a task commonly sleeps in.
enum SyscallNames {
    #if arch(x86_64)
    static let table: [Int: String] = [
        0: "read", 1: "write", 7: "poll", 17: "pread64", 18: "pwrite64", 19: "readv", 20: "writev",
        23: "select", 24: "sched_yield", 34: "pause", 35: "nanosleep", 42: "connect", 43: "accept",
        44: "sendto", 45: "recvfrom", 46: "sendmsg", 47: "recvmsg", 65: "semop",
        69: "msgsnd", 70: "msgrcv", 72: "fcntl", 73: "flock", 74: "fsync", 128: "rt_sigtimedwait",
        130: "rt_sigsuspend", 202: "futex", 208: "io_getevents", 220: "semtimedop",
        230: "clock_nanosleep", 232: "epoll_wait", 243: "mq_timedreceive",
        257: "openat", 270: "pselect6", 271: "ppoll", 275: "splice", 281: "epoll_pwait",
        288: "accept4", 299: "recvmmsg", 426: "io_uring_enter", 441: "epoll_pwait2", 449: "futex_waitv",
    ]
    #elseif arch(arm64)
    static let table: [Int: String] = [
        22: "epoll_pwait", 25: "fcntl", 32: "flock", 63: "read", 64: "write", 65: "readv", 66: "writev",
        67: "pread64", 68: "pwrite64", 72: "pselect6", 73: "ppoll", 82: "fsync", 98: "futex",
        101: "nanosleep", 115: "clock_nanosleep", 124: "sched_yield", 133: "rt_sigsuspend",
        137: "rt_sigtimedwait", 202: "accept", 203: "connect", 206: "sendto", 207: "recvfrom",
        211: "sendmsg", 212: "recvmsg", 242: "accept4",
    ]
    #else
    static let table: [Int: String] = [:]
    #endif

    static func name(_ nr: Int) -> String { table[nr] ?? "syscall:\(nr)" }
}
#endif
