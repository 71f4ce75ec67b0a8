import CProcTrace
#if os(Linux)
@preconcurrency import Glibc
import Foundation
import Lifecycle

/// The reader thread of `SchedSource`: drains the instance's per-CPU rings, checks that the
/// instance still records (the feed-stopped path), and releases events up to the watermark.
extension SchedSource {

    func readerLoop() {
        var sleep = options.pollIntervalMicros
        lastHealthy = monotonicNow()
        lastHealthCheck = lastHealthy
        while !wake.withLock({ stopRequested }) {
            let passStart = monotonicNow()
            if lock.withLock({ stoppedReason }) != nil {
                // Nothing more is read; time still passes for the merger.
                let mark = passStart - options.commitSlackNanos
                lock.withLock { if mark > watermarkMono { watermarkMono = mark } }
                nap(options.maxPollIntervalMicros)
                continue
            }
            if passStart - lastHealthCheck >= healthCheckIntervalNanos {
                lastHealthCheck = passStart
                if let problem = healthProblem() {
                    feedStopped(problem)
                    continue
                }
                lastHealthy = passStart
            }
            if !clock.identity && passStart - lastMarkerMono >= options.calibrationIntervalNanos { writeMarker() }
            let n = drainOnce()
            if let e = readError {
                feedStopped(e)
                continue
            }
            // Only what a health check has vouched for: an event after the last good check
            // may come from a source that has since stopped, and is not given out yet.
            release(upTo: min(passStart - options.commitSlackNanos, lastHealthy))
            if n > 0 {
                sleep = options.pollIntervalMicros
                // A busy buffer is drained again at once only if a drain filled whole pages.
                if n < 64 { nap(sleep) }
            } else {
                nap(sleep)
                sleep = min(options.maxPollIntervalMicros, sleep * 2)
            }
        }
        let cpu = clockNanos(CLOCK_THREAD_CPUTIME_ID)
        lock.withLock { readerCPUNanos = cpu }
        wake.withLock { readerDone = true; wake.broadcast() }
    }

    /// Why the instance no longer records what it was asked to (an event or tracing turned
    /// off, the instance gone), or nil while it does.
    func healthProblem() -> String? {
        guard let path = instancePath else { return nil }
        if access(path, F_OK) != 0 { return "tracefs instance \(path) removed" }
        var buf = [UInt8](repeating: 0, count: 8)
        for h in healthFDs {
            let n = buf.withUnsafeMutableBytes { pread(h.fd, $0.baseAddress, $0.count, 0) }
            if n < 0 { return "cannot read \(path)/\(h.file): \(String(cString: strerror(errno)))" }
            if n == 0 || buf[0] != UInt8(ascii: "1") {
                if h.file == "tracing_on" { return "tracing turned off in \(path)" }
                return "\(h.file.dropFirst("events/sched/".count).dropLast("/enable".count)) disabled in \(path)"
            }
        }
        return nil
    }

    /// The feed stopped for good: what was recorded up to the last instant the instance was
    /// known to work is kept; from then on every followed task is unknown.
    func feedStopped(_ reason: String) {
        let good = lastHealthy
        // Events still in the rings were recorded while it worked, up to some instant after
        // `good`; which instant is not known, so only those up to `good` are kept.
        _ = drainOnce()
        release(upTo: good)
        for i in perCPU.indices { perCPU[i].removeAll() }
        lock.withLock {
            machine.feedStopped(at: good, reason: reason)
            stoppedReason = reason
        }
        let at = TimeFormat.clock(max(0, good - origin))
        Recorder.warn("proctrace: scheduler states stopped at \(at)s (\(reason)): states are unknown from then on")
    }

