import CProcTrace
#if os(Linux)
@preconcurrency import Glibc

/// Who owns a tracefs instance, written into its name.
///
/// tracefs instances are one set for the whole machine, shared by every pid namespace, while
/// a pid names a process only within one namespace (every recorder in a container is pid 1).
/// So an instance is named after its owner's pid namespace (the inode of `/proc/self/ns/pid`),
/// its pid there, and its start time (`/proc/PID/stat` field 22, clock ticks since boot):
/// `proctrace-ns4026531836-pid4100-st123456-1`. That is unique across namespaces, and lets a
/// later recorder prove that the owner is gone before it sweeps the instance away.
struct InstanceOwner: Equatable {
    var pidNamespace: UInt64
    var pid: Int
    var startTime: UInt64

    /// Every name starts with this. An instance that recordings hand on to each other (parked
    /// between them, docs/states.md "Parked instances") is named `proctrace-pool-…`: versions
    /// before parking take such a name for another form and leave the instance alone (they would
    /// not see its locks).
    static let prefix = "proctrace-"

    /// This process.
    static func current() -> InstanceOwner {
        InstanceOwner(pidNamespace: ownNamespace() ?? 0, pid: Int(getpid()), startTime: startTime(of: "self") ?? 0)
    }

    /// The instance name for this owner's `n`-th instance. A `tag` (`PROCTRACE_INSTANCE_TAG`,
    /// for tests) goes first, `proctrace-tagT-pool-ns…`: recordings claim only parked instances
    /// of their own tag, so a test's parked instance is never claimed by another checkout's
    /// recording on the machine, nor one of theirs by the test. Versions before tags read a
    /// tagged name as one of another form: they neither claim nor sweep it.
    func name(_ n: Int, pooled: Bool = false, tag: String? = nil) -> String {
        "\(Self.prefix)\(tag.map { "tag\($0)-" } ?? "")\(pooled ? "pool-" : "")ns\(pidNamespace)-pid\(pid)-st\(startTime)-\(n)"
    }

    /// The name with its tag and pool marks taken off (`ns…-pid…-st…-n`), the tag, and whether
    /// it is pooled; nil for a name of another form.
    static func parts(of name: String) -> (rest: Substring, tag: String?, pooled: Bool)? {
        guard name.hasPrefix(prefix) else { return nil }
        var rest = name.dropFirst(prefix.count)
        var tag: String?
        if rest.hasPrefix("tag"), let dash = rest.firstIndex(of: "-") {
            let t = rest[rest.index(rest.startIndex, offsetBy: 3)..<dash]
            guard isValidTag(t) else { return nil }
            tag = String(t)
            rest = rest[rest.index(after: dash)...]
        }
        let pooled = rest.hasPrefix("pool-")
        if pooled { rest = rest.dropFirst(5) }
        return (rest, tag, pooled)
    }

    /// Whether an instance name is of the pooled form (its creator is named as in any other).
    static func isPooled(_ name: String) -> Bool { parts(of: name)?.pooled ?? false }

    /// The tag of an instance name (nil: untagged, or of another form).
    static func tag(of name: String) -> String? { parts(of: name)?.tag }

