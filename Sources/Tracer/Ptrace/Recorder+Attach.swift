import CProcTrace
@preconcurrency import Glibc
import Lifecycle

/// What `record -p` found of one process at the attach instant.
struct AttachedProcess {
    var pid: Int
    var ppid: Int
    var argv: [String]
    var exe: String?
    /// The /proc state letter before proctrace stopped it (R, S, D, T, t, Z …).
    var stateLetter: String
    /// Start time, clock ticks after boot (field 22 of /proc/PID/stat).
    var startTicks: UInt64
    var threads: [Int]
}

extension Recorder {
    /// Why `record -p` cannot attach to these pids, in one line naming the cause and the knob;
    /// nil when nothing stands in the way. Checked before anything is seized or written.
    static func attachProblem(_ pids: [Int]) -> String? {
        let me = Int(getpid())
        for pid in pids {
            guard pid > 0, let status = ProcStatus(pid: pid) else {
                return "cannot attach to \(pid): no such process"
            }
            if pid == me { return "cannot attach to \(pid): that is proctrace itself" }
            func field(_ name: String) -> [Int] {
                status.field(name).map { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap { Int($0) } } ?? []
            }
            let comm = ProcFS.comm(pid) ?? "?"
            if status.field("State")?.first == "Z" { return "cannot attach to \(pid) (\(comm)): it is a zombie (exited, not yet reaped)" }
            if let tracer = field("TracerPid").first, tracer != 0, tracer != me {
                let by = ProcFS.comm(tracer) ?? "?"
                return "cannot attach to \(pid) (\(comm)): it is already traced by \(tracer) (\(by)); a process has one " +
                    "tracer at a time (detach that one first)"
            }
            let uids = field("Uid"), euid = Int(geteuid())
            if !hasCapSysPtrace(), uids.contains(where: { $0 != euid }) {
                return "cannot attach to \(pid) (\(comm)): it runs as uid \(uids.first.map(String.init) ?? "?") and " +
                    "proctrace as uid \(euid); tracing another user's process needs root (CAP_SYS_PTRACE)"
            }
            if let scope = SmallFile.read("/proc/sys/kernel/yama/ptrace_scope")
                .flatMap({ Int(String(decoding: $0, as: UTF8.self).trimmingBlanks) }) {
                if scope >= 3 {
                    return "cannot attach to \(pid) (\(comm)): kernel.yama.ptrace_scope is 3 (no process may attach, until reboot)"
                }
                if scope == 2 && !hasCapSysPtrace() {
                    return "cannot attach to \(pid) (\(comm)): kernel.yama.ptrace_scope is 2 (only CAP_SYS_PTRACE may " +
                        "attach): run proctrace as root, or set the sysctl kernel.yama.ptrace_scope=0"
                }
                if scope == 1 && !hasCapSysPtrace() && !isAncestor(me, of: pid) {
                    return "cannot attach to \(pid) (\(comm)): kernel.yama.ptrace_scope is 1 (only a process's ancestors " +
                        "may attach): run proctrace as root, or set the sysctl kernel.yama.ptrace_scope=0"
                }
            }
        }
        return nil
    }

    /// Whether proctrace's effective capabilities include CAP_SYS_PTRACE.
    static func hasCapSysPtrace() -> Bool {
        guard let mask = ProcStatus(dir: "/proc/self")?.field("CapEff").flatMap({ UInt64($0, radix: 16) }) else { return false }
        return mask & (1 << UInt64(CAP_SYS_PTRACE)) != 0
    }

    static func isAncestor(_ a: Int, of pid: Int) -> Bool {
        var p = pid
        for _ in 0..<4096 {
            guard let pp = ProcFS.ppid(p), pp > 0 else { return false }
            if pp == a { return true }
            p = pp
        }
        return false
    }

