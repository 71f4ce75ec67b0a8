@preconcurrency import Glibc

/// Small readers of /proc, the kernel's own account of a process.
enum ProcFS {
    /// The inode of the initial pid namespace (`PROC_PID_INIT_INO`), fixed since Linux 3.8.
    static let initialPidNamespace = "pid:[4026531836]"

    /// Whether proctrace runs in the kernel's own pid namespace (not in a container's), where
    /// the pids of scheduler tracepoints are the pids ptrace reports.
    static func inInitialPidNamespace() -> Bool {
        readlink("/proc/self/ns/pid").map { $0 == initialPidNamespace } ?? true
    }

    /// Why /proc cannot be trusted to name the pids ptrace reports: a /proc mounted for another
    /// pid namespace (`unshare --pid --fork` without `--mount-proc`) shows other processes
    /// under the same numbers. nil when /proc is this namespace's.
    static func namespaceProblem() -> String? {
        guard let me = readlink("/proc/self") else {
            return access("/proc/self/stat", R_OK) == 0 ? nil : "/proc is not mounted; proctrace reads it for every process"
        }
        guard Int32(me) == getpid() else {
            return "/proc belongs to another pid namespace (it calls proctrace \(me), proctrace is \(getpid())): " +
                "its pids would name other processes; mount a proc for this namespace (unshare --pid --fork --mount-proc)"
        }
        return nil
    }

    /// argv from /proc/PID/cmdline (NUL-separated), whole; `lossy` when an argument held
    /// bytes that are not valid UTF-8.
    static func cmdline(_ pid: Int) -> (argv: [String], lossy: Bool)? {
        guard let b = SmallFile.read("/proc/\(pid)/cmdline", limit: .max), !b.isEmpty else { return nil }
        var lossy = false
        var parts = b.split(separator: 0, omittingEmptySubsequences: false).map { decodeArgument(Array($0), lossy: &lossy) }
        if parts.last == "" { parts.removeLast() }
        return (parts, lossy)
    }

    /// An argument as UTF-8; sets `lossy` when some bytes had to become U+FFFD.
    static func decodeArgument(_ bytes: [UInt8], lossy: inout Bool) -> String {
        if let s = String(validating: bytes, as: UTF8.self) { return s }
        lossy = true
        return decode(bytes)
    }

    /// The same from bytes in place (an exec's new stack, read into the loop's buffer).
    static func decodeArgument(_ bytes: UnsafeRawBufferPointer, lossy: inout Bool) -> String {
        if let s = String(validating: bytes, as: UTF8.self) { return s }
        lossy = true
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The target of a symbolic link (`/proc/PID/exe`, `/proc/PID/ns/pid`), or nil. The
    /// corresponding C function is `readlink(2)`.
    static func readlink(_ path: String) -> String? {
        // On the stack: this runs at every exec (`/proc/PID/exe`).
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Int(PATH_MAX)) { b -> String? in
            let n = b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: b.count) { Glibc.readlink(path, $0, b.count) }
            guard n >= 0 else { return nil }
            return String(decoding: UnsafeBufferPointer(rebasing: b[..<n]), as: UTF8.self)
        }
    }

    /// Fields of /proc/PID/stat after the command: [state, ppid, pgrp, session, ...].
    static func statFields(_ pid: Int) -> [Substring]? { statFields(path: "/proc/\(pid)/stat") }

    /// The same from a stat file's path (`/proc/PID/stat`, `/proc/PID/task/TID/stat`, or one
    /// in another /proc): the one parser of that file's fields.
    static func statFields(path: String) -> [Substring]? {
        guard let b = SmallFile.read(path) else { return nil }
        let s = String(decoding: b, as: UTF8.self)
        guard let close = s.lastIndex(of: ")") else { return nil }
        return s[s.index(after: close)...].split(separator: " ")
    }

    /// The command name (/proc/PID/comm), nil if gone.
    static func comm(_ pid: Int) -> String? {
        guard let b = SmallFile.read("/proc/\(pid)/comm") else { return nil }
        let s = String(decoding: b, as: UTF8.self)
        return s.hasSuffix("\n") ? String(s.dropLast()) : s
    }

    /// The pid of the task's tracer (TracerPid: in /proc/TID/status; 0: none), nil if gone.
    static func tracerPid(_ tid: Int) -> Int? {
        ProcStatus(pid: tid)?.field("TracerPid").flatMap { Int($0) }
    }

    /// The current parent pid (field 4 of /proc/PID/stat).
    static func ppid(_ pid: Int) -> Int? {
        guard let f = statFields(pid), f.count > 1 else { return nil }
        return Int(f[1])
    }

    /// Text as UTF-8; invalid bytes become U+FFFD (the trace format is UTF-8 JSON).
    static func decode(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    static func hostInfo() -> (kernel: String, arch: String, cpus: Int) {
        var u = utsname()
        uname(&u)
        func field<T>(_ t: T) -> String {
            withUnsafeBytes(of: t) { raw in
                let b = raw.prefix { $0 != 0 }
                return String(decoding: b, as: UTF8.self)
            }
        }
        return (field(u.release), field(u.machine), Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }
}
