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

    /// Reads the image of a task stopped at its exec event; nil if the stack does not look
    /// as expected (then /proc is the fallback). argv is read whole, whatever its size (the
    /// kernel bounds it, at a quarter of the stack limit).
    static func read(_ tid: Int, from kernel: any Kernel) -> ExecImage? {
        guard let sp = kernel.stackPointer(tid), sp != 0 else { return nil }
        // argc, the argv and envp pointers and the auxiliary vector: read more of the stack
        // when they do not fit (many small arguments).
        var head: [UInt8] = []
        var words = 0
        func load(_ size: Int) -> Bool {
            guard let buf = kernel.readMemory(tid, at: sp, count: size), buf.count > head.count else { return false }
            head = buf
            words = buf.count / 8
            return true
        }
        guard load(16384), words >= 2 else { return nil }
        func word(_ i: Int) -> UInt64? {
            if i >= words {
                // Grow to cover word i (and then some), unless the stack ends first.
                guard head.count == words * 8, load(max(head.count * 2, (i + 1024) * 8)), i < words else { return nil }
            }
            return head.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self) }
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
        // What the first read already holds, from `sp`.
        let top = sp + UInt64(head.count)
        var name: String?
        if execfn != 0 {
            if execfn >= sp, execfn < top, let z = head[Int(execfn - sp)...].firstIndex(of: 0) {
                name = ProcFS.decode(Array(head[Int(execfn - sp)..<z]))
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
        let block: [UInt8]
        if first >= sp, end <= top {
            block = Array(head[Int(first - sp)..<Int(end - sp)])
        } else {
            block = kernel.readMemory(tid, at: first, count: size) ?? []
        }
        let got = block.count
        var argv: [String] = []
        argv.reserveCapacity(argc)
        var lossy = false
        for p in argvPtrs {
            let start = Int(p - first)
            guard start < got else { break }
            guard let stop = block[start..<got].firstIndex(of: 0) else {
                argv.append(ProcFS.decodeArgument(Array(block[start..<got]), lossy: &lossy))
                break
            }
            argv.append(ProcFS.decodeArgument(Array(block[start..<stop]), lossy: &lossy))
        }
        return ExecImage(argv: argv, execFilename: name, argvBytes: size, argvComplete: got == size && argv.count == argc,
                         argvLossy: lossy)
    }
}
