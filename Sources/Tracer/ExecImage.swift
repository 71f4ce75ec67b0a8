import CProcTrace
@preconcurrency import Glibc

/// What a task looks like right after a successful exec, read from the new image's initial
/// stack (argc, argv, envp, auxiliary vector) with three memory reads: cheaper, while the
/// task waits for us, than the /proc files that say the same (cmdline, auxv).
struct ExecImage {
    var argv: [String]
    /// The file name given to execve (`AT_EXECFN`): the script, for a `#!` script.
    var execFilename: String?

    /// Reads the image of a task stopped at its exec event; nil if the stack does not look
    /// as expected (then /proc is the fallback).
    static func read(_ tid: Int) -> ExecImage? {
        var sp: UInt64 = 0
        guard pt_stack_pointer(pid_t(tid), &sp) == 0, sp != 0 else { return nil }
        var head = [UInt8](repeating: 0, count: 8192)
        let n = head.withUnsafeMutableBytes { pt_read_mem(pid_t(tid), sp, $0.baseAddress!, UInt($0.count)) }
        guard n >= 16 else { return nil }
        let words = n / 8
        func word(_ i: Int) -> UInt64? {
            guard i < words else { return nil }
            return head.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self) }
        }
        guard let argc64 = word(0), argc64 < 65536 else { return nil }
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
        var execfn: UInt64 = 0
        while let key = word(i), let value = word(i + 1) {
            if key == 0 { break }
            if key == 31 { execfn = value }   // AT_EXECFN
            i += 2
        }
        // The argv strings lie back to back, up to the first environment string.
        var argv: [String] = []
        if let first = argvPtrs.first {
            let end = firstEnv ?? (execfn != 0 ? execfn : 0)
            if end > first && end - first <= 1 << 20 {
                var block = [UInt8](repeating: 0, count: Int(end - first))
                let got = block.withUnsafeMutableBytes { pt_read_mem(pid_t(tid), first, $0.baseAddress!, UInt($0.count)) }
                guard got == block.count else { return nil }
                for p in argvPtrs {
                    guard p >= first, p < end else { return nil }
                    let start = Int(p - first)
                    let stop = block[start...].firstIndex(of: 0) ?? block.count
                    argv.append(ProcFS.decode(Array(block[start..<stop])))
                }
            } else {
                for p in argvPtrs { argv.append(Tracee.readCString(tid, at: p) ?? "") }
            }
        }
        let name = execfn != 0 ? Tracee.readCString(tid, at: execfn) : nil
        return ExecImage(argv: argv, execFilename: name)
    }
}
