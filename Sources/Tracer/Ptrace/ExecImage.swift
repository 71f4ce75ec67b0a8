@preconcurrency import Glibc

/// What a task looks like right after a successful exec, read from the new image's initial
/// stack (argc, argv, envp, auxiliary vector, and the strings above them): cheaper, while the
/// task waits for us, than the /proc files that say the same (cmdline, auxv). Usually one memory
/// read: the first, of up to 16 KB from the stack pointer, stops at the top of the stack and so
/// holds the argument strings and the exec file name too, unless the environment is large.
struct ExecImage {
    var argv: [String]
    /// The file name given to execve (`AT_EXECFN`): the script, for a `#!` script.
    var execFilename: String?
    /// Bytes of the argument strings (each with its NUL), as they lie on the new stack.
    var argvBytes: Int
    /// False when part of argv could not be read (a short read of the tracee's memory): `argv`
    /// then holds what was read, and the trace says so.
    var argvComplete = true
    /// Some argument held bytes that are not valid UTF-8 (shown as U+FFFD).
    var argvLossy = false

    /// The size of the first read from the stack pointer.
    static let firstRead = 16384

    /// Reads the image of a task stopped at its exec event; nil if the stack does not look
    /// as expected (then /proc is the fallback). argv is read whole, whatever its size (the
    /// kernel bounds it, at a quarter of the stack limit). `scratch` holds the first read: the
    /// loop keeps one from exec to exec, so that an exec event allocates and clears no buffer
    /// while its task waits (it runs at every exec).
    static func read(_ tid: Int, from kernel: any Kernel, scratch: ExecScratch = ExecScratch()) -> ExecImage? {
        guard let sp = kernel.stackPointer(tid), sp != 0 else { return nil }
        // argc, the argv and envp pointers and the auxiliary vector, in `scratch` from `sp`: read
        // more of the stack when they do not fit (many small arguments).
        var count = 0
        func load(_ size: Int) -> Bool {
            if size <= scratch.bytes.count {
                let n = kernel.readMemory(tid, at: sp, into: UnsafeMutableRawBufferPointer(rebasing: scratch.bytes[..<size]))
                guard n > count else { return false }
                count = n
                return true
            }
            // A bigger buffer, kept only when it holds more than the one before (that one is
            // the stack as it is too: the task is stopped).
            let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 8)
            let n = kernel.readMemory(tid, at: sp, into: bigger)
            guard n > count else { bigger.deallocate(); return false }
            scratch.replace(with: bigger)
            count = n
            return true
        }
        guard load(Self.firstRead), count >= 16 else { return nil }
        func word(_ i: Int) -> UInt64? {
            if i >= count / 8 {
                // Grow to cover word i (and then some), unless the stack ends first.
                guard count % 8 == 0, load(max(count * 2, (i + 1024) * 8)), i < count / 8 else { return nil }
            }
            return UnsafeRawBufferPointer(scratch.bytes).loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)
        }
        guard let argc64 = word(0), argc64 < 1 << 31 else { return nil }
        let argc = Int(argc64)
        var argvPtrs: [UInt64] = []
        argvPtrs.reserveCapacity(argc)
        for i in 0..<argc {
            guard let p = word(1 + i) else { return nil }
            argvPtrs.append(p)
        }
        guard word(1 + argc) == 0 else { return nil }
        // envp, then the auxiliary vector.
        var i = 2 + argc
        var firstEnv: UInt64?
        while true {
            guard let p = word(i) else { return nil }
            i += 1
            if p == 0 { break }
            if firstEnv == nil { firstEnv = p }
        }
        let execfn = AuxVector.value(of: AT_EXECFN, from: i, word: word) ?? 0
        // What the reads already hold, from `sp`.
        let head = UnsafeRawBufferPointer(rebasing: scratch.bytes[..<count])
        let top = sp + UInt64(count)
        var name: String?
        if execfn != 0 {
            if execfn >= sp, execfn < top, let z = Self.nul(in: head, from: Int(execfn - sp)) {
                name = String(decoding: UnsafeRawBufferPointer(rebasing: head[Int(execfn - sp)..<z]), as: UTF8.self)
            } else {
                name = kernel.readCString(tid, at: execfn)
            }
        }
        // The argv strings lie back to back, up to the first environment string (or, with no
        // environment, the exec file name).
        guard let first = argvPtrs.first else { return ExecImage(argv: [], execFilename: name, argvBytes: 0) }
        let end = firstEnv ?? execfn
        guard end > first, argvPtrs.allSatisfy({ $0 >= first && $0 < end }) else { return nil }
        let size = Int(end - first)
        func decode(_ block: UnsafeRawBufferPointer) -> ExecImage {
            let got = block.count
            var argv: [String] = []
            argv.reserveCapacity(argc)
            var lossy = false
            for p in argvPtrs {
                let start = Int(p - first)
                guard start < got else { break }
                guard let stop = Self.nul(in: block, from: start) else {
                    argv.append(ProcFS.decodeArgument(UnsafeRawBufferPointer(rebasing: block[start..<got]), lossy: &lossy))
                    break
                }
                argv.append(ProcFS.decodeArgument(UnsafeRawBufferPointer(rebasing: block[start..<stop]), lossy: &lossy))
            }
            return ExecImage(argv: argv, execFilename: name, argvBytes: size, argvComplete: got == size && argv.count == argc,
                             argvLossy: lossy)
        }
        if first >= sp, end <= top {
            return decode(UnsafeRawBufferPointer(rebasing: head[Int(first - sp)..<Int(end - sp)]))
        }
        let block = kernel.readMemory(tid, at: first, count: size) ?? []
        return block.withUnsafeBytes { decode($0) }
    }

    /// The offset of the first NUL in `bytes` at or after `from`, or nil.
    private static func nul(in bytes: UnsafeRawBufferPointer, from: Int) -> Int? {
        guard from < bytes.count, let base = bytes.baseAddress else { return nil }
        guard let hit = memchr(base + from, 0, bytes.count - from) else { return nil }
        return base.distance(to: UnsafeRawPointer(hit))
    }
}

/// The buffer an exec event's first read of the new stack goes into, kept by the loop from
/// exec to exec (one thread uses it).
final class ExecScratch {
    private(set) var bytes: UnsafeMutableRawBufferPointer

    init(capacity: Int = ExecImage.firstRead) {
        bytes = .allocate(byteCount: capacity, alignment: 8)
    }

    deinit { bytes.deallocate() }

    /// Takes `bigger` (already filled) in place of the current buffer.
    func replace(with bigger: UnsafeMutableRawBufferPointer) {
        bytes.deallocate()
        bytes = bigger
    }
}
