import CProcTrace
#if os(Linux)
@preconcurrency import Glibc
import Lifecycle
import Synchronization

/// The reader thread of `SchedSource`: drains the instance's per-CPU rings, checks that the
/// instance still records (the feed-stopped path), and releases events up to the watermark.
/// Each pass holds the reader state (`io`); it takes the shared state only briefly.
extension SchedSource {

    func readerLoop() {
        let pipes: [Int32] = io.withLock { r in
            r.lastHealthy = monotonicNow()
            r.lastHealthCheck = r.lastHealthy
            r.lastPassStart = r.lastHealthy
            return r.fds
        }
        // The kernel wakes the reader when a ring reaches `buffer_percent`; otherwise the
        // interval does. Rings that wake the reader three times in a row with far less than
        // that in them (a kernel whose poll ignores `buffer_percent` would wake it at every
        // event) are not polled again.
        var watchPipes = pipesWake.load(ordering: .sequentiallyConsistent)
        var ringWoke = false
        var earlyWakes = 0
        while !isStopRequested {
            passBegan.store(monotonicNow(), ordering: .sequentiallyConsistent)
            let (again, busiest, ringPages, fast): (Bool, Int, Int, Bool) = io.withLock { r in
                let (again, _) = pass(&r)
                return (again, r.busiestPages, r.ringPages, r.fillingFast)
            }
            passBegan.store(0, ordering: .sequentiallyConsistent)
            releasedMore()
            if again { continue }
            if ringWoke {
                earlyWakes = busiest * 100 * 2 < ringPages * (options.bufferPercent ?? 0) ? earlyWakes + 1 : 0
                if earlyWakes >= 3 {
                    watchPipes = false
                    io.withLock { $0.ringsUnwatched = true }
                }
            }
            // A ring filling fast (a flood) is drained every few ms, as fast as the reader
            // can: waiting for its watermark would leave it less room while the reader waits
            // for a CPU.
            ringWoke = nap(fast ? options.floodIntervalMicros : options.drainIntervalMicros, pipes: watchPipes ? pipes : [])
            io.withLock { $0.wakeUps += 1; if ringWoke { $0.ringWakeUps += 1 } }
        }
        let cpu = clockNanos(CLOCK_THREAD_CPUTIME_ID)
        shared.withLock { $0.readerCPUNanos = cpu }
    }

    /// One drain of the rings; returns whether to drain again at once, and the events read.
    private func pass(_ r: inout ReaderState) -> (again: Bool, events: Int) {
        let passStart = monotonicNow()
        r.passes += 1
        let (stopped, healthInterval) = shared.withLock { ($0.stoppedReason != nil, $0.healthCheckIntervalNanos) }
        if stopped {
            // Nothing more is read; time still passes for the merger.
            let mark = passStart - options.commitSlackNanos
            shared.withLock {
                // Tasks tracked after the stop are unknown (`lateUnknowns`) before time passes them.
                applyLoopNotes(&$0)
                if mark > $0.watermarkMono { $0.watermarkMono = mark }
            }
            return (false, 0)
        }
        // A caller waiting for the watermark (`drainSoon`) gets a check now: what is released
        // waits for the last good one.
        if passStart - r.lastHealthCheck >= healthInterval || checkSoon.exchange(false, ordering: .sequentiallyConsistent) {
            r.lastHealthCheck = passStart
            if let problem = healthProblem(r) {
                feedStopped(&r, problem)
                return (true, 0)
            }
            r.lastHealthy = passStart
        }
        if !r.clock.identity && passStart - r.lastMarkerMono >= options.calibrationIntervalNanos { writeMarker(&r) }
        let n = drainOnce(&r)
        // Pages per ms of the busiest CPU since the last pass, against the rate that fills
        // `bufferPercent` of a ring within one drain interval.
        let elapsed = max(Int64(options.floodIntervalMicros) * 1000, passStart - r.lastPassStart)
        r.lastPassStart = passStart
        let ringPages = Int64(r.ringPages)
        let fastPages = ringPages * Int64(options.bufferPercent ?? 10) / 100
        r.fillingFast = Int64(r.busiestPages) * Int64(options.drainIntervalMicros) * 1000 >= fastPages * elapsed
        if r.fillingFast { r.fastPasses += 1 }
        if let e = r.readError {
            feedStopped(&r, e)
            return (true, n)
        }
        // Only what a health check has vouched for: an event after the last good check
        // may come from a source that has since stopped, and is not given out yet.
        var bound = min(passStart - options.commitSlackNanos, r.lastHealthy)
        // A drain cut at its budget left events in the rings: those of a CPU not read to its
        // end come after the last one read from it, and only what precedes that is complete.
        for i in r.cutCPUs where r.lastLocal[i] != .min { bound = min(bound, r.clock.toMono(r.lastLocal[i]) - 1) }
        release(&r, upTo: bound)
        return (r.drainCut, n)
    }

