#if os(Linux)
import CProcTrace
@preconcurrency import Glibc
import Foundation
import Lifecycle
import Testing
@testable import Tracer

/// The ptrace event loop driven by scripted stop sequences (ScriptedKernel): the events it
/// writes and how it resumes each task, for the orders the kernel may choose. No ptrace, no
/// root, no timing: each sequence is one the kernel produces (see LINUX-NOTES.md).
@Suite(.timeLimit(.minutes(1)))
struct EventLoopTests {
    typealias Stop = ScriptedKernel.Stop
    typealias Request = ScriptedKernel.Request

    /// What one scripted recording left: the trace's lines and the loop's requests.
    struct Played {
        var lines: [[String: Any]]
        var requests: [Request]
        var result: RecordResult
        var table: TaskTable
        var path: String
        /// How many requests were made while recording (the rest: tending).
        var recordedRequests: Int
        var tendingRequests: [Request] { Array(requests.dropFirst(recordedRequests)) }

        func events(_ type: String) -> [[String: Any]] { lines.filter { $0["type"] as? String == type } }
        /// Types of the lines after the header and the spawn, `fork`, `exit`… in order.
        var types: [String] { lines.dropFirst(2).compactMap { $0["type"] as? String } }
        func requests(of tid: Int) -> [Request] { requests.filter { $0.tid == tid } }
        var end: [String: Any] { lines.last ?? [:] }
    }

    /// Follows root 100 (as if spawned) through `stops`; the script ends when nothing is left.
    /// With `untilRootExits`, the recording ends when the root exits and the rest of the script
    /// is tended (as `record --until-root-exits` does).
    func play(_ stops: [Stop], root: Int = 100, untilRootExits: Bool = false,
              _ setUp: (ScriptedKernel) -> Void = { _ in }) throws -> Played {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("proctrace-loop-\(getpid())-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var options = RecordOptions(command: ["workload"], output: path)
        options.states = .none
        options.reapTimeout = 0
        options.untilRootExits = untilRootExits
        var recordedRequests: Int?
        let kernel = ScriptedKernel(stops)
        setUp(kernel)
        let recorder = try Recorder(options, kernel: kernel)
        recorder.tendsLeftovers = true   // as with a front process
        recorder.begin()
        recorder.follow(root: root, at: recorder.clock.now())
        recorder.eventLoop()
        let result = recorder.finish()
        if recorder.tendingNeeded {
            recordedRequests = kernel.requests.count
            recorder.tend()
        }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = try text.split(separator: "\n").map { try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        let report = try TraceValidator.validate(path: path)
        #expect(report.isClean, "validate: \(report.formatted)")
        return Played(lines: lines, requests: kernel.requests, result: result, table: recorder.table, path: path,
                      recordedRequests: recordedRequests ?? kernel.requests.count)
    }

    /// The root forks 101 and reaps it with wait4(-1); the child's first stop comes before or
    /// after its creator's fork event.
    func forkAndReap(childStopFirst: Bool) -> [Stop] {
        let fork: [Stop] = childStopFirst ? [.firstStop(101), .fork(100, child: 101)] : [.fork(100, child: 101), .firstStop(101)]
        return fork + [
            .exited(101, 7),
            .wait4(100, target: -1),
            .returns(100, 101, storing: WaitStatus.exited(7)),
            .exited(100, 0),
        ]
    }

    @Test("The fork race: a child's first stop before its creator's fork event is held, then resumed once the fork is written",
          arguments: [true, false])
    func forkRace(childStopFirst: Bool) throws {
        let p = try play(forkAndReap(childStopFirst: childStopFirst))
        #expect(p.types == ["fork", "exit", "wait", "wait", "reap", "exit", "reap", "end"])
        let fork = try #require(p.events("fork").first)
        #expect(fork["pid"] as? Int == 100 && fork["child"] as? Int == 101 && fork["parent"] as? Int == 100 && fork["via"] as? String == "fork")
        // Each stop is resumed exactly once, the held one only after the fork event names it.
        #expect(p.requests(of: 101) == [.cont(101, signal: 0)])
        if childStopFirst {
            #expect(p.requests.prefix(2) == [.cont(101, signal: 0), .cont(100, signal: 0)])
        } else {
            #expect(p.requests.prefix(2) == [.cont(100, signal: 0), .cont(101, signal: 0)])
        }
        #expect(p.requests(of: 100) == [.cont(100, signal: 0), .syscall(100), .cont(100, signal: 0)])
        let reap = try #require(p.events("reap").first)
        #expect(reap["pid"] as? Int == 101 && reap["by"] as? Int == 100 && reap["how"] as? String == "wait")
        let end = try #require(p.events("wait").last)
        #expect(end["result"] as? Int == 101 && (end["status"] as? [String: Any])?["exited"] as? Int == 7)
        #expect(p.table.earlyStops.isEmpty && p.table.earlyExits.isEmpty)
    }

    @Test("A child that dies before its fork event is reported is born, then dies: its exit is held until the fork is written")
    func exitBeforeForkEvent() throws {
        let p = try play([.exited(101, 0), .fork(100, child: 101), .wait4(100, target: 101), .returns(100, 101, storing: 0), .exited(100, 0)])
        #expect(p.types == ["fork", "exit", "wait", "wait", "reap", "exit", "reap", "end"])
        #expect(p.requests(of: 101).isEmpty, "a dead task is never resumed")
    }

    @Test("A wait interrupted by a signal and restarted (ERESTARTSYS) is one wait, not two")
    func restartedWait() throws {
        let p = try play([
            .fork(100, child: 101), .firstStop(101),
            .wait4(100, target: 101),
            .returns(100, -512),                        // -ERESTARTSYS: the kernel restarts the call
            .signal(100, SIGUSR1, from: 100, code: -6), // the handler that interrupted it runs
            .wait4(100, target: 101),                   // the restarted call, through the filter again
            .exited(101, 3),
            .returns(100, 101, storing: WaitStatus.exited(3)),
            .exited(100, 0),
        ])
        let waits = p.events("wait")
        #expect(waits.map { $0["phase"] as? String } == ["begin", "end"])
        #expect(waits.last?["result"] as? Int == 101)
        #expect((waits.last?["restarted"] as? [Int])?.count == 1, "the end says it was interrupted once and restarted")
        #expect(p.requests(of: 100) == [
            .cont(100, signal: 0),           // fork event
            .syscall(100),                   // to the wait's exit
            .cont(100, signal: 0),           // the restart code: nothing to record yet
            .syscall(100),                   // the signal is delivered (unchanged) and the task stepped to
                                             // see how the call comes back (`sigreturnStep`): here the
                                             // restart's seccomp stop comes next
            .syscall(100),                   // the restarted wait, to its exit
            .cont(100, signal: 0),
        ])
        let signal = try #require(p.events("signal").first)
        #expect(signal["sig"] as? String == "SIGUSR1" && signal["from"] as? Int == 100 && signal["code"] as? String == "SI_TKILL")
    }

