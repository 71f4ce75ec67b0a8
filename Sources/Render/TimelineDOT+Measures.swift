import Lifecycle

/// The timeline's measures: text widths, tick intervals, lane depths.
extension TimelineDOT {
    /// The width of `s` in DejaVu Sans at `size` points, from approximate advance widths (in
    /// em): text nodes are centred on their estimated width, so a good estimate keeps a
    /// label's left edge where it is meant to be (an exit label at the exit instant).
    static func textWidth(_ s: String, _ size: Double) -> Double {
        var em = 0.0
        for u in s.unicodeScalars {
            switch u {
            case "i", "l", "j", "I", "!", "'", "|": em += 0.28
            case ".", ",", ":", ";", " ": em += 0.32
            case "f", "t", "(", ")", "[", "]", "/", "\\", "-": em += 0.37
            case "r": em += 0.41
            case "m": em += 0.97
            case "w", "M": em += 0.83
            case "W": em += 0.99
            case "s", "c", "z", "k", "v", "x", "y": em += 0.54
            case "0"..."9", "#", "$", "_", "*", "?": em += 0.64
            case "A"..."Z": em += 0.70
            case "a"..."z": em += 0.62
            default: em += u.value < 0x80 ? 0.65 : 0.8
            }
        }
        return em * size * 1.05  // cairo's hinting at small sizes widens text a little
    }

    /// A round tick interval giving 5 to 12 ticks over `span`.
    static func niceTick(_ span: Int64) -> Int64 {
        var step: Int64 = 1
        while span / step > 12 {
            for m: Int64 in [2, 5, 10] where span / (step * m) <= 12 { return step * m }
            step *= 10
        }
        return step
    }

    static func depths(_ lanes: [ProcessRecord], _ h: ProcessHistory) -> [Int] {
        var depthByID: [ProcessID: Int] = [:]
        for p in h.processes { depthByID[p.id] = p.parent.flatMap { depthByID[$0] }.map { $0 + 1 } ?? 0 }
        return lanes.map { depthByID[$0.id] ?? 0 }
    }
}

extension String {
    func replacingPrefix(_ prefix: String, with other: String) -> String {
        hasPrefix(prefix) ? other + dropFirst(prefix.count) : self
    }
}
