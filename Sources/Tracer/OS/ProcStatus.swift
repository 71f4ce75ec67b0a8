/// A process's `/proc/PID/status` ("Tgid:\t4100", "NSpid:\t4100\t1",
/// "SigIgn:\t0000000000000004", one field a line): the one parser of that file.
struct ProcStatus {
    let text: String

    /// The status of `pid` in this /proc, or nil when it cannot be read (the process is gone).
    init?(pid: Int) { self.init(dir: "/proc/\(pid)") }

    /// The status in a process's directory of some /proc (`/proc/PID`, `/proc/PID/task/TID`).
    init?(dir: String) {
        guard let b = SmallFile.read("\(dir)/status") else { return nil }
        text = String(decoding: b, as: UTF8.self)
    }

    init(text: String) { self.text = text }

    /// The value of field `name`, without the blanks around it.
    func field(_ name: String) -> Substring? {
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            let rest = line.dropFirst(name.count)
            if rest.first == ":" { return rest.dropFirst().trimmingBlanks() }
        }
        return nil
    }

    /// The thread group (process) the task belongs to.
    var tgid: Int? { field("Tgid").flatMap { Int($0) } }
    /// The current parent process.
    var ppid: Int? { field("PPid").flatMap { Int($0) } }
    /// The pid in each pid namespace from this /proc's down to the process's own (`NSpid`).
    var nsPids: [Int] {
        field("NSpid").map { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap { Int($0) } } ?? []
    }

    /// Whether signal `sig` is in the mask `name` (`SigIgn`, `SigCgt`, `SigBlk`); nil if the
    /// field is missing or malformed.
    func signal(_ sig: Int32, in name: String) -> Bool? {
        field(name).flatMap { UInt64($0, radix: 16) }.map { $0 & (1 << UInt64(sig - 1)) != 0 }
    }
}

extension Substring {
    /// Without the spaces and tabs at either end (the padding of /proc fields).
    func trimmingBlanks() -> Substring {
        var s = self
        while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" { s = s.dropLast() }
        return s
    }
}
