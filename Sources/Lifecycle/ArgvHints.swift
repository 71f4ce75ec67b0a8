/// Short argument hints that tell look-alike siblings apart: children of one parent running
/// the same exec chain ("python3" ×4, "gcc" ×36). Every view that lists processes by command
/// (the tree picture, the timeline's lanes, `proctrace tree`) shows them.
public enum ArgvHints {
    /// Hints keyed by process, for the processes in `shown` that have a look-alike sibling
    /// (also in `shown`) with other arguments. Roots are grouped as siblings of each other.
    ///
    /// The hint starts where the group's argvs first differ (`-m joblib…popen_loky_posix`
    /// against `-c from multiprocessing.reso…`). When that leaves most of the group looking
    /// alike, as in a build where every compile shares thirty flags and differs only in its
    /// file, the hint is instead each argv's own rare words, those most of the group does not
    /// have, each with the option just before it (`-o lapi.o lapi.c`).
    public static func hints(_ history: ProcessHistory, shown: Set<ProcessID>, limit: Int = 30) -> [ProcessID: String] {
        // Positions in `history.processes`, not records: a record is a large value, and
        // copying 50,000 of them a few times each was most of the cost.
        let procs = history.processes
        var out: [ProcessID: String] = [:]
        var groups: [[String]: [Int]] = [:]
        var order: [[String]] = []
        func flush() {
            for chain in order {
                let g = groups[chain]!
                guard g.count >= 2 else { continue }
                let argvs = g.map { procs[$0].argv }
                let distinct = Set(argvs).count
                guard distinct >= 2 else { continue }
                // First position (after argv[0]) where the argvs are not all equal.
                let longest = argvs.map(\.count).max()!
                guard let i = (1..<max(longest, 2)).first(where: { i in
                    let a0 = i < argvs[0].count ? argvs[0][i] : "\u{0}"
                    return argvs.contains { (i < $0.count ? $0[i] : "\u{0}") != a0 }
                }) else { continue }
                let positional = argvs.map { hint(Array($0.dropFirst(i)), limit: limit) }
                if Set(positional).count * 2 >= distinct {
                    for (r, h) in zip(g, positional) { out[procs[r].id] = h }
                } else {
                    let rare = rareWords(argvs.map { Array($0.dropFirst()) })
                    for (r, (words, pos)) in zip(g, zip(rare, positional)) { out[procs[r].id] = words.isEmpty ? pos : join(words, limit: limit) }
                }
            }
            groups = [:]; order = []
        }
        func add(_ k: Int) {
            let chain = procs[k].execChain
            if groups[chain] == nil { order.append(chain) }
            groups[chain, default: []].append(k)
        }
        for pi in procs.indices where shown.contains(procs[pi].id) {
            for child in procs[pi].children where shown.contains(child) {
                if let k = history.index(of: child) { add(k) }
            }
            flush()
        }
        for k in procs.indices where shown.contains(procs[k].id) && (procs[k].parent.map { !shown.contains($0) } ?? true) { add(k) }
        flush()
        return out
    }

    /// Each argument list's words that at most half of the lists hold, in their order, each
    /// with the short option just before it when that option is common (`-o` of `-o lapi.o`).
    static func rareWords(_ lists: [[String]]) -> [[String]] {
        var holders: [String: Int] = [:]
        for l in lists { for w in Set(l) { holders[w, default: 0] += 1 } }
        let most = lists.count / 2
        return lists.map { l in
            var out: [String] = []
            for (k, w) in l.enumerated() where holders[w, default: 0] <= most {
                if k > 0, out.last != l[k - 1], l[k - 1].hasPrefix("-"), l[k - 1].count <= 3, holders[l[k - 1], default: 0] > most {
                    out.append(l[k - 1])
                }
                out.append(w)
            }
            return out
        }
    }

    /// Words joined by spaces, cut with "…" to at most `limit` characters.
    static func join(_ words: [String], limit: Int) -> String {
        let s = words.joined(separator: " ")
        return s.count <= limit ? s : String(s.prefix(max(limit - 1, 1))) + "…"
    }

    /// `args` as a short hint of at most ~`limit` characters: short options as they are, and
    /// other arguments while they fit (`lapi.o lapi.c`); the first that does not is shortened
    /// and ends the hint: a long dotted or slashed name elided in the middle (its last part is
    /// the telling one), code or other text cut at the end. A word with no room at all ends
    /// it with "…", taking a short option that would dangle with it (`-DN=1 -c …`).
    public static func hint(_ args: [String], limit: Int = 30) -> String {
        guard !args.isEmpty else { return "(no further arguments)" }
        func short(_ s: String, _ n: Int) -> String {
            guard s.count > n else { return s }
            if !s.contains(" ") && (s.contains(".") || s.contains("/")) {
                let tail = max(n * 2 / 3, 1), head = max(n - tail - 1, 1)
                return String(s.prefix(head)) + "…" + String(s.suffix(tail))
            }
            return String(s.prefix(max(n - 1, 1))) + "…"
        }
        var words: [String] = []
        func length(_ ws: [String]) -> Int { ws.reduce(0) { $0 + $1.count } + max(ws.count - 1, 0) }
        for a in args {
            let room = limit - length(words) - (words.isEmpty ? 0 : 1)
            if a.hasPrefix("-") && a.count <= 12 && room >= a.count {
                words.append(a)
                continue
            }
            if room < min(a.count, 8) {
                // No room for this word: a short option just before it (`-o`) would dangle.
                if let last = words.last, last.hasPrefix("-"), last.count <= 2, words.count > 1 { words.removeLast() }
                words.append("…")
                break
            }
            let shown = short(a, max(room, 8))
            words.append(shown)
            if shown != a { break }   // cut: what follows would not be read as its sequel
        }
        return words.joined(separator: " ")
    }
}
