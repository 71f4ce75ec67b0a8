import Foundation

/// Checks a recorded trace's own lines (decoded by Foundation, independent of the model) for
/// the state events of every process: each `state` line falls between its process's birth
/// line (`spawn`, `fork`) and its `reap`, and each process, generation by generation, has a
/// path that starts at `new` and reaches `terminated` (its states cover its whole life).
enum StateCoverage {
    struct Report {
        var problems: [String] = []
        /// Processes seen (one per birth line: a reused pid counts once per life).
        var processes = 0
        /// Pids that were born more than once.
        var reusedPids: Set<Int> = []
    }

    static func check(lines: [String]) -> Report {
        var r = Report()
        struct Life { var line: Int; var sawNew = false; var sawTerminated = false; var states = 0 }
        var open: [Int: Life] = [:]
        var born: Set<Int> = []
        func close(_ pid: Int, _ life: Life, at line: Int) {
            if life.states == 0 { r.problems.append("pid \(pid) born at line \(life.line): no state events"); return }
            if !life.sawNew { r.problems.append("pid \(pid) born at line \(life.line): its states do not start at new") }
            if !life.sawTerminated { r.problems.append("pid \(pid) born at line \(life.line): its states never reach terminated (line \(line))") }
        }
        for (i, text) in lines.enumerated() {
            let n = i + 1
            guard let o = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
                  let type = o["type"] as? String else { r.problems.append("line \(n): not JSON"); continue }
            switch type {
            case "spawn", "fork":
                guard let pid = (type == "spawn" ? o["pid"] : o["child"]) as? Int else { continue }
                if open[pid] != nil { r.problems.append("line \(n): pid \(pid) born again before its reap") }
                if born.contains(pid) { r.reusedPids.insert(pid) }
                born.insert(pid)
                open[pid] = Life(line: n)
                r.processes += 1
            case "reap":
                guard let pid = o["pid"] as? Int else { continue }
                if let life = open.removeValue(forKey: pid) { close(pid, life, at: n) }
                else { r.problems.append("line \(n): reap of pid \(pid), which is not alive") }
            case "state":
                guard let pid = o["pid"] as? Int, var life = open[pid] else {
                    r.problems.append("line \(n): state of pid \(o["pid"] ?? "?") outside its life (before its fork or after its reap)")
                    continue
                }
                let tid = o["tid"] as? Int ?? pid
                if tid == pid {
                    if life.states == 0 && o["from"] as? String == "new" { life.sawNew = true }
                    if o["to"] as? String == "terminated" { life.sawTerminated = true }
                    life.states += 1
                }
                open[pid] = life
            default:
                break
            }
        }
        for (pid, life) in open { r.problems.append("pid \(pid) born at line \(life.line) is never reaped") }
        return r
    }
}
