import Lifecycle

/// Encodes trace lines straight into bytes, without building a `JSONObject` per event: the
/// recorder writes every line through it. The bytes are exactly those of
/// `JSONWriter.write(.object(event.jsonObject))` (`TraceLineEncoderTests` compares both on every
/// line of the gallery traces and on each kind of event); kinds that are written once per trace
/// (`trace`, `attach`) and events with extra fields take that generic path.
struct TraceLineEncoder {
    private var w = JSONWriter()

    /// The encoded lines so far, each ending with `\n`.
    var bytes: [UInt8] { w.bytes }

    /// Forgets the lines encoded so far, keeping the buffer's storage.
    mutating func reset() { w.bytes.removeAll(keepingCapacity: true) }

    /// Appends one event and its newline.
    mutating func append(_ e: TraceEvent) { append(e, t: e.t) }

    /// Appends one event written with the time `t` instead of its own (the writer keeps times
    /// non-decreasing in the file), without copying the event.
    mutating func append(_ e: TraceEvent, t: Int64) {
        if e.extra.isEmpty, encodeFast(e, t: t) {
            w.bytes.append(0x0A)
            return
        }
        var copy = e
        copy.t = t
        w.write(.object(copy.jsonObject))
        w.bytes.append(0x0A)
    }

    // MARK: - The hot kinds, field by field in `jsonObject`'s order