    /// A tag is 1 to 32 ASCII letters and digits: it can neither break the name's form nor
    /// reach outside `instances/`.
    static func isValidTag<S: StringProtocol>(_ t: S) -> Bool {
        !t.isEmpty && t.utf8.count <= 32 && t.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 | 0x20 >= 97 && $0 | 0x20 <= 122) }
    }

    /// `PROCTRACE_INSTANCE_TAG`, when set and valid (letters and digits, at most 32); a set but
    /// invalid one is said on stderr once and not used.
    static let environmentTag: String? = {
        guard let raw = getenv("PROCTRACE_INSTANCE_TAG").map({ String(cString: $0) }), !raw.isEmpty else { return nil }
        guard isValidTag(raw) else {
            fputs("proctrace: PROCTRACE_INSTANCE_TAG must be 1 to 32 letters and digits, not \"\(raw)\": not used\n", stderr)
            return nil
        }
        return raw
    }()

    /// The owner (for a pooled instance: its creator) named by an instance name of this form,
    /// tagged or not, or nil (another form, such as the `proctrace-PID-N` of earlier versions,
    /// which names no namespace).
    init?(instanceName name: String) {
        guard let rest = Self.parts(of: name)?.rest else { return nil }
        let parts = rest.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0].hasPrefix("ns"), parts[1].hasPrefix("pid"), parts[2].hasPrefix("st"),
              let ns = UInt64(parts[0].dropFirst(2)), let pid = Int(parts[1].dropFirst(3)),
              let st = UInt64(parts[2].dropFirst(2)), Int(parts[3]) != nil, ns != 0, pid > 0 else { return nil }
        self.init(pidNamespace: ns, pid: pid, startTime: st)
    }

    init(pidNamespace: UInt64, pid: Int, startTime: UInt64) {
        self.pidNamespace = pidNamespace; self.pid = pid; self.startTime = startTime
    }

    /// What can be proved about an instance's owner from here.
    enum Liveness: Equatable { case alive, gone, unknown }

    /// Whether the owner still runs. `gone` only when that is proved: the owner's namespace is
    /// this one (or one whose every process is visible here) and no process there has its pid
    /// with its start time. A namespace out of sight (a sibling container, or the host seen from
    /// a container) is `unknown`: its instances are left alone.
    func liveness(procRoot: String = "/proc") -> Liveness {
        guard let mine = Self.ownNamespace(procRoot: procRoot), pidNamespace != 0 else { return .unknown }
        // /proc must be this namespace's (`--mount-proc`), or its pids name other processes.
        guard ProcFS.namespaceProblem() == nil else { return .unknown }
        if pidNamespace == mine {
            return check(candidate: "\(procRoot)/\(pid)", procRoot: procRoot) ?? .gone
        }
        // Another namespace: from the initial one every namespace's processes are visible;
        // from a container only its descendants'. Look for the owner among them.
        guard let entries = SmallFile.names(in: procRoot) else { return .unknown }
        var sawNamespace = mine == Self.initialNamespace
        var unreadable = false
        for entry in entries where entry.first?.isNumber == true {
            let dir = "\(procRoot)/\(entry)"
            guard let link = ProcFS.readlink("\(dir)/ns/pid") else {
                // Not ours to read (this machine's init), a zombie, or gone meanwhile. A
                // process whose only pid is the one here lives in this namespace, not in the
                // owner's; a zombie is no live owner.
                if let levels = Self.pidLevels(dir), levels > 1,
                   SmallFile.read("\(dir)/stat").flatMap({ SampledStateSource.stateLetter(statLine: String(decoding: $0, as: UTF8.self)) }) != "Z" {
                    unreadable = true
                }
                continue
            }
            guard Self.inode(link) == pidNamespace else { continue }
            sawNamespace = true
            guard let nspid = Self.innermostPid(dir), nspid == pid else { continue }
            if let verdict = check(candidate: dir, procRoot: procRoot) { return verdict }
        }
        return sawNamespace && !unreadable ? .gone : .unknown
    }

    /// `alive` if the process at `dir` is the owner, `unknown` if that cannot be told, nil if
    /// it is not the owner (or is not there).
    private func check(candidate dir: String, procRoot: String) -> Liveness? {
        guard let st = Self.startTime(of: dir) else {
            return access(dir, F_OK) == 0 ? .unknown : nil
        }
        if st == startTime { return .alive }
        // Start times are shown through the reader's time namespace: compare only within one.
        let ours = ProcFS.readlink("\(procRoot)/self/ns/time"), theirs = ProcFS.readlink("\(dir)/ns/time")
        return ours == theirs ? nil : .unknown
    }

    /// The inode of the initial pid namespace (`PROC_PID_INIT_INO`).
    static let initialNamespace: UInt64 = 4026531836

    static func ownNamespace(procRoot: String = "/proc") -> UInt64? {
        ProcFS.readlink("\(procRoot)/self/ns/pid").flatMap(inode)
    }

    /// "pid:[4026531836]" → 4026531836.
    static func inode(_ link: String) -> UInt64? {
        guard let a = link.firstIndex(of: "["), let b = link.lastIndex(of: "]"), a < b else { return nil }
        return UInt64(link[link.index(after: a)..<b])
    }

    /// Field 22 of `/proc/X/stat` (`X` a pid, "self", or a whole directory path).
    static func startTime(of what: String) -> UInt64? {
        guard let f = ProcFS.statFields(path: what.hasPrefix("/") ? "\(what)/stat" : "/proc/\(what)/stat") else { return nil }
        // After the command: state is field 3, so start time (field 22) is f[19].
        return f.count > 19 ? UInt64(f[19]) : nil
    }

    /// The `NSpid:` entries of `DIR/status`: the process's pid in each namespace from the one
    /// of this /proc down to its own.
    static func nsPids(_ dir: String) -> [Int]? {
        ProcStatus(dir: dir)?.nsPids
    }

    /// The pid in the process's own namespace (the last `NSpid:` entry).
    static func innermostPid(_ dir: String) -> Int? { nsPids(dir)?.last }

    /// How many pid namespaces, from this /proc's down, the process has a pid in.
    static func pidLevels(_ dir: String) -> Int? { nsPids(dir)?.count }
}

