import Lifecycle

/// Lifecycle problems with their evidence, each told in one line in the tutorial's words
/// (zombie, orphan, reap, adopt, wait).
enum Findings {
    static func compute(_ h: ProcessHistory, zombieThreshold: Int64) -> [TraceAnalysis.Finding] {
        var out: [TraceAnalysis.Finding] = []
        func name(_ r: ProcessRecord) -> String { "\(r.command)(\(r.id))" }
        func who(_ pid: Int, at t: Int64) -> String {
            if let p = h.process(pid: pid, at: t) { return name(p) }
            if pid == h.tracerPid { return "proctrace(\(pid))" }
            if pid == 1 { return "init(1)" }
            if pid == 0 { return "an unidentified process" }
            return "untraced process \(pid)"
        }
        func i(_ v: Int) -> JSONValue { .int(Int64(v)) }
        func add(_ kind: TraceAnalysis.FindingKind, _ r: ProcessRecord, _ t: Int64, _ d: Int64?, _ message: String, _ facts: [(String, JSONValue)]) {
            out.append(TraceAnalysis.Finding(kind: kind, id: r.id, t: t, duration: d, message: message, facts: JSONObject(facts)))
        }
        let root = h.roots.first { $0.via == .spawn } ?? h.roots.first

        for r in h.processes {
            // Zombies: exit → reap longer than the threshold. The root's reaper is proctrace,
            // which reaps it as soon as it sees the exit; its zombie time is proctrace's.
            if let x = r.exitTime, r.id != root?.id || r.reapTime == nil {
                let d = (r.reapTime ?? h.endTime) - x
                if d > zombieThreshold {
                    let parent = r.parentPid(at: x)
                    var m = "\(name(r)) stayed a zombie for \(TimeFormat.duration(d)): it had exited, but its parent " +
                        "\(who(parent, at: x)) had not called wait() for it"
                    var facts: [(String, JSONValue)] = [("parent", i(parent))]
                    if let adopted = r.reparents.first(where: { $0.t >= x }) {
                        m += "; when the parent died it was adopted by \(who(adopted.to, at: adopted.t))"
                    }
                    if let by = r.reapedBy, let how = r.reapHow {
                        facts.append(("reaped_by", i(by))); facts.append(("how", .string(how.rawValue)))
                        m += how == .wait || how == .adopted ? ", and \(who(by, at: r.reapTime!)) finally reaped it" : ", and the kernel reaped it (\(how))"
                    } else {
                        facts.append(("reaped_by", .null))
                        m += ", and nobody had reaped it when the trace ended"
                    }
                    add(.zombie, r, x, d, m, facts)
                }
            }
            // Orphans: the parent died first; the kernel gave the process a new parent.
            for rp in r.reparents {
                let alive = r.exitTime.map { $0 > rp.t } ?? true
                let what = alive ? "became an orphan" : "was left a zombie orphan"
                var m = "\(name(r)) \(what) at \(TimeFormat.clock(rp.t))s when its parent \(rp.from) died; the kernel gave it to \(who(rp.to, at: rp.t))"
                if let by = r.reapedBy, r.reapHow == .adopted || by == rp.to { m += ", which reaped it" }
                add(.orphan, r, rp.t, nil, m, [("from", i(rp.from)), ("adopter", i(rp.to))])
            }
            // Alive at the end: nothing ended it (a leaked daemon), or the trace was cut short.
            if r.exitTime == nil {
                let m = h.incomplete
                    ? "\(name(r)) was still alive when the recording was cut short (the trace has no end line)"
                    : "\(name(r)) was still running when the trace ended: nobody stopped it or waited for it (a leaked daemon?)"
                add(.aliveAtEnd, r, r.birth, h.endTime - r.birth, m, [])
            }
            // Killed by a signal.
            if case let .signaled(sig, core)? = r.exitStatus, let x = r.exitTime {
                let received = r.signals.filter { $0.sig == sig && $0.t <= x }
                let last = received.last
                let sender = last?.from
                // Where a signal came from: a process, or the kernel (a terminal's Ctrl-C is
                // the tty driver's SIGINT: no sender, code SI_KERNEL).
                func origin(_ s: SignalRecord) -> String? {
                    if let f = s.from { return "sent by \(who(f, at: s.t))" }
                    guard s.code == "SI_KERNEL" else { return nil }
                    switch s.sig {
                    case "SIGINT": return "from the terminal (Ctrl-C)"
                    case "SIGQUIT": return "from the terminal (Ctrl-\\)"
                    default: return "sent by the kernel"
                    }
                }
                var m = "\(name(r)) was killed by \(sig)\(core ? " (core dumped)" : "")"
                var facts: [(String, JSONValue)] = [("signal", .string(sig)), ("core", .bool(core))]
                facts.append(("from", sender.map(i) ?? .null))
                if let last, let code = last.code { facts.append(("code", .string(code))) }
                // A shell (or a program that cleans up first) that got a SIGINT passes it on by
                // raising it on itself: the killing signal is its own, the cause came before.
                if let last, last.from == r.pid, let cause = received.last(where: { $0.from != r.pid }) {
                    m += ", which it raised on itself after a \(sig)"
                    if let o = origin(cause) { m += " " + o }
                    m += " at \(TimeFormat.clock(cause.t))s: it passed the signal on, so its work may be unfinished"
                    var after: [(String, JSONValue)] = [("t", .int(cause.t)), ("from", cause.from.map(i) ?? .null)]
                    if let code = cause.code { after.append(("code", .string(code))) }
                    facts.append(("raised_after", .object(JSONObject(after))))
                } else {
                    if let last, let o = origin(last) { m += ", " + o }
                    m += ": it did not exit on its own, so its work may be unfinished"
                }
                add(.killed, r, x, nil, m, facts)
            }
            // Failed execs. A miss (ENOENT, ENOTDIR) on the way to a program that then ran under
            // the same name and argv is a PATH search that found it (execvp, a shell): normal,
            // shown by `tree` ("8 failed execs (ENOENT) before /usr/bin/as"), not a finding.
            // Every other failure is one, saying what the process did next.
            for run in r.failedExecRuns {
                for f in run.failures {
                    let found = run.then.map { basename($0.path) == basename(f.path) && $0.argv == f.argv } ?? false
                    if found && (f.error == "ENOENT" || f.error == "ENOTDIR") { continue }
                    let next = found ? "the search went on and ran \(run.then!.path)" : "it went on running its old program"
                    add(.failedExec, r, f.t, nil,
                        "\(name(r)) tried to run \(f.path) and the exec failed with \(f.error): \(next)",
                        [("path", .string(f.path)), ("argv", .array(f.argv.map { .string($0) })), ("error", .string(f.error))])
                }
            }
            // Waits that returned ECHILD: nothing left to wait for. Not a finding when it is the
            // end of a reap loop (`while (wait(-1) > 0)`, a shell's WNOHANG sweep): a wait for
            // any child by a process that had children and had reaped every one of them itself.
            let kids = h.children(of: r.id)
            for w in r.waits where w.result == .error("ECHILD") {
                let at = w.end ?? w.begin
                let born = kids.filter { $0.birth <= w.begin }
                let loopEnd = w.target == -1 && !born.isEmpty && born.allSatisfy {
                    $0.reapHow == .wait && $0.reapedBy == r.pid && ($0.reapTime ?? .max) <= at
                }
                if loopEnd { continue }
                let auto = kids.contains { $0.reapHow == .auto }
                let m = "\(name(r)) called \(w.call)() and got ECHILD: it had no child left to wait for"
                    + (auto ? " (its children were reaped by the kernel because it ignores SIGCHLD)" : "")
                add(.echild, r, w.end ?? w.begin, nil, m, [("call", .string(w.call.rawValue)), ("target", i(w.target))])
            }
            // WNOHANG busy-polling: many calls that found nothing.
            let empty = r.waits.filter { $0.options.contains("WNOHANG") && $0.result == .nothing }
            if empty.count >= TraceAnalysis.pollThreshold, let first = empty.first {
                let last = empty.last!.end ?? empty.last!.begin
                add(.wnohangPoll, r, first.begin, last - first.begin,
                    "\(name(r)) polled with WNOHANG \(empty.count) times that found nothing over " +
                    "\(TimeFormat.duration(last - first.begin)): it spins on the CPU instead of blocking in wait() or handling SIGCHLD",
                    [("polls", i(empty.count))])
            }
            // Waits a signal interrupted and the kernel restarted: one call each, said once per
            // process (a make under ptrace has one at each child's SIGCHLD).
            let restarted = r.waits.filter { !$0.restarted.isEmpty }
            if let first = restarted.first {
                let times = restarted.flatMap(\.restarted)
                let calls = restarted.count == 1 ? "\(name(r))'s \(first.call)(\(first.target)) was" : "\(restarted.count) wait calls of \(name(r)) were"
                add(.waitRestarted, r, times.min()!, nil,
                    "\(calls) interrupted by \(times.count == 1 ? "a signal" : "signals \(times.count) times") and restarted by the kernel " +
                    "(no handler, or one with SA_RESTART): \(restarted.count == 1 ? "one call" : "one call each"), the program never saw EINTR",
                    [("waits", i(restarted.count)), ("restarts", i(times.count)), ("times", .array(times.map { .int($0) }))])
            }
            // SIGCHLD ignored (or SA_NOCLDWAIT): the kernel reaps the children at once.
            let auto = h.children(of: r.id).filter { $0.reapHow == .auto }
            if let first = auto.first {
                add(.sigchldIgnored, r, first.exitTime ?? first.reapTime ?? first.birth, nil,
                    "\(name(r)) ignores SIGCHLD (or set SA_NOCLDWAIT): the kernel reaped \(auto.count) of its children " +
                    "at once, so wait() cannot report how they ended",
                    [("children", i(auto.count))])
            }
        }
        out.sort { ($0.t, $0.id) < ($1.t, $1.id) }
        return out
    }
}
