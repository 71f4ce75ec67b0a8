/// Why a line of a trace is not a valid event.
public struct EventDecodingError: Error, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension TraceEvent {
    /// The event as the JSON object of its trace line: `type` and `t` first, then the
    /// contract's fields, then any extra fields.
    public var jsonObject: JSONObject {
        var o = JSONObject()
        o.append("type", .string(kind.typeName))
        o.append("t", .int(t))
        func i(_ v: Int) -> JSONValue { .int(Int64(v)) }
        func strings(_ a: [String]) -> JSONValue { .array(a.map { .string($0) }) }
        switch kind {
        case let .trace(schema, argv, cwd, start, host, tracer, states, env, pid, failedExecs, attached):
            o.append("schema", .string(schema)); o.append("argv", strings(argv)); o.append("cwd", .string(cwd))
            o.append("start", .string(start))
            o.append("host", .object(JSONObject([("kernel", .string(host.kernel)), ("arch", .string(host.arch)), ("cpus", i(host.cpus))])))
            o.append("tracer", .string(tracer)); o.append("states", .string(states.rawValue))
            if let env { o.append("env", strings(env)) }
            if let pid { o.append("pid", i(pid)) }
            if let failedExecs { o.append("failed_execs", .bool(failedExecs)) }
            if let attached { o.append("attached", .array(attached.map(i))) }
        case let .spawn(pid, argv, ppid, pgid, sid):
            o.append("pid", i(pid)); o.append("argv", strings(argv))
            if let ppid { o.append("ppid", i(ppid)) }
            if let pgid { o.append("pgid", i(pgid)) }
            if let sid { o.append("sid", i(sid)) }
        case let .attach(pid, ppid, argv, exe, state, started, ageNs, threads, pgid, sid):
            o.append("pid", i(pid)); o.append("ppid", i(ppid)); o.append("argv", strings(argv))
            if let exe { o.append("exe", .string(exe)) }
            if let state { o.append("state", .string(state)) }
            if let started { o.append("started", .string(started)) }
            if let ageNs { o.append("age_ns", i(ageNs)) }
            if let threads { o.append("threads", .array(threads.map(i))) }
            if let pgid { o.append("pgid", i(pgid)) }
            if let sid { o.append("sid", i(sid)) }
        case let .fork(pid, child, parent, via, tid, nspid):
            o.append("pid", i(pid)); o.append("child", i(child)); o.append("parent", i(parent)); o.append("via", .string(via.rawValue))
            if let tid { o.append("tid", i(tid)) }
            if let nspid { o.append("nspid", .array(nspid.map(i))) }
        case let .thread(pid, tid, phase, reason):
            o.append("pid", i(pid)); o.append("tid", i(tid)); o.append("phase", .string(phase.rawValue))
            if let reason { o.append("reason", .string(reason)) }
        case let .exec(pid, path, argv, exe, elf, formerTid, error, argvTruncated, argvBytes, argvNotUTF8, tid, argsUnreadable, call, dirfd,
                       dirfdPath, flags):
            o.append("pid", i(pid)); o.append("path", .string(path)); o.append("argv", strings(argv))
            if let exe { o.append("exe", .string(exe)) }
            if let elf {
                var e = JSONObject()
                e.append("class", .string(elf.elfClass)); e.append("machine", .string(elf.machine)); e.append("type", .string(elf.type))
                if let interp = elf.interp { e.append("interp", .string(interp)) }
                if let b = elf.buildID { e.append("build_id", .string(b)) }
                o.append("elf", .object(e))
            }
            if let formerTid { o.append("former_tid", i(formerTid)) }
            if let error { o.append("error", .string(error)) }
            if argvTruncated { o.append("argv_truncated", .bool(true)) }
            if let argvBytes { o.append("argv_bytes", i(argvBytes)) }
            if argvNotUTF8 { o.append("argv_not_utf8", .bool(true)) }
            if let tid { o.append("tid", i(tid)) }
            if argsUnreadable { o.append("args_unreadable", .bool(true)) }
            if let call { o.append("call", .string(call)) }
            if let dirfd { o.append("dirfd", i(dirfd)) }
            if let dirfdPath { o.append("dirfd_path", .string(dirfdPath)) }
            if let flags { o.append("flags", strings(flags)) }
        case let .waitBegin(pid, call, target, options, tid):
            o.append("pid", i(pid)); o.append("phase", .string(WaitPhase.begin.rawValue)); o.append("call", .string(call.rawValue))
            o.append("target", i(target)); o.append("options", strings(options))
            if let tid { o.append("tid", i(tid)) }
        case let .waitEnd(pid, call, target, options, result, status, tid, restarted):
            o.append("pid", i(pid)); o.append("phase", .string(WaitPhase.end.rawValue)); o.append("call", .string(call.rawValue))
            o.append("target", i(target)); o.append("options", strings(options)); o.append("result", result.json)
            if let status { o.append("status", status.json) }
            if let tid { o.append("tid", i(tid)) }
            if let restarted { o.append("restarted", .array(restarted.map { .int($0) })) }
        case let .exit(pid, status, error):
            o.append("pid", i(pid)); o.append("status", status.json)
            if let error { o.append("error", .string(error)) }
        case let .reap(pid, by, how, unobserved):
            o.append("pid", i(pid)); o.append("by", i(by)); o.append("how", .string(how.rawValue))
            if unobserved { o.append("unobserved", .bool(true)) }
        case let .reparent(pid, from, to):
            o.append("pid", i(pid)); o.append("from", i(from)); o.append("to", i(to))
        case let .signal(pid, sig, from, code, tid):
            o.append("pid", i(pid)); o.append("sig", .string(sig))
            if let from { o.append("from", i(from)) }
            if let code { o.append("code", .string(code)) }
            if let tid { o.append("tid", i(tid)) }
        case let .state(pid, tid, from, to, why):
            o.append("pid", i(pid))
            if let tid { o.append("tid", i(tid)) }
            o.append("from", .string(from.rawValue)); o.append("to", .string(to.rawValue))
            if let why { o.append("why", .string(why)) }
        case let .stateUnknown(pid, tid, reason):
            o.append("pid", i(pid))
            if let tid { o.append("tid", i(tid)) }
            o.append("reason", .string(reason))
        case let .group(pid, pgid, sid, call, by):
            o.append("pid", i(pid)); o.append("pgid", i(pgid)); o.append("sid", i(sid)); o.append("call", .string(call.rawValue)); o.append("by", i(by))
        case let .end(status, events, lost, reason, detached, ptraceFailures):
            if let status { o.append("status", status.json) }
            o.append("events", i(events)); o.append("lost", i(lost))
            if let reason { o.append("reason", .string(reason)) }
            if let detached { o.append("detached", .array(detached.map(i))) }
            if let ptraceFailures { o.append("ptrace_failures", i(ptraceFailures)) }
        case .unknown:
            break
        }
        for (k, v) in extra.pairs where o[k] == nil { o.append(k, v) }
        return o
    }

