import Lifecycle

/// Where a traced process sits among the pid namespaces at and below proctrace's own.
///
/// A process in a namespace nested below proctrace's (the workload ran `unshare --pid --fork`)
/// sees other processes by that namespace's numbers: its wait results, the `si_pid` of the
/// signals it gets and the pids it passes to wait/setpgid are in its own namespace's numbering,
/// while ptrace (and the trace) number every task in proctrace's namespace.
struct NamespacePlace {
    /// The process's pid in each namespace, from proctrace's (index 0) down to its own
    /// (`NSpid:` of /proc/PID/status).
    var nspid: [Int]
    /// The namespace (`/proc/PID/ns/pid` link text) at each level of `nspid`; nil where it is
    /// not known (a process that `setns`-ed more than one level below its creator's namespace).
    var namespaces: [String?]

    /// 0 for proctrace's own namespace.
    var depth: Int { nspid.count - 1 }
    /// The namespace whose numbering this process uses for the pids it sees.
    var own: String? { namespaces.last ?? nil }
}

/// Translates the pids a tracee reports into proctrace's numbering, through the tracer's own
/// table of the processes it follows: for every traced process in a nested namespace it
/// keeps (namespace, pid there) → pid in proctrace's namespace.
///
/// An entry lives until another process takes the same number in the same namespace: a
/// process group keeps its leader's number after the leader is gone, and a wait or kill naming
/// a reaped pid names that process, not a later one.
struct PidTranslator {
    private struct Key: Hashable { var namespace: String; var pid: Int }
    /// proctrace's own pid namespace, as /proc/self/ns/pid names it.
    let home: String?
    private var places: [Int: NamespacePlace] = [:]
    private var index: [Key: Int] = [:]

    init(home: String? = ProcFS.readlink("/proc/self/ns/pid")) { self.home = home }

    func place(of pid: Int) -> NamespacePlace? { places[pid] }

    /// The root: forked by proctrace, so in proctrace's own namespace, whatever it does later
    /// (a process never changes its own pid namespace).
    mutating func learnRoot(pid: Int) { learnHome(pid: pid) }

    /// A process in proctrace's own namespace, known without reading /proc: the root, or a
    /// child whose creator is there and cannot have changed its namespace for children (it
    /// made no unshare or setns call, and the clone made no new namespace).
    mutating func learnHome(pid: Int) {
        places[pid] = NamespacePlace(nspid: [pid], namespaces: [home])
    }

    /// Learns where a new process sits: read from /proc while it is stopped at its creation.
    /// `creator` is the process that made it (whose namespace for children it was born in).
    mutating func learn(pid: Int, creator: Int, kernel: any Kernel) {
        // One readlink for the common case: the child is in proctrace's own namespace.
        let link = kernel.pidNamespace(of: pid)
        if let link, link == home {
            places[pid] = NamespacePlace(nspid: [pid], namespaces: [home])
            return
        }
        let parentPlace = places[creator]
        // (A child killed at birth has no namespace link left, but still its NSpid line.)
        guard let nspid = kernel.namespacePids(of: pid), nspid.first == pid else {
            // Gone already, or /proc does not say: nothing is known of its namespaces.
            places[pid] = nil
            return
        }
        var namespaces = [String?](repeating: nil, count: nspid.count)
        namespaces[0] = home
        namespaces[nspid.count - 1] = link
        // Born in its creator's namespace for children: that namespace is its creator's own or
        // one below it, so the creator's levels are its levels too.
        if let pp = parentPlace, pp.depth < nspid.count {
            for d in 0...pp.depth where namespaces[d] == nil { namespaces[d] = pp.namespaces[d] }
        }
        let place = NamespacePlace(nspid: nspid, namespaces: namespaces)
        places[pid] = place
        for d in 1..<nspid.count { if let ns = namespaces[d] { index[Key(namespace: ns, pid: nspid[d])] = pid } }
    }

    /// The process is reaped: its place is no longer needed (its index entries stay, see above).
    mutating func forget(pid: Int) { places[pid] = nil }

    /// `reported`, a pid as process `seenBy` knows it, in proctrace's numbering; nil when it
    /// cannot be translated. 0 and negative values are returned as they are (not pids).
    func translate(_ reported: Int, seenBy: Int) -> Int? { translate(reported, seenFrom: places[seenBy]) }

    /// The same, seen from a process's place kept after it was forgotten (a wait read from the
    /// ring is applied after its waiter may have been reaped).
    func translate(_ reported: Int, seenFrom place: NamespacePlace?) -> Int? {
        guard reported > 0 else { return reported }
        guard let p = place else { return home == nil ? reported : nil }
        if p.depth == 0 { return reported }
        guard let ns = p.own else { return nil }
        return index[Key(namespace: ns, pid: reported)]
    }

    /// Translates a wait target: a pid (> 0), or a process group (< -1, its leader's pid negated).
    func translateTarget(_ target: Int, seenBy: Int) -> Int? { translateTarget(target, seenFrom: places[seenBy]) }

    func translateTarget(_ target: Int, seenFrom place: NamespacePlace?) -> Int? {
        if target > 0 { return translate(target, seenFrom: place) }
        if target < -1 { return translate(-target, seenFrom: place).map { -$0 } }
        return target
    }
}

extension JSONObject {
    /// Adds to the `untranslated` field: a pid field of this event that the tracee reported in
    /// its own namespace's numbering and that could not be translated, with the number it
    /// reported.
    mutating func noteUntranslated(_ field: String, _ reported: Int) {
        var fields = self["untranslated"]?.object ?? JSONObject()
        fields[field] = .int(Int64(reported))
        self["untranslated"] = .object(fields)
    }
}