    /// Reads every page available now on every CPU; returns the number of events decoded.
    func drainOnce() -> Int {
        guard var dec = lock.withLock({ decoder }) else { return 0 }
        var total = 0
        if pageBuffer.count != pageSize {
            pageBuffer.deallocate()
            pageBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: pageSize, alignment: 8)
        }
        let buf = pageBuffer
        for (i, fd) in fds.enumerated() {
            while true {
                let n = read(fd, buf.baseAddress, pageSize)
                if n < 0 && errno == EINTR { continue }
                if n < 0 && errno != EAGAIN && readError == nil {
                    readError = "read error on cpu \(cpus[i]): \(String(cString: strerror(errno)))"
                }
                if n <= 0 { break }
                let before = perCPU[i].count
                if dec.decode(page: UnsafeRawBufferPointer(rebasing: buf[0..<n]), cpu: cpus[i], into: &perCPU[i]),
                   lastLocal[i] != .min {
                    // The lost events came after the last one read from this CPU: the loss is
                    // placed there (the machine never places it before what it already gave out).
                    perCPU[i][before].ts = min(perCPU[i][before].ts, lastLocal[i] + 1)
                }
                if let last = perCPU[i].last { lastLocal[i] = last.ts }
                total += perCPU[i].count - before
                pagesRead += 1
            }
        }
        eventsRead += total
        if !dec.markers.isEmpty {
            for m in dec.markers { clock.read(seq: m.seq, local: m.ts) }
            lastMarkerWriter = dec.markers.last!.pid
            dec.markers = []
        }
        let decoded = dec
        lock.withLock {
            decoder?.missedEvents = decoded.missedEvents
            decoder?.missedUnknownPages = decoded.missedUnknownPages
        }
        return total
    }

    /// Feeds the machine every buffered event with ts ≤ `upTo` (monotonic), merged across CPUs.
    func release(upTo: Int64) {
        var batch: [SchedEvent] = []
        let upToLocal = clock.toLocal(upTo)
        for i in perCPU.indices {
            let list = perCPU[i]
            var k = 0
            while k < list.count && list[k].ts <= upToLocal { k += 1 }
            if k > 0 {
                batch.append(contentsOf: list[0..<k])
                perCPU[i].removeFirst(k)
            }
        }
        if perCPU.count > 1 {
            // Stable: events of one CPU can share a timestamp and must keep their order.
            batch = batch.stableSorted(by: \.ts)
        }
        if !clock.identity {
            // Monotonic within a batch; a new calibration point can move the line by a
            // fraction of a µs between batches (the machine takes such an event as a late one).
            for i in batch.indices { batch[i].ts = min(upTo, clock.toMono(batch[i].ts)) }
            if upToLocal != .max { clock.prune(before: upToLocal - 1_000_000_000) }
        }
        if keepFedEvents { fedEvents += batch }
        let sleepKinds = options.sleepKindFromProc
        let (toExplain, names): ([Int], [Int: Int]) = lock.withLock {
            for e in batch {
                if ns != nil {
                    let seen = ns!.map.see(e)
                    if let root = seen.root { machine.track(tid: Int(root), pid: Int(root), at: max(0, e.ts - origin)) }
                    applyPairs(seen.paired)
                }
                machine.feed(e)
            }
            let tids = sleepKinds && !batch.isEmpty ? machine.unexplainedTids : []
            // /proc names tasks by our tids.
            var names: [Int: Int] = [:]
            for tid in tids { if let m = ns?.map { if let n = m.ns(Int32(tid)) { names[tid] = n } } else { names[tid] = tid } }
            return (tids, names)
        }
        // /proc is read outside the lock; the new events are not released before the
        // watermark moves below.
        var whys: [Int: String] = [:]
        for tid in toExplain { if let n = names[tid], let w = SchedSource.procSyscallName(n) { whys[tid] = w } }
        let stoppedNow: String? = lock.withLock {
            if sleepKinds { machine.fillSleepKinds(whys) }
            if upTo > watermarkMono { watermarkMono = upTo }
            // The machine stopped itself (a loss in a pid namespace): the feed is over.
            guard stoppedReason == nil, let reason = machine.stoppedReason else { return nil }
            stoppedReason = reason
            return reason
        }
        if let reason = stoppedNow {
            Recorder.warn("proctrace: scheduler states stopped (\(reason)): states are unknown from then on")
        }
    }
}

#endif
