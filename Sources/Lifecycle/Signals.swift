/// Linux signal names by number (the numbering of x86_64 and arm64, which agree).
public enum SignalName {
    static let names: [String] = [
        "0", "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE",
        "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT",
        "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU",
        "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS",
    ]

    /// `SIGKILL` for 9, `SIGRTMIN+3` for 37, `SIG99` past the range.
    public static func name(_ number: Int) -> String {
        if number > 0 && number < names.count { return names[number] }
        if number >= 32 && number <= 64 { return number == 34 ? "SIGRTMIN" : "SIGRTMIN+\(number - 34)" }
        return "SIG\(number)"
    }

    /// The number of a signal name, or nil.
    public static func number(_ name: String) -> Int? {
        if let i = names.firstIndex(of: name), i > 0 { return i }
        if name == "SIGRTMIN" { return 34 }
        if name.hasPrefix("SIGRTMIN+"), let n = Int(name.dropFirst(9)) { return 34 + n }
        if name.hasPrefix("SIG"), let n = Int(name.dropFirst(3)) { return n }
        return nil
    }
}