/// The two flocks that say who holds a pooled instance (docs/states.md, "Parked instances"):
/// the instance directory's, held exclusively by the recording that uses it (and by its
/// parker while that resets it), and its `per_cpu` directory's, held by the parker while the
/// instance waits, reset, for the next recording. Both are plain directory opens and flocks:
/// no tracing lock of the kernel, which a removal holds for ~0.1 s.
enum InstanceLocks {
    static func openDirectory(_ path: String) -> Int32 { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }

    /// Whether `fd`'s flock is taken (`exclusive` or shared) without waiting.
    static func tryLock(_ fd: Int32, exclusive: Bool = true) -> Bool {
        flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0
    }

    /// Whether a parker is resetting the instance at `path` (the flock of its `options`
    /// directory), to hold it parked once done.
    static func isResetting(_ path: String) -> Bool {
        let r = openDirectory("\(path)/options")
        guard r >= 0 else { return false }
        defer { close(r) }
        return !tryLock(r, exclusive: false) && errno == EWOULDBLOCK
    }

    /// Whether a live parker holds the instance at `path` parked: its `per_cpu` flock is taken
    /// exclusively. Asked with a shared flock, let go at once: two askers never mistake each
    /// other for a parker.
    static func isParked(_ path: String) -> Bool {
        let k = openDirectory("\(path)/per_cpu")
        guard k >= 0 else { return false }
        defer { close(k) }
        return !tryLock(k, exclusive: false) && errno == EWOULDBLOCK
    }
}

extension SchedSource {
    /// Makes a new instance directory named for this process (`InstanceOwner`), never taking
    /// over one that exists (mkdir's EEXIST moves on to the next number). A pooled one (named
    /// `proctrace-pool-…`) comes with its "in use" flock taken: the returned fd holds it.
    static func makeInstance(root: String, pooled: Bool = false, tag: String? = nil) throws -> (path: String, lock: Int32) {
        let owner = InstanceOwner.current()
        for _ in 0..<1000 {
            let n: Int = instanceCounter.withLock { $0 += 1; return $0 }
            let path = "\(root)/instances/\(owner.name(n, pooled: pooled, tag: tag))"
            if mkdir(path, 0o750) == 0 {
                guard pooled else { return (path, -1) }
                // Nobody else takes it: a claimer wants a parked instance, a sweeper a gone owner.
                let fd = InstanceLocks.openDirectory(path)
                if fd >= 0 && flock(fd, LOCK_EX) == 0 { return (path, fd) }
                let e = errno
                if fd >= 0 { close(fd) }
                rmdir(path)
                throw SchedError(.tracefs, "cannot lock the new instance \(path)", errno: e)
            }
            if errno != EEXIST { throw SchedError(.tracefs, "cannot create \(path)", errno: errno) }
        }
        throw SchedError(.tracefs, "cannot create a tracefs instance in \(root)/instances: every name tried exists")
    }