    @Test("A wait the program did not restart (another call came instead) ended with EINTR")
    func interruptedWaitNotRestarted() throws {
        let p = try play([
            .fork(100, child: 101), .firstStop(101),
            .wait4(100, target: 101),
            .returns(100, -512),
            .wait4(100, target: -1),
            .exited(101, 0),
            .returns(100, 101, storing: 0),
            .exited(100, 0),
        ])
        let waits = p.events("wait")
        #expect(waits.map { $0["phase"] as? String } == ["begin", "end", "begin", "end"])
        #expect(waits[1]["result"] as? String == "EINTR" && waits[1]["target"] as? Int == 101)
        #expect(waits[2]["target"] as? Int == -1 && waits[3]["result"] as? Int == 101)
    }

    @Test("SIGCHLD ignored: the child is reaped by the kernel at its exit; a wait then gets ECHILD")
    func autoReap() throws {
        let p = try play([
            .sigchldAction(100, handler: 1),   // signal(SIGCHLD, SIG_IGN)
            .fork(100, child: 101), .firstStop(101),
            .exited(101, 0),
            .wait4(100, target: -1),
            .returns(100, -Int64(ECHILD)),
            .exited(100, 0),
        ])
        #expect(p.types == ["fork", "exit", "reap", "wait", "wait", "exit", "reap", "end"])
        let reap = try #require(p.events("reap").first)
        #expect(reap["pid"] as? Int == 101 && reap["how"] as? String == "auto" && reap["by"] as? Int == 100)
        #expect(p.events("wait").last?["result"] as? String == "ECHILD")
        #expect(p.requests(of: 100).first == .cont(100, signal: 0), "rt_sigaction needs no exit stop")
    }

