// The state sources' own costs, measured by `make bench` (scripts/sched-bench.sh runs this
// release binary): numbers to read, not checks, so they are not part of the test suite.
// Usage: SchedBench [spawn] [start] [idle] [pingpong]   (default: all four; needs root)
#if os(Linux)
@preconcurrency import Glibc
import Foundation
import Lifecycle
import Tracer

struct BenchError: Error, CustomStringConvertible {
    var description: String
}

/// A child started by posix_spawn (no ptrace) that waits on a pipe until `release()`, so a
/// state source can follow it before it does anything: `sh -c 'read x; exec "$@"'`.
struct GatedChild {
    let pid: pid_t
    let gate: Int32

    init(_ argv: [String]) throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw BenchError(description: "pipe: \(String(cString: strerror(errno)))") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[0], 0)
        posix_spawn_file_actions_addclose(&actions, fds[1])
        let full = ["/bin/sh", "-c", "read x; exec \"$@\"", "sh"] + argv
        let cargs: [UnsafeMutablePointer<CChar>?] = full.map { strdup($0) } + [nil]
        defer { for p in cargs { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, "/bin/sh", &actions, nil, cargs, environ)
        close(fds[0])
        guard rc == 0 else { close(fds[1]); throw BenchError(description: "posix_spawn: \(String(cString: strerror(rc)))") }
        self.pid = pid
        self.gate = fds[1]
    }

    func release() {
        _ = "\n".withCString { write(gate, $0, 1) }
        close(gate)
    }

    /// Waits for the child; returns the CPU time (user + system, ns) it and its reaped children used.
    func waitCPU() -> Int64 {
        var status: Int32 = 0
        var ru = rusage()
        while wait4(pid, &status, 0, &ru) < 0 && errno == EINTR {}
        let us = (Int64(ru.ru_utime.tv_sec) + Int64(ru.ru_stime.tv_sec)) * 1_000_000 + Int64(ru.ru_utime.tv_usec) + Int64(ru.ru_stime.tv_usec)
        return us * 1000
    }
}

/// Runs a gated workload, optionally under a state source; returns wall and workload CPU seconds.
func timed(_ argv: [String], with source: StateFeed?) throws -> (wall: Double, cpu: Double) {
    try source?.start()
    let child = try GatedChild(argv)
    source?.track(tid: Int(child.pid), pid: Int(child.pid), at: 0)
    let t0 = monotonicNow()
    child.release()
    let cpu = child.waitCPU()
    return (Double(monotonicNow() - t0) / 1e9, Double(cpu) / 1e9)
}

func median(_ a: [Double]) -> Double { a.sorted()[a.count / 2] }

/// Spawn loop of 1000 /bin/true: wall and workload CPU with and without each source.
func spawnLoop() throws {
    let loop = ["/bin/sh", "-c", "i=0; while [ $i -lt 1000 ]; do /bin/true; i=$((i+1)); done"]
    let modes = ["none", "sched", "sched-nosleepkind", "sched-unfiltered", "sampled"]
    var wall: [String: [Double]] = [:], cpu: [String: [Double]] = [:]
    var events = 0, lost = 0, transitions = 0, readerCPU: Int64 = 0
    var readerCPUByMode: [String: Int64] = [:]
    let runs = 11
    for _ in 0..<runs {
        for mode in modes {
            var source: StateFeed?
            switch mode {
            case "sched": source = SchedSource(origin: monotonicNow())
            case "sched-nosleepkind":
                var o = SchedSource.Options(); o.sleepKindFromProc = false
                source = SchedSource(origin: monotonicNow(), options: o)
            case "sched-unfiltered":
                var o = SchedSource.Options(); o.kernelPidFilter = false
                source = SchedSource(origin: monotonicNow(), options: o)
            case "sampled": source = SampledStateSource(origin: monotonicNow())
            default: break
            }
            let r = try timed(loop, with: source)
            wall[mode, default: []].append(r.wall)
            cpu[mode, default: []].append(r.cpu)
            let n = (source?.take(upTo: .max).count ?? 0) + (source?.stop().count ?? 0)
            if let s = source as? SchedSource {
                readerCPUByMode[mode, default: 0] += s.readerCPUNanos
                if mode == "sched" { transitions += n; events += s.eventsRead; lost += s.lost; readerCPU += s.readerCPUNanos }
            }
        }
    }
    for mode in modes {
        let w = wall[mode]!, c = cpu[mode]!, w0 = wall["none"]!, c0 = cpu["none"]!
        print(String(format: "BENCH spawn1000 %@: wall median %.3fs (x%.3f) min %.3fs (x%.3f), workload CPU median %.3fs (x%.3f) min %.3fs (x%.3f)",
                     mode, median(w), median(w) / median(w0), w.min()!, w.min()! / w0.min()!,
                     median(c), median(c) / median(c0), c.min()!, c.min()! / c0.min()!))
    }
    print("BENCH reader CPU ms/run by mode: \(readerCPUByMode.mapValues { $0 / Int64(runs) / 1_000_000 })")
    print("BENCH spawn1000 sched: \(events / runs) raw events/run, \(transitions / runs) state events/run, lost \(lost), reader CPU \(readerCPU / Int64(runs) / 1_000_000) ms/run")
}

/// start(): calibrated default clock vs trace_clock=mono.
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
            _ = child.waitCPU()
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

/// Reader CPU while nothing happens (the polling cost).
func idleCost() throws {
    let s = SchedSource(origin: monotonicNow())
    _ = try timed(["/bin/sleep", "1"], with: s)
    _ = s.stop()
    print("BENCH idle 1 s (a sleeping process followed): reader CPU \(s.readerCPUNanos / 1_000_000) ms, \(s.eventsRead) events")
}

/// Reader throughput on a pipe ping-pong (perf bench sched pipe), when perf is installed.
func throughput() throws {
    guard access("/usr/bin/perf", X_OK) == 0 else {
        print("BENCH pingpong: skipped (/usr/bin/perf is not installed)")
        return
    }
    let argv = ["/usr/bin/perf", "bench", "sched", "pipe", "-l", "200000"]
    let s = SchedSource(origin: monotonicNow())
    let wall = try timed(argv, with: s).wall
    let t = s.take().count + s.stop().count
    print(String(format: "BENCH pingpong: %d raw events in %.3fs = %.0f events/s, %d state events, lost %d, reader CPU %.3fs (%.2f us/event)",
                 s.eventsRead, wall, Double(s.eventsRead) / wall, t, s.lost, Double(s.readerCPUNanos) / 1e9,
                 Double(s.readerCPUNanos) / 1e3 / Double(max(1, s.eventsRead))))
    let none = try timed(argv, with: nil).wall
    print(String(format: "BENCH pingpong wall: none %.3fs sched %.3fs", none, wall))
}

let benches: [(String, () throws -> Void)] = [("spawn", spawnLoop), ("start", startCost), ("idle", idleCost), ("pingpong", throughput)]
let asked = Array(CommandLine.arguments.dropFirst())
if let bad = asked.first(where: { a in !benches.contains { $0.0 == a } }) {
    StandardError.line("SchedBench: no benchmark named \(bad) (have: \(benches.map(\.0).joined(separator: " ")))")
    exit(2)
}
guard SchedSource.isPermitted() else {
    StandardError.line("SchedBench: tracefs is not writable here (needs root): nothing measured")
    exit(2)
}
do {
    for (name, run) in benches where asked.isEmpty || asked.contains(name) { try run() }
} catch {
    StandardError.line("SchedBench: \(error)")
    exit(1)
}
#else
print("SchedBench: Linux only")
#endif
