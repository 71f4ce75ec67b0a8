import CProcTrace
import Foundation
import Lifecycle
import Synchronization
import Testing
@testable import Tracer

/// The one OS layer read against the kernel's own account of this test process.
@Suite struct OSLayerTests {
    @Test func procStatusNamesThisProcess() throws {
        let me = Int(getpid())
        let status = try #require(ProcStatus(pid: me))
        #expect(status.tgid == me)
        #expect(status.ppid == Int(getppid()))
        // The last NSpid entry is the pid in this process's own namespace: getpid()'s.
        #expect(status.nsPids.last == me)
        #expect(ProcStatus(pid: 0) == nil)
    }

    @Test func procStatusSignalMasksFollowSigaction() throws {
        let me = Int(getpid())
        let old = signal(SIGUSR2, SIG_IGN)
        defer { signal(SIGUSR2, old) }
        #expect(ProcStatus(pid: me)?.signal(SIGUSR2, in: "SigIgn") == true)
        #expect(ProcStatus(pid: me)?.signal(SIGUSR2, in: "SigCgt") == false)
        signal(SIGUSR2, SIG_DFL)
        #expect(ProcStatus(pid: me)?.signal(SIGUSR2, in: "SigIgn") == false)
    }

    @Test func auxVectorOfThisProcess() throws {
        let aux = try #require(SmallFile.read("/proc/self/auxv"))
        // AT_PAGESZ is the page size the kernel told this process at exec.
        #expect(AuxVector.value(of: AT_PAGESZ, in: aux) == UInt64(sysconf(Int32(_SC_PAGESIZE))))
        // AT_EXECFN points at the exec'd file name on this process's own stack.
        let addr = try #require(AuxVector.value(of: AT_EXECFN, in: aux))
        let name = String(cString: UnsafePointer<CChar>(bitPattern: UInt(addr))!)
        #expect(ProcFS.readlink("/proc/self/exe").map { basename($0) } == basename(name))
        // A type the vector does not hold: nil, not a value read past AT_NULL.
        #expect(AuxVector.value(of: 9999, in: aux) == nil)
    }

    @Test func smallFileWritesAndReadsBack() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("proctrace-os-\(getpid())").path
        defer { unlink(path) }
        #expect(SmallFile.write(path, "one\n") == .noSuchFileOrDirectory)   // write opens, never creates
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        #expect(SmallFile.write(path, "one\n") == nil)
        #expect(SmallFile.write(path, "two\n", append: true) == nil)
        #expect(SmallFile.text(path) == "one\ntwo\n")
        #expect(SmallFile.read(path, limit: 4096)?.count == 8)
        #expect(SmallFile.text(path + ".missing") == nil)
    }

    @Test func stableSortedKeepsTheOrderOfEqualKeys() {
        let pairs = [(3, "a"), (1, "b"), (3, "c"), (1, "d"), (2, "e")]
        #expect(pairs.stableSorted(by: \.0).map(\.1) == ["b", "d", "e", "a", "c"])
        let inOrder = [(1, "x"), (1, "y"), (2, "z")]
        #expect(inOrder.stableSorted(by: \.0).map(\.1) == ["x", "y", "z"])
    }

    /// The header's `start` and attach's `started`: the date computed without gmtime_r agrees with
    /// it, second by second, across leap days, century years and the epoch.
    @Test func rfc3339AgreesWithGmtime() {
        var seconds: [Int64] = [0, 1, 59, 86_399, 86_400, 951_782_399, 951_782_400, 951_868_800, 1_709_164_800, 4_107_542_400,
                                4_102_444_799, 4_102_444_800, 1_795_996_800 + 45_296, 7_258_118_399]
        var x: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<2000 {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            seconds.append(Int64(x % 8_000_000_000))
        }
        for s in seconds {
            var t = time_t(s)
            var tmv = tm()
            gmtime_r(&t, &tmv)
            let expected = String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", Int(tmv.tm_year) + 1900, Int(tmv.tm_mon) + 1, Int(tmv.tm_mday),
                                  Int(tmv.tm_hour), Int(tmv.tm_min), Int(tmv.tm_sec), Int(s % 1_000_000))
            #expect(Recorder.rfc3339(ns: s * 1_000_000_000 + (s % 1_000_000) * 1000 + 999) == expected, "\(s)")
        }
        #expect(Recorder.rfc3339(ns: 1_795_996_800_000_000_000 + 45_296_000_001_000) == "2026-11-30T12:34:56.000001Z")
    }

    /// A forked child inherits its thread's cached thread id (the Swift runtime's futex locks
    /// and Synchronization's Mutex keep it in thread-local storage): the parent's. The tracer,
    /// forked from the front, forgets those caches (`pt_tid_caches`), or its first contended
    /// lock would spin forever (docs/recorder.md, "The front"). Here with the real runtime, in a
    /// child forked from this test's thread: the caches are there, holding this thread's id,
    /// and none is left once forgotten.
    @Test func aForkedChildForgetsTheRuntimesCachedThreadIds() throws {
        // A Mutex lock caches this thread's id, if nothing has yet.
        let m = Mutex(0)
        m.withLock { $0 += 1 }
        var before: Int32 = 0, after: Int32 = 0
        #expect(pt_fork_tid_caches(&before, &after) == 0)
        #expect(before > 0, "no cached thread id found in the Swift runtime's thread-local storage")
        #expect(after == 0)
    }
}
