#if os(Linux)
@preconcurrency import Glibc
import Foundation
import Testing
import Lifecycle
@testable import Tracer

/// Measurements, not checks: run with PROCTRACE_SCHED_BENCH=1 (numbers go to stdout).
@Suite(.serialized, .timeLimit(.minutes(1)),
       .enabled(if: ProcessInfo.processInfo.environment["PROCTRACE_SCHED_BENCH"] != nil && SchedSource.isPermitted()))
struct SchedBenchTests {
    /// Runs a gated workload, optionally under a state source; returns wall seconds and the source.
    func timed(_ argv: [String], with source: StateFeed?) throws -> Double {
        try timedCPU(argv, with: source).wall
    }

    func timedCPU(_ argv: [String], with source: StateFeed?) throws -> (wall: Double, cpu: Double) {
        let origin = monotonicNow()
        try source?.start()
        let child = try GatedChild(argv)
        source?.track(tid: Int(child.pid), pid: Int(child.pid), at: 0)
        let t0 = monotonicNow()
        child.release()
        let cpu = child.waitCPU()
        let wall = Double(monotonicNow() - t0) / 1e9
        _ = origin
        return (wall, Double(cpu) / 1e9)
    }

    func median(_ a: [Double]) -> Double { a.sorted()[a.count / 2] }

    @Test("spawn loop of 1000 /bin/true: wall time with and without each source")
    func spawnLoop() throws {
        let loop = ["/bin/sh", "-c", "i=0; while [ $i -lt 1000 ]; do /bin/true; i=$((i+1)); done"]
        var wall: [String: [Double]] = [:], cpu: [String: [Double]] = [:]
        var events = 0, lost = 0, transitions = 0, readerCPU: Int64 = 0
        var readerCPUByMode: [String: Int64] = [:]
        let runs = 11
        for _ in 0..<runs {
            for mode in ["none", "sched", "sched-nosleepkind", "sched-unfiltered", "sampled"] {
                var source: StateFeed?
                var sched: SchedSource?
                switch mode {
                case "sched": sched = SchedSource(origin: monotonicNow()); source = sched
                case "sched-nosleepkind":
                    var o = SchedSource.Options(); o.sleepKindFromProc = false
                    source = SchedSource(origin: monotonicNow(), options: o)
                case "sched-unfiltered":
                    var o = SchedSource.Options(); o.kernelPidFilter = false
                    source = SchedSource(origin: monotonicNow(), options: o)
                case "sampled": source = SampledStateSource(origin: monotonicNow())
                default: break
                }
                let r = try timedCPU(loop, with: source)
                wall[mode, default: []].append(r.wall)
                cpu[mode, default: []].append(r.cpu)
                let n = (source?.take(upTo: .max).count ?? 0) + (source?.stop().count ?? 0)
                if let s = sched { transitions += n; events += s.eventsRead; lost += s.lost; readerCPU += s.readerCPUNanos }
                if let s = source as? SchedSource { readerCPUByMode[mode, default: 0] += s.readerCPUNanos }
            }
        }
        for mode in ["none", "sched", "sched-nosleepkind", "sched-unfiltered", "sampled"] {
            let w = wall[mode]!, c = cpu[mode]!, w0 = wall["none"]!, c0 = cpu["none"]!
            print(String(format: "BENCH spawn1000 %@: wall median %.3fs (x%.3f) min %.3fs (x%.3f), workload CPU median %.3fs (x%.3f) min %.3fs (x%.3f)",
                         mode, median(w), median(w) / median(w0), w.min()!, w.min()! / w0.min()!,
                         median(c), median(c) / median(c0), c.min()!, c.min()! / c0.min()!))
        }
        print("BENCH reader CPU ms/run by mode: \(readerCPUByMode.mapValues { $0 / Int64(runs) / 1_000_000 })")
        print("BENCH spawn1000 sched: \(events / runs) raw events/run, \(transitions / runs) state events/run, lost \(lost), reader CPU \(readerCPU / Int64(runs) / 1_000_000) ms/run")
    }

    @Test("start(): calibrated default clock vs trace_clock=mono")
    func startCost() throws {
        var starts: [String: [Double]] = [:], calib: [Double] = []
        for _ in 0..<20 {
            for mono in [false, true] {
                var o = SchedSource.Options()
                o.monoTraceClock = mono
                let s = SchedSource(origin: monotonicNow(), options: o)
                try s.start()
                let child = try GatedChild(["/bin/true"])
                let t0 = monotonicNow()
                s.track(tid: Int(child.pid), pid: Int(child.pid), at: 0)
                let track = monotonicNow() - t0
                child.release()
                _ = child.wait()
                _ = s.stop()
                let key = mono ? "mono" : s.clockMode
                starts[key, default: []].append(Double(s.startNanos) / 1e6)
                starts["track (root) " + key, default: []].append(Double(track) / 1e6)
                if !mono { calib.append(Double(s.calibrationNanos) / 1e6) }
                // The stopped instance is torn down by a detached process (~60 ms): let it finish.
                usleep(250_000)
            }
        }
        for (k, v) in starts.sorted(by: { $0.key < $1.key }) {
            print(String(format: "BENCH start %@: median %.2f ms, min %.2f, max %.2f", k, median(v), v.min()!, v.max()!))
        }
        print(String(format: "BENCH start: first calibration median %.3f ms, max %.3f", median(calib), calib.max()!))
    }

    @Test("reader CPU while nothing happens (polling cost)")
    func idleCost() throws {
        let s = SchedSource(origin: monotonicNow())
        _ = try timed(["/bin/sleep", "1"], with: s)
        _ = s.stop()
        print("BENCH idle 1 s (a sleeping process followed): reader CPU \(s.readerCPUNanos / 1_000_000) ms, \(s.eventsRead) events")
    }

    @Test("reader throughput on a pipe ping-pong (perf bench sched pipe)")
    func throughput() throws {
        guard access("/usr/bin/perf", X_OK) == 0 else { return }
        let s = SchedSource(origin: monotonicNow())
        let wall = try timed(["/usr/bin/perf", "bench", "sched", "pipe", "-l", "200000"], with: s)
        let t = s.take().count + s.stop().count
        print(String(format: "BENCH pingpong: %d raw events in %.3fs = %.0f events/s, %d state events, lost %d, reader CPU %.3fs (%.2f us/event)",
                     s.eventsRead, wall, Double(s.eventsRead) / wall, t, s.lost, Double(s.readerCPUNanos) / 1e9,
                     Double(s.readerCPUNanos) / 1e3 / Double(max(1, s.eventsRead))))
        let none = try timed(["/usr/bin/perf", "bench", "sched", "pipe", "-l", "200000"], with: nil)
        print(String(format: "BENCH pingpong wall: none %.3fs sched %.3fs", none, wall))
    }
}
#endif