    @Test("An orphan is reparented at its parent's exit (to what /proc says), and reaped by that untraced adopter")
    func orphanReparentedAndAdopted() throws {
        let p = try play([
            .fork(100, child: 101), .firstStop(101),
            .fork(101, child: 102), .firstStop(102),
            .exited(101, 0),
            .wait4(100, target: 101), .returns(100, 101, storing: 0),
            .exited(102, 0),
            .exited(100, 0),
        ]) { $0.parents[102] = 1 }
        let reparent = try #require(p.events("reparent").first)
        #expect(reparent["pid"] as? Int == 102 && reparent["from"] as? Int == 101 && reparent["to"] as? Int == 1)
        let reap = try #require(p.events("reap").first { $0["pid"] as? Int == 102 })
        #expect(reap["by"] as? Int == 1 && reap["how"] as? String == "adopted")
    }

    @Test("An orphaned zombie its adopter releases the moment proctrace watches it is written after its parent's exit and its reparent")
    func adoptedZombieReleasedAtOnceComesAfterItsReparent() throws {
        // A real pidfd whose process is already released: the watcher sees the release at once,
        // as when a pid 1 that reaps at once (make as a namespace's init) is faster than the loop.
        var pid: pid_t = 0
        var argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/true"), nil]
        defer { free(argv[0]) }
        #expect(posix_spawn(&pid, "/bin/true", nil, nil, &argv, environ) == 0)
        let fd = pt_pidfd_open(pid)
        var st: Int32 = 0
        _ = waitpid(pid, &st, 0)
        try #require(fd >= 0)
        let p = try play([
            .fork(100, child: 101), .firstStop(101),
            .fork(101, child: 102), .firstStop(102),
            .exited(102, 0),
            .exited(101, 0),
            .wait4(100, target: 101), .returns(100, 101, storing: 0),
            .exited(100, 0),
        ]) { $0.parents[102] = 1; $0.pidfds[102] = fd }
        let kinds = p.lines.compactMap { l -> String? in
            guard let type = l["type"] as? String, ["exit", "reparent", "reap"].contains(type) else { return nil }
            return "\(type) \(l["pid"] as? Int ?? 0)"
        }
        // The file's order is causal: 101 dies, 102 is handed to 1, then 1 releases it.
        #expect(Array(kinds.prefix(4)) == ["exit 102", "exit 101", "reparent 102", "reap 102"], "\(kinds)")
        let reap = try #require(p.events("reap").first { $0["pid"] as? Int == 102 })
        #expect(reap["by"] as? Int == 1 && reap["how"] as? String == "adopted")
    }