    /// Why the instance no longer records what it was asked to (an event or tracing turned
    /// off, the instance gone), or nil while it does.
    func healthProblem(_ r: ReaderState) -> String? {
        guard let path = r.instancePath else { return nil }
        if access(path, F_OK) != 0 { return "tracefs instance \(path) removed" }
        var buf = [UInt8](repeating: 0, count: 8)
        let eventsOn = eventsOn.load(ordering: .sequentiallyConsistent)
        let waitsOn = ringWaitsOn.load(ordering: .sequentiallyConsistent)
        for h in r.healthFDs where (eventsOn || h.file == "tracing_on") && (waitsOn || !h.file.hasPrefix("events/syscalls/")) {
            let n = buf.withUnsafeMutableBytes { pread(h.fd, $0.baseAddress, $0.count, 0) }
            if n < 0 { return "cannot read \(path)/\(h.file): \(String(cString: strerror(errno)))" }
            if n == 0 || buf[0] != UInt8(ascii: "1") {
                if h.file == "tracing_on" { return "tracing turned off in \(path)" }
                let event = h.file.split(separator: "/").dropFirst().dropLast().last.map(String.init) ?? h.file
                return "\(event) disabled in \(path)"
            }
        }
        return nil
    }

    /// The feed stopped for good: what was recorded up to the last instant the instance was
    /// known to work is kept; from then on every followed task is unknown.
    func feedStopped(_ r: inout ReaderState, _ reason: String) {
        let good = r.lastHealthy
        // Events still in the rings were recorded while it worked, up to some instant after
        // `good`; which instant is not known, so only those up to `good` are kept.
        // (Read to the end: a stopped instance no longer fills its rings; bounded all the same.)
        for _ in 0..<16 {
            _ = drainOnce(&r)
            if !r.drainCut { break }
        }
        var bound = good
        for i in r.cutCPUs where r.lastLocal[i] != .min { bound = min(bound, r.clock.toMono(r.lastLocal[i]) - 1) }
        release(&r, upTo: bound)
        for i in r.perCPU.indices { r.perCPU[i].removeAll() }
        shared.withLock {
            applyLoopNotes(&$0)
            $0.machine.feedStopped(at: good, reason: reason)
            unknownUnpaired(&$0, at: max(0, good - origin), reason: reason)
            $0.stoppedReason = reason
        }
        let waits = closeRingWaits() ? ", and wait4 calls are no longer seen (each reap still is, through the child's pidfd)" : ""
        let at = TimeFormat.clock(max(0, good - origin))
        Recorder.warn("proctrace: scheduler states stopped at \(at)s (\(reason)): states are unknown from then on\(waits)")
    }

    /// The feed stopped for good: the wait4 records handed over so far are all the ring will
    /// give (`RingWaitInbox.close`); the ptrace loop takes note (Recorder+RingClosed.swift).
    @discardableResult
    func closeRingWaits() -> Bool {
        guard let inbox = options.waitInbox, ringWaitsOn.load(ordering: .sequentiallyConsistent) else { return false }
        inbox.close()
        inbox.kickIfIdle()
        return true
    }

