import CProcTrace
import Synchronization
#if os(Linux)
@preconcurrency import Glibc

/// How a recording lets go of its tracefs instance: closing its files, then parking it for the
/// next recording (its warden becomes the parker), removing it now, or leaving it to a detached
/// remover (docs/states.md, "Parked instances").
extension SchedSource {
    public func cleanup() { cleanup(removal: .now) }

    /// Who removes the instance directory once its files are closed.
    enum Removal {
        /// This thread, now (it waits while the kernel tears the instance down).
        case now
        /// A detached process, so that a normal stop does not wait for the kernel (docs/recorder.md).
        case detached
        /// `removeLeftInstance()`, later (`Options.deferRemoval`).
        case deferred
    }

    func cleanup(removal: Removal) {
        cleanedUp.withLock { done in
            guard !done else { return }
            done = true
            stopReader()
            let path: String? = io.withLock { r in
                for fd in r.fds { close(fd) }
                r.fds = []
                for h in r.healthFDs { close(h.fd) }
                r.healthFDs = []
                if r.markerFD >= 0 { close(r.markerFD); r.markerFD = -1 }
                return r.instancePath
            }
            if let path {
                SmallFile.write("\(path)/tracing_on", "0")
                switch removal {
                case .now: leftInstance.withLock { $0 = path }
                // Also disables the events first, off our critical path (that write waits).
                case .detached:
                    if !park(path) { pt_rmdir_detached(path) }
                    dismissWarden()
                case .deferred: leftInstance.withLock { $0 = path }
                }
            }
        }
        if removal == .now { removeLeftInstance() }
    }

    /// Whether a deferred `stop()` left the instance for `removeLeftInstance()`.
    public var hasLeftInstance: Bool { leftInstance.withLock { $0 != nil } }

    /// Removes the instance a deferred `stop()` left (nothing if none): disabling every event
    /// in one write first shortens the removal (docs/states.md). The kernel takes ~0.1 s.
    public func removeLeftInstance() {
        guard let path = leftInstance.withLock({ p in defer { p = nil }; return p }) else { return }
        defer { dismissWarden() }
        if park(path) { return }
        SmallFile.write("\(path)/events/enable", "0")
        rmdir(path)
        releaseInstanceLock()
    }

    /// The instance was handed on (parked, removed, or left to a detached remover): its warden
    /// has nothing to do.
    func dismissWarden() {
        let fd = warden.withLock { w in defer { w = (-1, false) }; return w.fd }
        pt_warden_dismiss(fd)
    }

    /// Hands a pooled instance whose recording ended whole to a parker (which resets it, waits
    /// `parkMillis` for a claim, then removes it if unclaimed): its warden, which holds its
    /// lock, told through its pipe; or, if there is none, a detached process forked now. Lets
    /// go of its lock either way. Whether it was parked: if not, the caller removes it.
    func park(_ path: String) -> Bool {
        let (fd, mayPark) = instanceLock.withLock { l in defer { l = (-1, false) }; return l }
        guard fd >= 0 else { return false }
        defer { close(fd) }
        // Only where the parker outlives the namespace's init: the kernel kills it with the namespace.
        guard mayPark && Self.helpersOutliveNamespace else { return false }
        let (grace, every) = (Int32(options.parkMillis), Int32(options.parkPollMillis))
        let toldWarden = warden.withLock { w in
            guard w.holdsLock, pt_warden_park(w.fd, grace, every) == 0 else { return false }
            w = (-1, false)   // (its pipe closed: it is the parker now)
            return true
        }
        return toldWarden || pt_park_detached(path, fd, grace, every) == 0
    }

    /// Whether a process proctrace leaves behind (a parker, a detached remover) can be trusted
    /// to finish its work: only in the machine's initial pid namespace, whose init never exits.
    /// In any other (`unshare --pid`, a container) the kernel SIGKILLs every process of the
    /// namespace when its init exits, and whether that init outlives the park time cannot be
    /// known: `unshare --pid --fork --mount-proc make test` ended its namespace right after the
    /// last recording, killing its parker and leaving the instance (8 MB a CPU) until a
    /// recording on the host swept it. There the recording removes its instance itself before
    /// it ends (the kernel takes 0.04–0.09 s) and never parks one; it still claims one parked on
    /// the host. `NSpid` in /proc/self/status tells a nested namespace when
    /// `/proc/self/ns/pid` cannot be read; when neither can, nothing is left behind.
    static var helpersOutliveNamespace: Bool {
        if let link = ProcFS.readlink("/proc/self/ns/pid") { return link == ProcFS.initialPidNamespace }
        return ProcStatus(dir: "/proc/self")?.nsPids.count == 1 && getpid() != 1
    }

    func releaseInstanceLock() {
        let fd = instanceLock.withLock { l in defer { l = (-1, false) }; return l.fd }
        if fd >= 0 { close(fd) }
    }
}
#endif