    /// Seizes every thread of each process and of all its living descendants, and holds them
    /// all stopped: each thread is seized and interrupted, and a process's children are read
    /// only once all its threads have stopped, so a fork that was under way has finished and
    /// its child is listed (or, begun after the seize, was reported to proctrace and
    /// auto-attached). Threads are listed again until no new one appears. On a refusal every
    /// task seized so far is released as it was, and the error says why.
    func seizeAll(_ roots: [Int]) throws(RecordError) -> [AttachedProcess] {
        var found: [AttachedProcess] = []
        var seenPids = Set<Int>()
        var queue = roots
        let options = ptraceOptions
        while !queue.isEmpty {
            let pid = queue.removeFirst()
            guard seenPids.insert(pid).inserted else { continue }
            // What /proc says before proctrace stops it.
            guard let f = ProcFS.statFields(pid), f.count > 19 else { continue }   // gone already
            var proc = AttachedProcess(pid: pid, ppid: Int(f[1]) ?? 0, argv: ProcFS.cmdline(pid)?.argv ?? [],
                                       exe: ProcFS.readlink("/proc/\(pid)/exe"), stateLetter: String(f[0]),
                                       startTicks: UInt64(f[19]) ?? 0, threads: [])
            if proc.stateLetter == "Z" || proc.stateLetter == "X" { continue }   // a zombie has nothing left to trace
            var tids = Set<Int>()
            while true {
                let listed = Self.taskIDs(pid).filter { !tids.contains($0) }
                if listed.isEmpty { break }
                for tid in listed {
                    let r = pt_seize(pid_t(tid), options)
                    if r == 0 {
                        check(kernel.interrupt(tid), "PTRACE_INTERRUPT", tid)
                    } else if ProcFS.tracerPid(tid) != Int(getpid()) {
                        // Gone meanwhile (ESRCH) is no refusal: it just is not there.
                        if -r == ESRCH || ProcFS.statFields(tid) == nil { tids.insert(tid); continue }
                        releaseSeized()
                        throw RecordError("cannot attach to \(tid) (thread of \(pid)): ptrace refused it: \(String(cString: strerror(Int32(-r))))")
                    }
                    // (Already proctrace's: auto-attached at a fork or clone during the walk.)
                    tids.insert(tid)
                    seizedTids.append(tid)
                }
            }
            for tid in tids.sorted() where awaitAttachStop(tid) { proc.threads.append(tid) }
            guard proc.threads.contains(pid) || !proc.threads.isEmpty else { continue }
            found.append(proc)
            for tid in proc.threads { queue += Self.children(pid: pid, tid: tid) }
        }
        return found
    }

    /// The thread ids of a process (/proc/PID/task).
    static func taskIDs(_ pid: Int) -> [Int] {
        guard let d = opendir("/proc/\(pid)/task") else { return [] }
        defer { closedir(d) }
        var out: [Int] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if let tid = Int(name) { out.append(tid) }
        }
        return out.sorted()
    }

    /// The children a thread created (/proc/PID/task/TID/children).
    static func children(pid: Int, tid: Int) -> [Int] {
        guard let b = SmallFile.read("/proc/\(pid)/task/\(tid)/children") else { return [] }
        return String(decoding: b, as: UTF8.self).split(separator: " ").compactMap { Int($0.trimmingBlanks) }
    }

    /// Waits for a seized thread's first stop. A signal that arrives first is kept to be
    /// delivered when the thread is resumed; a thread already in a job-control stop stays
    /// in it. Returns false if the thread died meanwhile (its exit is kept for the loop).
    func awaitAttachStop(_ tid: Int) -> Bool {
        while true {
            let (r, status) = kernel.wait(tid, extraFlags: 0, control: false)
            if r < 0 { return false }
            if pt_wifexited(status) != 0 || pt_wifsignaled(status) != 0 {
                attachExits.append((tid, status))
                return false
            }
            let event = Int((status >> 16) & 0xFFFF)
            let sig = pt_wstopsig(status)
            if event == Int(PT_EVENT_STOP) {
                if sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU { attachGroupStopped.insert(tid) }
                attachStopped.insert(tid)
                return true
            }
            if event == 0 && sig != (SIGTRAP | 0x80) {
                // A signal on its way: deliver it now, as it would have been without proctrace
                // (only a signal-delivery stop can inject one); the interrupt stop follows.
                check(kernel.cont(tid, signal: sig), "PTRACE_CONT", tid)
                continue
            }
            // A fork, clone or exec event begun before the interrupt: its child is found in
            // the walk (auto-attached); go on to the interrupt stop.
            check(kernel.cont(tid, signal: 0), "PTRACE_CONT", tid)
        }
    }

    /// Lets every task seized so far go, as it was (one in a job-control stop stays in it).
    func releaseSeized() {
        for tid in seizedTids {
            if !attachStopped.contains(tid) && !awaitAttachStop(tid) { continue }
            check(kernel.detach(tid, signal: 0), "PTRACE_DETACH", tid)
        }
        seizedTids.removeAll()
    }
}