    /// Writes the event's object; false (nothing written) for the kinds left to the generic path.
    mutating func encodeFast(_ e: TraceEvent, t: Int64) -> Bool {
        switch e.kind {
        case let .state(pid, tid, from, to, why):
            open(#"{"type":"state","t":"#, t)
            int(#""pid":"#, pid)
            if let tid { int(#""tid":"#, tid) }
            // The two states as constants (~37,000 state lines on a 1000-spawn loop).
            key(Self.from(from)); raw(Self.to(to))
            if let why { string(#""why":"#, why) }
        case let .fork(pid, child, parent, via, tid, nspid):
            open(#"{"type":"fork","t":"#, t)
            int(#""pid":"#, pid); int(#""child":"#, child); int(#""parent":"#, parent); string(#""via":"#, via.rawValue)
            if let tid { int(#""tid":"#, tid) }
            if let nspid { ints(#""nspid":"#, nspid) }
        case let .exec(pid, path, argv, exe, elf, formerTid, error, argvTruncated, argvBytes, argvNotUTF8, tid, argsUnreadable, call,
                       dirfd, dirfdPath, flags):
            open(#"{"type":"exec","t":"#, t)
            int(#""pid":"#, pid); string(#""path":"#, path); strings(#""argv":"#, argv)
            if let exe { string(#""exe":"#, exe) }
            if let elf {
                key(#""elf":"#)
                w.bytes.append(UInt8(ascii: "{"))
                firstField = true
                string(#""class":"#, elf.elfClass); string(#""machine":"#, elf.machine); string(#""type":"#, elf.type)
                if let interp = elf.interp { string(#""interp":"#, interp) }
                if let b = elf.buildID { string(#""build_id":"#, b) }
                w.bytes.append(UInt8(ascii: "}"))
                firstField = false
            }
            if let formerTid { int(#""former_tid":"#, formerTid) }
            if let error { string(#""error":"#, error) }
            if argvTruncated { bool(#""argv_truncated":"#, true) }
            if let argvBytes { int(#""argv_bytes":"#, argvBytes) }
            if argvNotUTF8 { bool(#""argv_not_utf8":"#, true) }
            if let tid { int(#""tid":"#, tid) }
            if argsUnreadable { bool(#""args_unreadable":"#, true) }
            if let call { string(#""call":"#, call) }
            if let dirfd { int(#""dirfd":"#, dirfd) }
            if let dirfdPath { string(#""dirfd_path":"#, dirfdPath) }
            if let flags { strings(#""flags":"#, flags) }
        case let .waitBegin(pid, call, target, options, tid):
            open(#"{"type":"wait","t":"#, t)
            int(#""pid":"#, pid); string(#""phase":"#, WaitPhase.begin.rawValue); string(#""call":"#, call.rawValue)
            int(#""target":"#, target); strings(#""options":"#, options)
            if let tid { int(#""tid":"#, tid) }
        case let .waitEnd(pid, call, target, options, result, status, tid, restarted):
            open(#"{"type":"wait","t":"#, t)
            int(#""pid":"#, pid); string(#""phase":"#, WaitPhase.end.rawValue); string(#""call":"#, call.rawValue)
            int(#""target":"#, target); strings(#""options":"#, options)
            switch result {
            case .pid(let p): int(#""result":"#, p)
            case .nothing: int(#""result":"#, 0)
            case .error(let name): string(#""result":"#, name)
            }
            if let status { self.status(#""status":"#, status) }
            if let tid { int(#""tid":"#, tid) }
            if let restarted { ints(#""restarted":"#, restarted.map { Int($0) }) }
        case let .exit(pid, status, error):
            open(#"{"type":"exit","t":"#, t)
            int(#""pid":"#, pid); self.status(#""status":"#, status)
            if let error { string(#""error":"#, error) }
        case let .reap(pid, by, how, unobserved):
            open(#"{"type":"reap","t":"#, t)
            int(#""pid":"#, pid); int(#""by":"#, by); string(#""how":"#, how.rawValue)
            if unobserved { bool(#""unobserved":"#, true) }
        case let .reparent(pid, from, to):
            open(#"{"type":"reparent","t":"#, t)
            int(#""pid":"#, pid); int(#""from":"#, from); int(#""to":"#, to)
        case let .signal(pid, sig, from, code, tid):
            open(#"{"type":"signal","t":"#, t)
            int(#""pid":"#, pid); string(#""sig":"#, sig)
            if let from { int(#""from":"#, from) }
            if let code { string(#""code":"#, code) }
            if let tid { int(#""tid":"#, tid) }
        case let .thread(pid, tid, phase, reason):
            open(#"{"type":"thread","t":"#, t)
            int(#""pid":"#, pid); int(#""tid":"#, tid); string(#""phase":"#, phase.rawValue)
            if let reason { string(#""reason":"#, reason) }
        case let .spawn(pid, argv, ppid, pgid, sid):
            open(#"{"type":"spawn","t":"#, t)
            int(#""pid":"#, pid); strings(#""argv":"#, argv)
            if let ppid { int(#""ppid":"#, ppid) }
            if let pgid { int(#""pgid":"#, pgid) }
            if let sid { int(#""sid":"#, sid) }
        case let .stateUnknown(pid, tid, reason):
            open(#"{"type":"unknown","t":"#, t)
            int(#""pid":"#, pid)
            if let tid { int(#""tid":"#, tid) }
            string(#""reason":"#, reason)
        case let .group(pid, pgid, sid, call, by):
            open(#"{"type":"group","t":"#, t)
            int(#""pid":"#, pid); int(#""pgid":"#, pgid); int(#""sid":"#, sid); string(#""call":"#, call.rawValue); int(#""by":"#, by)
        case let .end(status, events, lost, reason, detached, ptraceFailures):
            open(#"{"type":"end","t":"#, t)
            if let status { self.status(#""status":"#, status) }
            int(#""events":"#, events); int(#""lost":"#, lost)
            if let reason { string(#""reason":"#, reason) }
            if let detached { ints(#""detached":"#, detached) }
            if let ptraceFailures { int(#""ptrace_failures":"#, ptraceFailures) }
        case .trace, .attach, .unknown:
            return false
        }
        w.bytes.append(UInt8(ascii: "}"))
        return true
    }

    /// Whether the next field is the first of its object (no comma before it).
    private var firstField = true

    /// Opens an event's object: `head` is `{"type":"…","t":`, written whole.
    private mutating func open(_ head: StaticString, _ t: Int64) {
        raw(head)
        firstField = false
        w.writeInt(t)
    }

    /// A field's `"key":`, given with its quotes and colon (written in one piece), and the comma
    /// before it unless it is the object's first field.
    private mutating func key(_ k: StaticString) {
        if !firstField { w.bytes.append(UInt8(ascii: ",")) }
        firstField = false
        raw(k)
    }

    /// `"from":"STATE"` as one constant.
    private static func from(_ s: ProcState) -> StaticString {
        switch s {
        case .new: #""from":"new""#
        case .ready: #""from":"ready""#
        case .running: #""from":"running""#
        case .blocked: #""from":"blocked""#
        case .terminated: #""from":"terminated""#
        case .unknown: #""from":"unknown""#
        }
    }

    /// `,"to":"STATE"` as one constant (never a first field).
    private static func to(_ s: ProcState) -> StaticString {
        switch s {
        case .new: #","to":"new""#
        case .ready: #","to":"ready""#
        case .running: #","to":"running""#
        case .blocked: #","to":"blocked""#
        case .terminated: #","to":"terminated""#
        case .unknown: #","to":"unknown""#
        }
    }

    /// Bytes that need no escaping (keys, event types, punctuation).
    private mutating func raw(_ s: StaticString) {
        w.bytes.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    private mutating func int(_ k: StaticString, _ v: Int) {
        key(k)
        w.writeInt(Int64(v))
    }

    private mutating func bool(_ k: StaticString, _ v: Bool) {
        key(k)
        v ? w.bytes.append(contentsOf: [UInt8(ascii: "t"), UInt8(ascii: "r"), UInt8(ascii: "u"), UInt8(ascii: "e")])
          : w.bytes.append(contentsOf: [UInt8(ascii: "f"), UInt8(ascii: "a"), UInt8(ascii: "l"), UInt8(ascii: "s"), UInt8(ascii: "e")])
    }

    private mutating func string(_ k: StaticString, _ v: String) {
        key(k)
        w.writeString(v)
    }

    private mutating func strings(_ k: StaticString, _ a: [String]) {
        key(k)
        w.bytes.append(UInt8(ascii: "["))
        for i in a.indices {
            if i > 0 { w.bytes.append(UInt8(ascii: ",")) }
            w.writeString(a[i])
        }
        w.bytes.append(UInt8(ascii: "]"))
    }

    private mutating func ints(_ k: StaticString, _ a: [Int]) {
        key(k)
        w.bytes.append(UInt8(ascii: "["))
        for i in a.indices {
            if i > 0 { w.bytes.append(UInt8(ascii: ",")) }
            w.writeInt(Int64(a[i]))
        }
        w.bytes.append(UInt8(ascii: "]"))
    }

    /// A status object: `{"exited":N}`, `{"signaled":"SIGKILL","core":false}`, ….
    private mutating func status(_ k: StaticString, _ s: ExitStatus) {
        key(k)
        w.bytes.append(UInt8(ascii: "{"))
        firstField = true
        switch s {
        case .exited(let c): int(#""exited":"#, c)
        case .signaled(let name, let core): string(#""signaled":"#, name); bool(#""core":"#, core)
        case .stopped(let name): string(#""stopped":"#, name)
        case .continued: bool(#""continued":"#, true)
        }
        w.bytes.append(UInt8(ascii: "}"))
        firstField = false
    }
}
