import CProcTrace

/// A joinable POSIX thread running one closure: the recorder's helpers (reap watcher, merge
/// writer, signal handler) are plain threads, never tasks, so they never share the ptrace
/// thread or a cooperative pool.
struct WorkerThread: Sendable {
    let handle: UInt

    /// Starts `body` on a new thread; crashes if the system cannot make one.
    static func start(_ name: String, _ body: @escaping @Sendable () -> Void) -> WorkerThread {
        final class Box: Sendable { let body: @Sendable () -> Void; init(_ b: @escaping @Sendable () -> Void) { body = b } }
        let ctx = Unmanaged.passRetained(Box(body)).toOpaque()
        var t: UInt = 0
        let r = pt_thread_start({ ctx in
            Unmanaged<Box>.fromOpaque(ctx!).takeRetainedValue().body()
            return nil
        }, ctx, &t)
        precondition(r == 0, "cannot start the \(name) thread: errno \(r)")
        return WorkerThread(handle: t)
    }

    /// Waits for the thread's end (a failure would be a bug here: joined twice, or by itself).
    func join() {
        let r = pt_thread_join(handle)
        precondition(r == 0, "cannot join a worker thread: errno \(r)")
    }
}
