import CProcTrace
@preconcurrency import Glibc
import Lifecycle
import Synchronization

/// Watches zombies whose parent is not traced (an adoptive parent such as pid 1) and
/// records their `reap` at the moment it happens: a pidfd reports POLLHUP when the zombie
/// is released. Runs its own thread because the ptrace thread sleeps in waitpid; the thread
/// starts with the first zombie to watch (most recordings have none: no thread to make at the
/// start, nor to join at the end).
final class AdoptionWatcher: Sendable {
    private struct Watched {
        var pid: Int; var by: Int; var how = ReapHow.adopted; var seenBy: String?
        /// Told the reap instead of writing it (`watch(pid:pidfd:post:)`).
        var post: (@Sendable (Int) -> Void)?
    }
    private struct State {
        var watched: [Int32: Watched] = [:]
        var finishing = false
        var deadline: Int64 = 0
        /// pidfds epoll refused: polled by the loop instead.
        var polled: Set<Int32> = []
    }
    private let epfd: Int32
    private let wakeFD: Int32
    private let state = Mutex(State())
    private let merger: TraceMerger
    private let clock: TraceClock
    private let thread = Mutex<WorkerThread?>(nil)

    init(merger: TraceMerger, clock: TraceClock) {
        self.merger = merger
        self.clock = clock
        epfd = pt_epoll_create()
        wakeFD = pt_eventfd()
        precondition(epfd >= 0 && wakeFD >= 0, "epoll/eventfd unavailable")
        precondition(pt_epoll_add(epfd, wakeFD, 0) == 0, "cannot watch the reap watcher's own eventfd")
    }

    /// Starts the thread if it is not running yet.
    private func startThread() {
        thread.withLock { t in
            if t == nil { t = WorkerThread.start("reap watcher") { [self] in loop() } }
        }
    }

    var pending: Int { state.withLock { $0.watched.count } }

    /// Starts watching `pidfd` (a zombie of `pid`, whose parent is now `by`). Takes the fd.
    /// `how`: the reap's kind when it comes (an untraced adopter's by default); `seenBy`, if
    /// given, is written as the reap's `seen` (how proctrace saw it).
    func watch(pid: Int, pidfd: Int32, by: Int, how: ReapHow = .adopted, seenBy: String? = nil) {
        let polled = state.withLock { s in
            s.watched[pidfd] = Watched(pid: pid, by: by, how: how, seenBy: seenBy)
            // Edge-triggered: the zombie is already readable (POLLIN); the next edge is the
            // reap, which adds POLLHUP. If epoll cannot take it (out of watches), it is polled
            // every 10 ms instead.
            guard pt_epoll_add(epfd, pidfd, 1) == 0 else { return s.polled.insert(pidfd).inserted }
            return false
        }
        startThread()
        if polled { wake() }
        // The reap may have happened before the registration.
        checkNow(pidfd)
    }

    /// Starts watching `pidfd` (a zombie of `pid`) for the ptrace loop, which decides who
    /// reaped it: at the release, `post(pid)` is called (on the watcher's thread) instead of a
    /// `reap` being written. Takes the fd unless `take` gives it back.
    func watch(pid: Int, pidfd: Int32, post: @escaping @Sendable (Int) -> Void) {
        let polled = state.withLock { s in
            s.watched[pidfd] = Watched(pid: pid, by: 0, post: post)
            guard pt_epoll_add(epfd, pidfd, 1) == 0 else { return s.polled.insert(pidfd).inserted }
            return false
        }
        startThread()
        if polled { wake() }
        checkNow(pidfd)
    }

    /// Stops watching `pidfd` (given to `watch(pid:pidfd:post:)`) and gives it back to the
    /// caller, who closes it: true if it was still watched (its release not told yet).
    func take(pidfd: Int32) -> Bool {
        state.withLock { s in
            guard s.watched.removeValue(forKey: pidfd) != nil else { return false }
            s.polled.remove(pidfd)
            _ = pt_epoll_del(epfd, pidfd)
            return true
        }
    }

    private func checkNow(_ fd: Int32) {
        if pt_poll_hup(fd) != 0 { reaped(fd) }
    }

    private func reaped(_ fd: Int32, unobserved: Bool = false) {
        let w: Watched? = state.withLock { s in
            // Closing the pidfd below takes it out of the epoll set.
            s.polled.remove(fd)
            return s.watched.removeValue(forKey: fd)
        }
        guard let w else { return }
        close(fd)
        if let post = w.post { return post(w.pid) }
        var extra = JSONObject()
        if let seen = w.seenBy { extra.append("seen", .string(seen)) }
        merger.submit([TraceEvent(t: clock.now(), .reap(pid: w.pid, by: w.by, how: w.how, unobserved: unobserved), extra: extra)])
    }

    /// Waits until every watched zombie is reaped or `timeout` seconds pass; those left are
    /// recorded as reaped-unobserved at the deadline. Then stops the thread.
    func finish(timeout: Double) {
        state.withLock { s in
            s.finishing = true
            s.deadline = monotonicNow() + Int64(timeout * 1e9)
        }
        wake()
        thread.withLock { $0 }?.join()
        close(epfd)
        close(wakeFD)
    }

    /// Wakes the loop from its epoll_wait (an eventfd write cannot fail short of a bug).
    private func wake() {
        var one: UInt64 = 1
        precondition(Glibc.write(wakeFD, &one, 8) == 8, "cannot wake the reap watcher")
    }

    private func loop() {
        var fds = [Int32](repeating: 0, count: 64)
        var hup = [Int32](repeating: 0, count: 64)
        while true {
            let (finishing, deadline, empty, polled) = state.withLock { ($0.finishing, $0.deadline, $0.watched.isEmpty, $0.polled) }
            if finishing && empty { return }
            for fd in polled.sorted() { checkNow(fd) }
            var timeout: Int32 = -1
            if finishing {
                let left = deadline - monotonicNow()
                if left <= 0 {
                    let fds = state.withLock { Array($0.watched.keys) }
                    for fd in fds.sorted() { reaped(fd, unobserved: true) }
                    return
                }
                timeout = Int32(min(left / 1_000_000 + 1, 1000))
            }
            if !polled.isEmpty { timeout = timeout < 0 ? 10 : min(timeout, 10) }
            let n = pt_epoll_wait(epfd, &fds, &hup, 64, timeout)
            if n < 0 { if n == -EINTR { continue }; return }
            for i in 0..<Int(n) {
                let fd = fds[i]
                if fd == wakeFD {
                    var v: UInt64 = 0
                    _ = Glibc.read(wakeFD, &v, 8)
                } else if hup[i] != 0, pt_poll_hup(fd) != 0 {
                    // (Checked again: a pidfd given back by `take` may have been closed since,
                    // and its number reused by one that is not released.)
                    reaped(fd)
                }
            }
        }
    }
}