extension Recorder {
    /// `record -p`: seizes the processes and their descendants, writes an `attach` line for
    /// each, lets them go and records until they are all gone or proctrace is told to stop
    /// (then it detaches and they run on).
    func attachAndRecord() throws(RecordError) {
        // Ctrl-C or SIGTERM during the walk is acted on as soon as the loop runs.
        pt_control_install()
        let w0 = monotonicNow()
        let found: [AttachedProcess]
        do {
            found = try seizeAll(options.attach)
        } catch {
            releaseSeized()
            throw error
        }
        let w1 = monotonicNow()
        guard !found.isEmpty else {
            releaseSeized()
            throw RecordError("cannot attach to \(options.attach.map(String.init).joined(separator: ",")): gone before proctrace could seize it")
        }
        let t = clock.now()
        // Start times are clock ticks after boot (CLOCK_BOOTTIME); the trace's clock is
        // CLOCK_MONOTONIC: convert through the age at this instant.
        var bt = timespec(), rt = timespec()
        clock_gettime(CLOCK_BOOTTIME, &bt)
        clock_gettime(CLOCK_REALTIME, &rt)
        let bootNow = Int64(bt.tv_sec) * 1_000_000_000 + Int64(bt.tv_nsec)
        let realNow = Int64(rt.tv_sec) * 1_000_000_000 + Int64(rt.tv_nsec)
        let hz = Int64(max(1, sysconf(Int32(_SC_CLK_TCK))))
        for p in found {
            table.addProcess(pid: p.pid, parent: p.ppid)
            for tid in p.threads where tid != p.pid { table.addThread(tid: tid, pid: p.pid) }
            for tid in p.threads where attachGroupStopped.contains(tid) { table.tasks[tid]?.groupStopped = true }
            table.procs[p.pid]?.ignoresSIGCHLD = kernel.ignores(p.pid, signal: SIGCHLD)
            pids.learn(pid: p.pid, creator: p.ppid, kernel: kernel)
            let fd = kernel.openPidfd(p.pid)
            if fd >= 0 { pidfds[p.pid] = fd }
            let age = bootNow - Int64(p.startTicks) * (1_000_000_000 / hz)
            let pgid = kernel.processGroup(of: p.pid), sid = kernel.session(of: p.pid)
            emit(TraceEvent(t: t, .attach(pid: p.pid, ppid: p.ppid, argv: p.argv, exe: p.exe, state: p.stateLetter,
                                          started: Self.rfc3339(ns: realNow - age), ageNs: Int(max(0, age)),
                                          threads: p.threads.count > 1 ? p.threads : nil,
                                          pgid: pgid >= 0 ? pgid : nil, sid: sid >= 0 ? sid : nil)))
        }
        // Let them go: running, or left in the job-control stop they were in.
        for p in found {
            for tid in p.threads {
                resume(tid, attachGroupStopped.contains(tid) ? .listen : .run)
            }
        }
        let w2 = monotonicNow()
        // The state source follows them from now on. Not while they are held: telling the
        // kernel's pid filter costs ~10 ms a thread here (a tracefs write), and their states
        // are unknown until first reported either way.
        for p in found { for tid in p.threads { states?.track(tid: tid, pid: p.pid, at: t) } }
        flush()
        if getenv("PROCTRACE_TIMES") != nil {
            Self.warn("proctrace times: attach: \(found.count) processes, \(seizedTids.count) threads seized and stopped " +
                "in \((w1 - w0) / 1000) us, held stopped \((w2 - w0) / 1000) us in all")
        }
        // Threads that died while the walk held the others.
        for (tid, status) in attachExits where table.tasks[tid] != nil { taskExited(tid, status: status, t: t) }
        attachExits = []
        flush()
        eventLoop()
        flush()
    }

    /// A process of an attached recording exited. Its parent's wait calls are not seen
    /// (no seccomp filter can be put into a running process), so its reap is seen by the
    /// pidfd opened while it was stopped: the moment the zombie is released, by its parent
    /// (`auto` when that parent ignores SIGCHLD).
    func attachedProcessExited(_ pid: Int, parent: Int, t: Int64) {
        let ignores = table.procs[parent]?.autoReapsChildren == true || kernel.ignores(parent, signal: SIGCHLD)
        var fd = pidfds.removeValue(forKey: pid) ?? -1
        if fd < 0 { fd = kernel.openPidfd(pid) }
        if fd < 0 {
            // Already released: the reap happened by now, and is counted as unobserved.
            table.procs.removeValue(forKey: pid)
            table.procs[parent]?.children.remove(pid)
            pids.forget(pid: pid)
            emit(TraceEvent(t: t, .reap(pid: pid, by: parent, how: ignores ? .auto : .wait, unobserved: true)))
            return
        }
        table.procs.removeValue(forKey: pid)
        table.procs[parent]?.children.remove(pid)
        pids.forget(pid: pid)
        flush()   // the lines before this reap are written before it (`adoptedZombie`)
        watcher.watch(pid: pid, pidfd: fd, by: parent, how: ignores ? .auto : .wait, seenBy: "pidfd")
    }
}

extension Recorder {
    /// A running process's command name (/proc/PID/comm), nil if there is none.
    public static func commandName(of pid: Int) -> String? { ProcFS.comm(pid) }
}
