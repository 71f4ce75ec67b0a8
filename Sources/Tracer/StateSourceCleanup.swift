import CProcTrace
import Synchronization

/// Removes the kernel resources of state sources (a tracefs instance) when proctrace is
/// told to terminate (SIGTERM, SIGHUP): a thread takes those signals, cleans up, and lets
/// proctrace die of the signal. The trace written so far stays a valid prefix.
enum StateSourceCleanup {
    private static let sources = Mutex<[any StateFeed]>([])
    private static let installed = Mutex(false)

    /// Call before any other thread is created, so all of them inherit the blocked mask.
    static func installHandler() {
        let first = installed.withLock { i -> Bool in
            defer { i = true }
            return !i
        }
        guard first else { return }
        pt_block_termination_signals()
        _ = WorkerThread.start("termination signal") {
            let sig = pt_wait_termination_signal()
            StateSourceCleanup.runAll()
            pt_die_of(sig)
        }
    }

    static func register(_ s: any StateFeed) {
        sources.withLock { $0.append(s) }
    }

    static func runAll() {
        for s in sources.withLock({ $0 }) { s.cleanup() }
    }
}