    /// The trace line, without its newline.
    public var jsonLine: String { JSONValue.object(jsonObject).jsonText }

    /// Decodes one trace line's object. Unknown types decode as `.unknown`; fields beyond the
    /// contract's land in `extra`.
    public init(json o: JSONObject) throws(EventDecodingError) {
        // Which of the object's keys the contract consumed, by position (a bit mask rather
        // than a Set<String>: this runs once per trace line and hashing dominated it).
        var usedLow: UInt64 = 0
        var usedHigh: Set<Int> = []
        func lookup(_ k: String) -> JSONValue? {
            for i in o.keys.indices where o.keys[i] == k {
                if i < 64 { usedLow |= 1 << UInt64(i) } else { usedHigh.insert(i) }
                return o.values[i]
            }
            return nil
        }
        guard let type = lookup("type")?.string else { throw EventDecodingError("missing string field \"type\"") }
        guard let tv = lookup("t") else { throw EventDecodingError("\(type): missing field \"t\"") }
        guard let t = tv.int, t >= 0 else { throw EventDecodingError("\(type): \"t\" must be a non-negative integer") }
        guard t <= TraceEvent.maxTime else {
            throw EventDecodingError("\(type): \"t\" \(t) is beyond 2^53 ns (104 days), the most a JSON reader with doubles holds exactly")
        }

        func field(_ k: String) throws(EventDecodingError) -> JSONValue {
            guard let v = lookup(k) else { throw EventDecodingError("\(type): missing field \"\(k)\"") }
            return v
        }
        func optional(_ k: String) -> JSONValue? {
            if let v = lookup(k), v != .null { return v }
            return nil
        }
        func int(_ k: String) throws(EventDecodingError) -> Int {
            guard let v = try field(k).int else { throw EventDecodingError("\(type): \"\(k)\" must be an integer") }
            return Int(v)
        }
        func optInt(_ k: String) throws(EventDecodingError) -> Int? {
            guard let v = optional(k) else { return nil }
            guard let i = v.int else { throw EventDecodingError("\(type): \"\(k)\" must be an integer") }
            return Int(i)
        }
        func str(_ k: String) throws(EventDecodingError) -> String {
            guard let v = try field(k).string else { throw EventDecodingError("\(type): \"\(k)\" must be a string") }
            return v
        }
        func optStr(_ k: String) throws(EventDecodingError) -> String? {
            guard let v = optional(k) else { return nil }
            guard let s = v.string else { throw EventDecodingError("\(type): \"\(k)\" must be a string") }
            return s
        }
        func optBool(_ k: String) throws(EventDecodingError) -> Bool {
            guard let v = optional(k) else { return false }
            guard let b = v.bool else { throw EventDecodingError("\(type): \"\(k)\" must be true or false") }
            return b
        }
        func optInts(_ k: String) throws(EventDecodingError) -> [Int]? {
            guard let v = optional(k) else { return nil }
            guard let a = v.array else { throw EventDecodingError("\(type): \"\(k)\" must be an array of integers") }
            var out: [Int] = []
            out.reserveCapacity(a.count)
            for e in a {
                guard let n = e.int else { throw EventDecodingError("\(type): \"\(k)\" must be an array of integers") }
                out.append(Int(n))
            }
            return out
        }
        func optStrs(_ k: String) throws(EventDecodingError) -> [String]? {
            optional(k) == nil ? nil : try strs(k)
        }
        func strs(_ k: String) throws(EventDecodingError) -> [String] {
            guard let a = try field(k).array else { throw EventDecodingError("\(type): \"\(k)\" must be an array of strings") }
            var out: [String] = []
            out.reserveCapacity(a.count)
            for e in a {
                guard let s = e.string else { throw EventDecodingError("\(type): \"\(k)\" must be an array of strings") }
                out.append(s)
            }
            return out
        }
        func status(_ k: String) throws(EventDecodingError) -> ExitStatus {
            guard let s = ExitStatus(json: try field(k)) else {
                throw EventDecodingError("\(type): \"\(k)\" must be a status object ({\"exited\":N}, " +
                    "{\"signaled\":\"SIG…\",\"core\":B}, {\"stopped\":\"SIG…\"} or {\"continued\":true})")
            }
            return s
        }
        func state(_ k: String) throws(EventDecodingError) -> ProcState {
            let s = try str(k)
            guard let st = ProcState(rawValue: s), st != .unknown else {
                throw EventDecodingError("\(type): \"\(k)\" is \"\(s)\", not one of new, ready, running, blocked, terminated")
            }
            return st
        }
        func word<W: RawRepresentable & CaseIterable>(_ k: String, _: W.Type) throws(EventDecodingError) -> W where W.RawValue == String {
            let s = try str(k)
            guard let w = W(rawValue: s) else {
                let allowed = W.allCases.map(\.rawValue).joined(separator: ", ")
                throw EventDecodingError("\(type): \"\(k)\" is \"\(s)\", expected one of \(allowed)")
            }
            return w
        }

        let kind: EventKind
        switch type {
        case "trace":
            let hostObj = try field("host")
            guard let h = hostObj.object, let kernel = h["kernel"]?.string, let arch = h["arch"]?.string, let cpus = h["cpus"]?.int else {
                throw EventDecodingError("trace: \"host\" must be {kernel, arch, cpus}")
            }
            kind = .trace(schema: try str("schema"), argv: try strs("argv"), cwd: try str("cwd"), start: try str("start"),
                          host: HostInfo(kernel: kernel, arch: arch, cpus: Int(cpus)), tracer: try str("tracer"),
                          states: try word("states", StateSource.self), env: try optStrs("env"), pid: try optInt("pid"),
                          failedExecs: optional("failed_execs") == nil ? nil : try optBool("failed_execs"), attached: try optInts("attached"))
        case "spawn":
            kind = .spawn(pid: try int("pid"), argv: try strs("argv"), ppid: try optInt("ppid"), pgid: try optInt("pgid"), sid: try optInt("sid"))
        case "attach":
            kind = .attach(pid: try int("pid"), ppid: try int("ppid"), argv: try strs("argv"), exe: try optStr("exe"), state: try optStr("state"),
                           started: try optStr("started"), ageNs: try optInt("age_ns"), threads: try optInts("threads"),
                           pgid: try optInt("pgid"), sid: try optInt("sid"))
        case "fork":
            kind = .fork(pid: try int("pid"), child: try int("child"), parent: try int("parent"),
                         via: try word("via", ForkVia.self), tid: try optInt("tid"), nspid: try optInts("nspid"))
        case "thread":
            kind = .thread(pid: try int("pid"), tid: try int("tid"), phase: try word("phase", ThreadPhase.self), reason: try optStr("reason"))
        case "exec":
            var elf: ELFInfo?
            if let e = optional("elf") {
                guard let eo = e.object else { throw EventDecodingError("exec: \"elf\" must be an object") }
                elf = ELFInfo(elfClass: eo["class"]?.string ?? "", machine: eo["machine"]?.string ?? "", type: eo["type"]?.string ?? "",
                              interp: eo["interp"]?.string, buildID: eo["build_id"]?.string)
            }
            kind = .exec(pid: try int("pid"), path: try str("path"), argv: try strs("argv"), exe: try optStr("exe"), elf: elf,
                         formerTid: try optInt("former_tid"), error: try optStr("error"), argvTruncated: try optBool("argv_truncated"),
                         argvBytes: try optInt("argv_bytes"), argvNotUTF8: try optBool("argv_not_utf8"),
                         tid: try optInt("tid"), argsUnreadable: try optBool("args_unreadable"), call: try optStr("call"), dirfd: try optInt("dirfd"),
                         dirfdPath: try optStr("dirfd_path"), flags: try optStrs("flags"))
        case "wait":
            let pid = try int("pid")
            let phase = try word("phase", WaitPhase.self)
            let call = WaitCall(rawValue: try str("call"))
            let target = try optInt("target") ?? -1
            var options: [String] = []
            if optional("options") != nil { options = try strs("options") }
            let tid = try optInt("tid")
            if phase == .begin {
                kind = .waitBegin(pid: pid, call: call, target: target, options: options, tid: tid)
            } else {
                guard let r = WaitResult(json: try field("result")) else {
                    throw EventDecodingError("wait: \"result\" must be a pid, 0, or an errno name")
                }
                var st: ExitStatus?
                if optional("status") != nil { st = try status("status") }
                kind = .waitEnd(pid: pid, call: call, target: target, options: options, result: r, status: st, tid: tid,
                                restarted: try optInts("restarted").map { $0.map(Int64.init) })
            }
        case "exit":
            kind = .exit(pid: try int("pid"), status: try status("status"), error: try optStr("error"))
        case "reap":
            kind = .reap(pid: try int("pid"), by: try int("by"), how: try word("how", ReapHow.self), unobserved: try optBool("unobserved"))
        case "reparent":
            kind = .reparent(pid: try int("pid"), from: try int("from"), to: try int("to"))
        case "signal":
            kind = .signal(pid: try int("pid"), sig: try str("sig"), from: try optInt("from"), code: try optStr("code"), tid: try optInt("tid"))
        case "state":
            kind = .state(pid: try int("pid"), tid: try optInt("tid"), from: try state("from"), to: try state("to"), why: try optStr("why"))
        case "unknown":
            kind = .stateUnknown(pid: try int("pid"), tid: try optInt("tid"), reason: try str("reason"))
        case "group":
            kind = .group(pid: try int("pid"), pgid: try int("pgid"), sid: try int("sid"), call: GroupCall(rawValue: try str("call")), by: try int("by"))
        case "end":
            // No status only when the root was left running (`detached`, see trace-format.md).
            kind = .end(status: optional("status") == nil ? nil : try status("status"), events: try int("events"), lost: try int("lost"),
                        reason: try optStr("reason"), detached: try optInts("detached"), ptraceFailures: try optInt("ptrace_failures"))
        default:
            kind = .unknown(type: type)
        }
        var extra = JSONObject()
        for i in o.keys.indices {
            let used = i < 64 ? usedLow & (1 << UInt64(i)) != 0 : usedHigh.contains(i)
            if !used { extra.append(o.keys[i], o.values[i]) }
        }
        self.init(t: t, kind, extra: extra)
    }
}
