import CProcTrace
#if os(Linux)
@preconcurrency import Glibc

/// The system around the source: finding tracefs, checking the privilege to use it (instances
/// and their owners: SchedInstances.swift), reading an instance's overrun counts, and what the
/// clock calibration may rely on (steady trace clocks, pinning to one CPU).
extension SchedSource {

    /// The tracefs mount point, mounting tracefs at /sys/kernel/tracing if it is missing.
    static func tracefsRoot() -> String? {
        for root in ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"] where access("\(root)/instances", F_OK) == 0 {
            return root
        }
        if mount("nodev", "/sys/kernel/tracing", "tracefs", 0, nil) == 0,
           access("/sys/kernel/tracing/instances", F_OK) == 0 {
            return "/sys/kernel/tracing"
        }
        return nil
    }

    /// Why scheduler events cannot be had here, or nil if they can (one line, for stderr).
    static func permissionProblem() -> String? {
        guard let root = tracefsRoot() else {
            if access("/sys/kernel/tracing", X_OK) != 0 && errno == EACCES {
                return "no access to tracefs at /sys/kernel/tracing (needs root or CAP_SYS_ADMIN)"
            }
            return geteuid() == 0 ? "tracefs is not available" : "tracefs is not mounted and mounting it needs root"
        }
        if access("\(root)/instances", W_OK) != 0 {
            return "cannot create a tracefs instance in \(root)/instances (needs root or write access to tracefs)"
        }
        if access("\(root)/events/sched/sched_switch/format", R_OK) != 0 {
            return "the sched tracepoints are not readable in \(root)/events"
        }
        // Inside a pid namespace (a container) the tracepoints carry the host's tids: the source
        // pairs them with ours (PidNamespaceMap), which needs task_newtask.
        if !ProcFS.inInitialPidNamespace(), access("\(root)/events/task/task_newtask/format", R_OK) != 0 {
            return "proctrace runs in a pid namespace, and without task/task_newtask the scheduler's tids cannot be paired with ours"
        }
        return nil
    }

    /// Root (or CAP_SYS_ADMIN/CAP_PERFMON with a writable tracefs) and tracefs usable.
    public static func isPermitted() -> Bool { permissionProblem() == nil }

    /// Events an instance's ring buffers overran or dropped, from `per_cpu/cpuN/stats`.
    static func overruns(instance path: String, cpus: [Int32]) -> Int {
        var n = 0
        for cpu in cpus {
            guard let text = SmallFile.text("\(path)/per_cpu/cpu\(cpu)/stats") else { continue }
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: ":")
                guard parts.count == 2 else { continue }
                let key = parts[0].trimmingBlanks
                if key == "overrun" || key == "commit overrun" || key == "dropped events" {
                    n += Int(parts[1].trimmingBlanks) ?? 0
                }
            }
        }
        return n
    }

    /// Clocks that count nanoseconds steadily, so that markers can map them to CLOCK_MONOTONIC.
    static let calibratableClocks: Set<String> = ["local", "global", "perf", "mono_raw", "boot", "tai"]

    typealias AffinityCall = @convention(c) (pid_t, Int, UnsafeMutableRawPointer) -> Int32
    /// glibc's `sched_getaffinity(2)`/`sched_setaffinity(2)` (GNU extensions that the Glibc
    /// module does not import), looked up at run time; nil if missing.
    static let affinityCalls: (get: AffinityCall, set: AffinityCall)? = {
        guard let g = dlsym(nil, "sched_getaffinity"), let s = dlsym(nil, "sched_setaffinity") else { return nil }
        return (unsafeBitCast(g, to: AffinityCall.self), unsafeBitCast(s, to: AffinityCall.self))
    }()
}

#endif