    /// Reads every page available now on every CPU; returns the number of events decoded.
    func drainOnce(_ r: inout ReaderState) -> Int {
        guard var dec = r.decoder else { return 0 }
        var total = 0
        if r.pageBuffer.count != r.pageSize {
            r.pageBuffer.deallocate()
            r.pageBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: r.pageSize, alignment: 8)
        }
        let buf = r.pageBuffer
        // A few pages from each CPU in turn until all are empty: under a flood, reading one
        // CPU's ring to its end (it refills meanwhile) would let the other's overrun.
        var pagesOf = Array(repeating: 0, count: r.fds.count)
        defer { r.busiestPages = pagesOf.max() ?? 0 }
        var open = Array(repeating: true, count: r.fds.count)
        var openCount = open.count
        // A flood that refills the rings as fast as they are read would hold this pass (and
        // the events read, in memory) forever: past this many pages the pass ends, releases
        // what it read, and the reader drains again at once (`Options.pagesPerCPUPerPass`).
        var budget = options.pagesPerCPUPerPass * open.count
        r.drainCut = false
        defer { r.cutCPUs = open.indices.filter { open[$0] } }
        while openCount > 0 {
            if budget <= 0 {
                r.drainCut = true
                break
            }
            for (i, fd) in r.fds.enumerated() where open[i] {
                var pages = 0
                while pages < 8 {
                    let n = read(fd, buf.baseAddress, r.pageSize)
                    r.readCalls += 1
                    if n < 0 && errno == EINTR { continue }
                    if n < 0 && errno != EAGAIN && r.readError == nil {
                        r.readError = "read error on cpu \(r.cpus[i]): \(String(cString: strerror(errno)))"
                    }
                    if n <= 0 {
                        open[i] = false
                        openCount -= 1
                        break
                    }
                    pages += 1
                    pagesOf[i] += 1
                    budget -= 1
                    let before = r.perCPU[i].count
                    if dec.decode(page: UnsafeRawBufferPointer(rebasing: buf[0..<n]), cpu: r.cpus[i], into: &r.perCPU[i]),
                       r.lastLocal[i] != .min {
                        // The lost events came after the last one read from this CPU: the loss is
                        // placed there (the machine never places it before what it already gave out).
                        r.perCPU[i][before].ts = min(r.perCPU[i][before].ts, r.lastLocal[i] + 1)
                    }
                    if let last = r.perCPU[i].last { r.lastLocal[i] = last.ts }
                    total += r.perCPU[i].count - before
                    r.pagesRead += 1
                }
            }
        }
        r.eventsRead += total
        if !dec.markers.isEmpty {
            for m in dec.markers { r.clock.read(seq: m.seq, local: m.ts) }
            r.lastMarkerWriter = dec.markers.last!.pid
            dec.markers = []
        }
        r.decoder = dec
        let (missed, unknownPages) = (dec.missedEvents, dec.missedUnknownPages)
        shared.withLock {
            $0.missedEvents = missed
            $0.missedUnknownPages = unknownPages
        }
        return total
    }

    /// Feeds the machine every buffered event with ts ≤ `upTo` (monotonic), merged across CPUs.
    func release(_ r: inout ReaderState, upTo: Int64) {
        let upToLocal = r.clock.toLocal(upTo)
        // The batch buffer is kept from pass to pass (a new one faulted in fresh pages each time).
        var batch = r.batch
        r.batch = []
        batch.removeAll(keepingCapacity: true)
        var take = [Int](repeating: 0, count: r.perCPU.count)
        var sorted = true
        for i in r.perCPU.indices {
            var k = 0
            var last = Int64.min
            r.perCPU[i].withUnsafeBufferPointer { list in
                while k < list.count && list[k].ts <= upToLocal {
                    if list[k].ts < last { sorted = false }
                    last = list[k].ts
                    k += 1
                }
            }
            take[i] = k
        }
        batch.reserveCapacity(take.reduce(0, +))
        if take.count > 1 && sorted {
            // Each CPU's events are in time order: a stable merge (ties to the lower CPU, as a
            // stable sort of the CPUs' lists one after the other would give).
            var at = [Int](repeating: 0, count: take.count)
            while true {
                var best = -1
                var bestTs = Int64.max
                for i in take.indices where at[i] < take[i] {
                    let ts = r.perCPU[i][at[i]].ts
                    if best < 0 || ts < bestTs { best = i; bestTs = ts }
                }
                if best < 0 { break }
                batch.append(r.perCPU[best][at[best]])
                at[best] += 1
            }
        } else {
            for i in take.indices where take[i] > 0 { batch.append(contentsOf: r.perCPU[i][0..<take[i]]) }
            // Stable: events of one CPU can share a timestamp and must keep their order.
            if take.count > 1 { batch = batch.stableSorted(by: \.ts) }
        }
        for i in take.indices where take[i] > 0 {
            if take[i] == r.perCPU[i].count { r.perCPU[i].removeAll(keepingCapacity: true) } else { r.perCPU[i].removeFirst(take[i]) }
        }
        if !r.clock.identity {
            // Monotonic within a batch; a new calibration point can move the line by a
            // fraction of a µs between batches (the machine takes such an event as a late one).
            for i in batch.indices { batch[i].ts = min(upTo, r.clock.toMono(batch[i].ts)) }
            if upToLocal != .max { r.clock.prune(before: upToLocal - 1_000_000_000) }
        }
        if let inbox = options.waitInbox, ringWaitsOn.load(ordering: .sequentiallyConsistent) {
            // Before the watermark moves past them (below): the merger holds back what is later
            // than a record the loop has not applied.
            inbox.add(ringWaits(&r, batch), upTo: upTo == .max ? .max : max(0, upTo - origin))
        }
        let sleepKinds = options.sleepKindFromProc
        let fed = batch
        let (toExplain, names): ([Int], [Int: Int]) = shared.withLock { s in
            // Every note the loop posted before these events were read (applyLoopNotes).
            applyLoopNotes(&s)
            if s.keepFedEvents { s.fedEvents += fed }
            for e in fed {
                if s.ns != nil {
                    let seen = s.ns!.map.see(e)
                    if let root = seen.root { s.machine.track(tid: Int(root), pid: Int(root), at: max(0, e.ts - origin)) }
                    applyPairs(&s, seen.paired)
                }
                s.machine.feed(e)
            }
            let tids = sleepKinds && !fed.isEmpty ? s.machine.unexplainedTids : []
            // /proc names tasks by our tids.
            var names: [Int: Int] = [:]
            for tid in tids { if let m = s.ns?.map { if let n = m.ns(Int32(tid)) { names[tid] = n } } else { names[tid] = tid } }
            return (tids, names)
        }
        // /proc is read outside the lock; the new events are not released before the
        // watermark moves below.
        var whys: [Int: String] = [:]
        r.procReads += toExplain.count
        for tid in toExplain { if let n = names[tid], let w = SchedSource.procSyscallName(n) { whys[tid] = w } }
        let found = whys
        let stoppedNow: String? = shared.withLock { s in
            if sleepKinds { s.machine.fillSleepKinds(found) }
            let before = s.watermarkMono
            if upTo > s.watermarkMono { s.watermarkMono = upTo }
            // The machine stopped itself (a loss in a pid namespace): the feed is over.
            guard s.stoppedReason == nil, let reason = s.machine.stoppedReason else { return nil }
            // (The loss came after what was released before this batch.)
            unknownUnpaired(&s, at: max(0, before - origin), reason: reason)
            s.stoppedReason = reason
            return reason
        }
        if let reason = stoppedNow {
            closeRingWaits()
            Recorder.warn("proctrace: scheduler states stopped (\(reason)): states are unknown from then on")
        }
        options.waitInbox?.kickIfIdle()
        r.batch = batch
    }

    /// The wait4 calls of a batch that the ptrace loop does not stop (options without
    /// `pt_wait4_ptrace_options()`, as the seccomp filter decides), entries and returns paired
    /// by tid; and the `sched_process_exit` of every task (the loop ignores the untraced).
    func ringWaits(_ r: inout ReaderState, _ batch: [SchedEvent]) -> [RingWaitInbox.Record] {
        var out: [RingWaitInbox.Record] = []
        let ptraceOptions = pt_wait4_ptrace_options()
        for e in batch {
            switch e.record {
            case let .waitEnter(upid, options):
                guard options & ptraceOptions == 0 else {
                    r.ringWaiting.remove(e.current)
                    continue
                }
                r.ringWaiting.insert(e.current)
                out.append(.init(t: max(0, e.ts - origin), tid: Int(e.current), kind: .enter(upid: upid, options: options)))
            case let .waitExit(ret):
                if r.ringWaiting.remove(e.current) != nil {
                    out.append(.init(t: max(0, e.ts - origin), tid: Int(e.current), kind: .exit(ret: ret)))
                }
            case let .signalDeliver(handler, flags) where handler > 1:
                // A signal handler about to run: the loop reads it only for a task whose wait a
                // signal interrupted (SIG_DFL and SIG_IGN never turn a restart into EINTR).
                out.append(.init(t: max(0, e.ts - origin), tid: Int(e.current),
                                 kind: .handlerRuns(saRestart: flags & UInt64(SA_RESTART) != 0)))
            case let .exit(tid, groupDead?):
                // Every task's end, for its end line at this time (`Recorder.applyRingExit`);
                // without `group_dead` in the format, ends keep the loop's stamp.
                r.ringWaiting.remove(tid)
                out.append(.init(t: max(0, e.ts - origin), tid: Int(tid), kind: .taskExit(groupDead: groupDead)))
            default:
                continue
            }
        }
        return out
    }
}

#endif
