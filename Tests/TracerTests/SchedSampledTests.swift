#if os(Linux)
@preconcurrency import Glibc
import Testing
import Lifecycle
@testable import Tracer

/// The /proc polling fallback on real processes (no ptrace, no tracefs).
@Suite(.serialized, .timeLimit(.minutes(1)))
struct SchedSampledTests {
    @Test("a sampled sleep is runnable, then blocked about 0.2 s, then terminated")
    func sampledSleep() throws {
        let origin = monotonicNow()
        let source = SampledStateSource(origin: origin, intervalMicros: 2000)
        try source.start()
        defer { source.cleanup() }
        let child = try GatedChild(["/bin/sleep", "0.2"])
        source.track(tid: Int(child.pid), pid: Int(child.pid), at: 0)
        usleep(10_000)
        child.release()
        // Zombie until reaped: let the sampler see it before we reap.
        var info = siginfo_t()
        _ = waitid(P_PID, id_t(child.pid), &info, WEXITED | WNOWAIT)
        usleep(10_000)
        let events = source.take() + source.stop()
        _ = child.wait()
        let s = steps(events, tid: Int(child.pid))
        #expect(pathProblems(s) == [], "\(s)")
        // No ready time can be claimed by sampling.
        #expect((timeIn(s)[.ready] ?? 0) == 0)
        let blocked = s.indices.dropFirst().filter { s[$0 - 1].to == .blocked && s[$0 - 1].why?.contains("nanosleep") == true }
            .map { s[$0].t - s[$0 - 1].t }.max() ?? 0
        #expect(blocked > 180_000_000 && blocked < 260_000_000, "blocked \(blocked) ns in nanosleep")
        #expect(s.last?.to == .terminated)
    }


    @Test("the state letter is read after the comm, even one with spaces and parentheses")
    func stateLetterParsing() {
        #expect(SampledStateSource.stateLetter(statLine: "4242 (a) b (c)) S 1 4242 4242 0 -1") == "S")
        #expect(SampledStateSource.stateLetter(statLine: "7 (x) R 1") == "R")
    }
}
#endif