    /// Claims a parked instance (any creator's, of the same `tag`), or nil if none is parked now. The claim is
    /// the instance directory's exclusive flock, taken only while a live parker holds the
    /// instance parked (reset, as fresh) and nobody uses it: then the parker, which checks that
    /// flock every few ms, lets go and exits. Two claimers cannot both get it (one flock).
    static func claimParkedInstance(root: String, tag: String? = nil, waitMillis: Int = 300) -> (path: String, lock: Int32)? {
        guard let names = SmallFile.names(in: "\(root)/instances") else { return nil }
        let pooled = names.sorted().filter { InstanceOwner.parts(of: $0).map { $0.pooled && $0.tag == tag } ?? false }
        if let claimed = claim(pooled, root: root) { return claimed }
        // None parked, but one being reset (the previous recording just ended): waiting for it
        // costs what a mkdir would (it waits for the reset's grace period), and leaves no second
        // instance to be removed later, maybe in the middle of another recording.
        let resetting = pooled.filter { InstanceLocks.isResetting("\(root)/instances/\($0)") }
        guard !resetting.isEmpty else { return nil }
        let deadline = monotonicNow() + Int64(waitMillis) * 1_000_000
        while monotonicNow() < deadline {
            usleep(1000)
            if let claimed = claim(resetting, root: root) { return claimed }
            if !resetting.contains(where: { InstanceLocks.isResetting("\(root)/instances/\($0)") }) {
                return claim(resetting, root: root)
            }
        }
        return nil
    }

    private static func claim(_ names: [String], root: String) -> (path: String, lock: Int32)? {
        for name in names {
            let path = "\(root)/instances/\(name)"
            // Parked first, then ours: a parker that found the instance unused and removes it
            // holds the directory's flock, and one that saw a claim exits only after it.
            guard InstanceLocks.isParked(path) else { continue }
            let fd = InstanceLocks.openDirectory(path)
            guard fd >= 0 else { continue }
            guard InstanceLocks.tryLock(fd) else { close(fd); continue }
            // Still parked with the claim held: its parker neither removes it (that needs the
            // claim's flock) nor has let go. A parker that let go just now (its grace time over)
            // may have been a sweeper's cue to remove it: then it is not taken, and removed.
            if InstanceLocks.isParked(path) && access("\(path)/per_cpu", F_OK) == 0 { return (path, fd) }
            pt_rmdir_detached(path)
            close(fd)
        }
        return nil
    }

    /// Turns off and removes the instances whose owner is provably gone (see
    /// `InstanceOwner.liveness`). An instance of a live recorder, of a namespace that cannot be
    /// seen from here, or with a name of another form is left alone: sweeping a live one would
    /// silently end another recording's scheduler events.
    @discardableResult
    static func removeStaleInstances(root: String? = nil) -> [String] {
        guard let root = root ?? tracefsRoot(),
              let names = SmallFile.names(in: "\(root)/instances") else { return [] }
        var removed: [String] = []
        for name in names.sorted() {
            guard let owner = InstanceOwner(instanceName: name), owner.liveness() == .gone else { continue }
            // A pooled instance outlives its creator: it is left alone while a parker holds it
            // or a recording uses it (the flocks die with their holders: a killed one's is free).
            var lock: Int32 = -1
            defer { if lock >= 0 { close(lock) } }
            if InstanceOwner.isPooled(name) {
                let path = "\(root)/instances/\(name)"
                guard !InstanceLocks.isParked(path) else { continue }
                lock = InstanceLocks.openDirectory(path)
                guard lock >= 0, InstanceLocks.tryLock(lock), !InstanceLocks.isParked(path) else { continue }
            }
            // All in the background, even turning it off: the instance of a run that just
            // ended is usually still being torn down by its own detached removal, and any
            // write to it waits for that (docs/states.md, Measurements).
            pt_rmdir_detached("\(root)/instances/\(name)")
            removed.append(name)
        }
        return removed
    }
}
#endif