    @Test("Job control: a group-stop is listened to; a signal that wakes it is delivered and the task sent back into its stop; SIGCONT ends it")
    func groupStopAndJobControl() throws {
        let p = try play([
            .fork(100, child: 101), .firstStop(101),
            .signal(100, SIGTSTP, code: 0x80),        // Ctrl-Z (the kernel sends it: SI_KERNEL)
            .groupStop(100, SIGTSTP),
            .signal(100, SIGCHLD, from: 101, code: 5), // CLD_STOPPED: the child stopped too
            .groupStop(100, SIGTSTP),
            .signal(100, SIGCONT, code: 0),            // fg
            .groupStopEnds(100),
            .exited(101, 0), .wait4(100, target: 101), .returns(100, 101, storing: 0),
            .exited(100, 0),
        ])
        #expect(p.requests(of: 100) == [
            .cont(100, signal: 0),
            .cont(100, signal: SIGTSTP),        // delivered: the task stops
            .listen(100),                       // and stays stopped for its shell
            .interrupt(100),                    // SIGCHLD woke it: back into the stop after it
            .cont(100, signal: SIGCHLD),
            .listen(100),
            .cont(100, signal: SIGCONT),        // SIGCONT is not sent back into the stop
            .cont(100, signal: 0),              // the group-stop's end
            .syscall(100), .cont(100, signal: 0),
        ])
        let signals = p.events("signal")
        #expect(signals.map { $0["sig"] as? String } == ["SIGTSTP", "SIGCHLD", "SIGCONT"])
        #expect(signals[0]["code"] as? String == "SI_KERNEL" && signals[0]["from"] == nil)
        #expect(signals[1]["from"] as? Int == 101 && signals[1]["code"] as? String == "CLD_STOPPED")
    }

    @Test("An exec by a non-leader thread: the other threads end with the exec, the execing thread takes the leader's pid",
          arguments: [true, false])
    func execWithThreads(otherThreadDeathFirst: Bool) throws {
        let death: [Stop] = [.exited(101, 0)]
        let p = try play([
            .fork(100, child: 101, thread: true), .firstStop(101),
            .fork(100, child: 102, thread: true), .firstStop(102),
        ] + (otherThreadDeathFirst ? death : []) + [
            .exec(100, formerTid: 102),             // thread 102 exec'd: it is 100 now
        ] + (otherThreadDeathFirst ? [] : death) + [
            // The tid of the ended thread comes back as a new child's.
            .fork(100, child: 101), .firstStop(101),
            .exited(101, 0), .wait4(100, target: 101), .returns(100, 101, storing: 0),
            .exited(100, 0),
        ]) {
            $0.commandLines[100] = ["/bin/true", "--version"]
            $0.executables[100] = "/usr/bin/true"
        }
        let exec = try #require(p.events("exec").first)
        #expect(exec["pid"] as? Int == 100 && exec["former_tid"] as? Int == 102)
        #expect(exec["argv"] as? [String] == ["/bin/true", "--version"] && exec["path"] as? String == "/usr/bin/true")
        // Each thread ends once: 101 (by the exec or by its own death, whichever came first),
        // 102 not at all (it lives on as the process's main thread).
        let ends = p.events("thread").filter { $0["phase"] as? String == "exit" }
        #expect(ends.map { $0["tid"] as? Int } == [101])
        // The new process 101 lives until its own exit, which its parent reaps.
        let newChild = try #require(p.events("fork").first { $0["child"] as? Int == 101 })
        let exit = try #require(p.events("exit").first { $0["pid"] as? Int == 101 })
        #expect((exit["t"] as? Int ?? 0) >= (newChild["t"] as? Int ?? .max))
        #expect(p.events("reap").contains { $0["pid"] as? Int == 101 && $0["by"] as? Int == 100 })
        // The thread's first stop and the new child's: each resumed, none held for ever.
        #expect(p.requests(of: 101) == [.cont(101, signal: 0), .cont(101, signal: 0)])
        #expect(p.table.earlyStops.isEmpty && p.table.earlyExits.isEmpty && p.table.endedByExec.isEmpty)
    }

    @Test("After an early end, what is left is tended: each stop resumed so that every call runs as if untraced, nothing more written")
    func tendingAfterAnEarlyEnd() throws {
        let p = try play([
            .fork(100, child: 101), .firstStop(101),
            .fork(101, child: 102), .firstStop(102),
            .exited(100, 0),                            // --until-root-exits: the recording ends here
            // Tended from here on: 101 and 102 carry the seccomp filter.
            .wait4(101, target: 102),                   // runs as if untraced: no stop at its exit
            .fork(101, child: 103),
            .firstStop(103),                            // a child born after the end
            .firstStop(104), .fork(102, child: 104),    // and one whose first stop came first
            .groupStop(103, SIGSTOP),
            .signal(103, SIGCHLD, from: 104, code: 1),  // it wakes the stopped 103
            .signal(103, SIGCONT),
            .groupStopEnds(103),
            .sigchldAction(101, handler: 0),
            .exited(104, 0), .exited(103, 0), .exited(102, 0), .exited(101, 0),
        ], untilRootExits: true) { $0.parents[101] = 1 }   // the root's child, adopted by init at its exit
        #expect(p.end["reason"] as? String == "root-exited")
        #expect(p.end["detached"] as? [Int] == [101, 102])
        #expect(p.types.last == "end" && !p.lines.contains { $0["pid"] as? Int == 103 || $0["child"] as? Int == 103 }, "nothing after the end")
        #expect(p.tendingRequests == [
            .cont(101, signal: 0),                       // wait4: PTRACE_CONT, the call runs
            .cont(101, signal: 0),                       // fork event
            .cont(103, signal: 0),                       // its first stop
            .cont(104, signal: 0),                       // a first stop before its fork event: not held
            .cont(102, signal: 0),
            .listen(103),                                // job control still works
            .interrupt(103), .cont(103, signal: SIGCHLD), // delivered, back into the stop
            .cont(103, signal: SIGCONT),
            .cont(103, signal: 0),
            .cont(101, signal: 0),                       // rt_sigaction
        ])
    }

    @Test("A resume that finds the task gone (ESRCH) is expected; any other failure is counted in the end line")
    func resumeFailuresAreCountedNotDropped() throws {
        let p = try play(forkAndReap(childStopFirst: false)) { k in
            k.failures[101] = -Int(ESRCH)   // killed while stopped
            k.failures[100] = -Int(EIO)
        }
        #expect(p.result.ptraceFailures == 1)
        #expect(p.end["type"] as? String == "end" && p.end["ptrace_failures"] as? Int == 1)
        let clean = try play(forkAndReap(childStopFirst: false))
        #expect(clean.result.ptraceFailures == 0 && clean.end["ptrace_failures"] == nil)
    }
}
#endif
