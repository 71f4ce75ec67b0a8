/// What is done to Graphviz's SVG of the timeline after it is written.
extension TimelineDOT {
    /// The timeline's SVG without what only names its internal nodes (`n1`, `n2`, …): the
    /// `<!-- nN -->` comment and `<title>nN</title>` Graphviz writes for each. On a picture of
    /// thousands of lanes they are an eighth of the file and tell a reader nothing.
    static func slimmed(svg: [UInt8]) -> [UInt8] {
        var copy = svg
        let n = copy.withUnsafeMutableBytes { slim(svg: $0) }
        return Array(copy.prefix(n))
    }

    /// `slimmed(svg:)` in place, in Graphviz's output buffer: returns the new length.
    static func slim(svg: UnsafeMutableRawBufferPointer) -> Int {
        let comment = Array("<!-- n".utf8), commentEnd = Array(" -->\n".utf8)
        let title = Array("<title>n".utf8), titleEnd = Array("</title>\n".utf8)
        var kept = 0   // what is kept is moved down to here
        var i = 0
        /// The end of `open` + digits + `close` at `i`, if that is what is there.
        func match(_ open: [UInt8], _ close: [UInt8]) -> Int? {
            guard svg.count - i > open.count + close.count, svg[i..<i + open.count].elementsEqual(open) else { return nil }
            var j = i + open.count
            guard j < svg.count, svg[j] >= 0x30, svg[j] <= 0x39 else { return nil }
            while j < svg.count && svg[j] >= 0x30 && svg[j] <= 0x39 { j += 1 }
            guard svg.count - j >= close.count, svg[j..<j + close.count].elementsEqual(close) else { return nil }
            return j + close.count
        }
        // What lies between the removed pieces is moved down in runs, not byte by byte.
        var run = 0
        func keep(_ r: Range<Int>) {
            if kept != r.lowerBound, !r.isEmpty, let base = svg.baseAddress {
                // (Overlapping, downwards: copyMemory is a memmove.)
                (base + kept).copyMemory(from: base + r.lowerBound, byteCount: r.count)
            }
            kept += r.count
        }
        while i < svg.count {
            if svg[i] == UInt8(ascii: "<"), let end = match(comment, commentEnd) ?? match(title, titleEnd) {
                keep(run..<i)
                i = end
                run = end
                continue
            }
            i += 1
        }
        keep(run..<svg.count)
        return kept
    }
}
