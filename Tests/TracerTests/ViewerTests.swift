import Foundation
import Lifecycle
import Testing

/// `render -f html` (issue 12) opened in a real browser: Debian's headless Chromium (installed
/// by scripts/install-deps.sh) loads the page with a URL fragment, runs its script, and prints
/// the DOM. The world at the cursor (`id="at"`) must be `replay --at`'s, row for row and cell
/// for cell, at several instants of shipped and freshly recorded traces; the details panel must
/// state the trace's own facts; screenshots must show the lanes in the pictures' colours.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct ViewerTests {
    static let chromium = "/usr/bin/chromium"
    static var scratch: URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("proctrace-viewer-\(getpid())")
        try? FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }

    /// Renders `trace` to an HTML page in the scratch directory; returns its path.
    static func page(_ trace: String, _ extra: [String] = []) throws -> String {
        let name = URL(fileURLWithPath: trace).deletingPathExtension().lastPathComponent + "-\(UUID().uuidString.prefix(8)).html"
        let out = scratch.appendingPathComponent(name).path
        let (code, so, se) = try Harness.run([Harness.binary, "render", trace, "-f", "html", "-o", out] + extra)
        #expect(code == 0, "render -f html \(trace): exit \(code): \(se)")
        #expect(so.trimmingCharacters(in: .whitespacesAndNewlines) == out)
        return out
    }

    /// What the page shows after its script ran: read from Chromium's `--dump-dom` by Python's
    /// HTML parser (independent of the page's own code).
    struct Shown: Decodable {
        var ready: Bool
        var title: String
        var rows: [Row]
        var details: String
        var detailsPid: String?
        var warn: String
        struct Row: Decodable { var pid: String; var cells: [String] }
    }

    static let parser = #"""
import sys, json
from html.parser import HTMLParser
class P(HTMLParser):
    def __init__(s):
        super().__init__(); s.ready=False; s.title=""; s.rows=[]; s.details=[]; s.dpid=None; s.warn=[]
        s.stack=[]; s.in_at=False; s.row=None; s.cell=None; s.in_title=False; s.ddepth=0; s.wdepth=0
    def handle_starttag(s, tag, a):
        a=dict(a)
        if tag=="body" and a.get("data-ready")=="1": s.ready=True
        if a.get("id")=="at": s.in_at=True
        if a.get("id")=="at-title": s.in_title=True
        if a.get("id")=="details": s.ddepth=1; s.dpid=a.get("data-pid"); return
        if a.get("id")=="warn": s.wdepth=1; return
        if s.ddepth and tag not in ("br","input","img"): s.ddepth+=1
        if s.wdepth and tag not in ("br","input","img"): s.wdepth+=1
        if s.ddepth and tag in ("dd","dt","td","tr","h3"): s.details.append("\n")
        if s.in_at and tag=="tr" and "data-pid" in a: s.row={"pid":a["data-pid"],"cells":[]}
        if s.row is not None and tag=="td": s.cell=[]
    def handle_endtag(s, tag):
        if tag=="table" and s.in_at: s.in_at=False
        if tag=="h2": s.in_title=False
        if s.ddepth: s.ddepth-=1
        if s.wdepth: s.wdepth-=1
        if s.cell is not None and tag=="td": s.row["cells"].append("".join(s.cell)); s.cell=None
        if s.row is not None and tag=="tr": s.rows.append(s.row); s.row=None
    def handle_data(s, d):
        if s.cell is not None: s.cell.append(d)
        if s.in_title: s.title+=d
        if s.ddepth: s.details.append(d)
        if s.wdepth: s.warn.append(d)
p=P(); p.feed(sys.stdin.read())
print(json.dumps({"ready":p.ready,"title":p.title,"rows":p.rows,"details":"".join(p.details),"detailsPid":p.dpid,"warn":"".join(p.warn)}))
"""#

    /// Opens the page at `fragment` in headless Chromium and reads what it shows.
    static func open(_ page: String, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Shown {
        let profile = scratch.appendingPathComponent("profile-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: profile) }
        let (code, dom, err) = try Harness.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                                "--user-data-dir=\(profile)", "--virtual-time-budget=20000", "--window-size=1400,900",
                                                "--dump-dom", "file://\(page)#\(fragment)"], timeout: 120)
        #expect(code == 0, "chromium: exit \(code): \(err.suffix(400))", sourceLocation: sourceLocation)
        let domFile = scratch.appendingPathComponent("dom-\(UUID().uuidString.prefix(8)).html").path
        try dom.write(toFile: domFile, atomically: false, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: domFile) }
        let (pc, json, pe) = try Harness.run(["/bin/sh", "-c", "exec \"$0\" -c \"$1\" < \"$2\"", Harness.python, parser, domFile])
        #expect(pc == 0, "parsing the DOM: \(pe)", sourceLocation: sourceLocation)
        let shown = try JSONDecoder().decode(Shown.self, from: Data(json.utf8))
        #expect(shown.ready, "the page never set data-ready (\(page)#\(fragment))", sourceLocation: sourceLocation)
        return shown
    }

    /// `replay --at`'s output as rows: the pstree line and the ps -ajx cells of each process.
    static func replayAt(_ trace: String, _ at: String) throws -> (title: String, rows: [(tree: String, cells: [String])]) {
        let (code, out, err) = try Harness.run([Harness.binary, "replay", trace, "--at", at], env: ["NO_COLOR": "1"])
        #expect(code == 0, "replay --at \(at): exit \(code): \(err)")
        let lines = out.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let blank = lines.firstIndex(of: "") ?? lines.count
        let tree = Array(lines[1..<blank]).filter { $0 != "(no processes)" }
        let table = lines.dropFirst(blank + 2).filter { !$0.isEmpty }
        // Six padded columns, then the command with its own spaces (after one space).
        let cells = table.map { line -> [String] in
            var parts: [String] = []
            var rest = Substring(line)
            for _ in 0..<6 {
                rest = rest.drop { $0 == " " }
                let word = rest.prefix { $0 != " " }
                parts.append(String(word))
                rest = rest.dropFirst(word.count)
            }
            parts.append(String(rest.dropFirst()))
            return parts
        }
        #expect(tree.count == cells.count, "replay --at \(at): \(tree.count) tree lines, \(cells.count) rows:\n\(out)")
        return (lines[0], zip(tree, cells).map { ($0, $1) })
    }

    /// The page's world at `at` equals `replay --at`'s: same processes in the same order, the
    /// same pstree text (rails included) and the same ps -ajx cells.
    @discardableResult
    static func checkCursor(_ trace: String, page: String, at: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Int {
        let want = try replayAt(trace, at)
        let shown = try open(page, "t=\(at)", sourceLocation: sourceLocation)
        #expect(shown.title == want.title, "\(trace) at \(at): title", sourceLocation: sourceLocation)
        #expect(shown.rows.count == want.rows.count, "\(trace) at \(at): \(shown.rows.count) rows in the page, \(want.rows.count) in replay --at", sourceLocation: sourceLocation)
        for (got, exp) in zip(shown.rows, want.rows) {
            #expect(got.pid == exp.cells[1].split(separator: "#").first.map(String.init), "\(trace) at \(at): data-pid \(got.pid) vs \(exp.cells[1])", sourceLocation: sourceLocation)
            #expect(got.cells.first == exp.tree, "\(trace) at \(at): tree text", sourceLocation: sourceLocation)
            // The page's COMMAND is the whole cell; replay pads the columns before it.
            let gotCells = Array(got.cells.dropFirst())
            #expect(gotCells.count == 7 && Array(gotCells.prefix(6)) == Array(exp.cells.prefix(6)) && gotCells.last == exp.cells.last,
                    "\(trace) at \(at): page \(gotCells) vs replay \(exp.cells)", sourceLocation: sourceLocation)
        }
        return want.rows.count
    }

    /// Instants worth looking at: spread over the trace's life, and exactly at events that
    /// change the world (an exit, a reap, a reparent: the event at the instant is applied).
    static func instants(_ trace: String, spread: Int = 3, exact: Int = 2) throws -> [String] {
        let h = try ProcessHistory(path: trace)
        let first = h.processes.map(\.birth).min() ?? 0
        let last = h.endTime
        var out: [String] = []
        for k in 1...spread { out.append(Lifecycle.TimeFormat.clock(first + (last - first) * Int64(k) / Int64(spread + 1))) }
        var events: [Int64] = []
        for p in h.processes {
            if let x = p.exitTime { events.append(x) }
            if let r = p.reparents.first { events.append(r.t) }
            if let r = p.reapTime, p.parent != nil { events.append(r) }
        }
        events.sort()
        for k in 0..<min(exact, events.count) { out.append("\(events[(events.count - 1) * (k + 1) / (exact + 1)])ns") }
        return out
    }

    @Test("the cursor table is replay --at's, at several instants of shipped traces")
    func shippedTracesMatchReplayAt() throws {
        let root = Harness.packageRoot.appendingPathComponent("traces").path
        for name in ["zombie", "wait_status", "orphan", "make_j", "threads", "stop_continue", "sigchld_ignore", "daemon"] {
            let trace = "\(root)/\(name).jsonl"
            let page = try Self.page(trace)
            var compared = 0
            for at in try Self.instants(trace, spread: 2, exact: 1) { compared += try Self.checkCursor(trace, page: page, at: at) }
            #expect(compared >= 2, "\(name): only \(compared) rows compared")
        }
    }

    @Test("fresh recordings of the zombie, orphan and pool workloads: the cursor table is replay --at's")
    func freshRecordingsMatchReplayAt() throws {
        for cmd in [Harness.py("zombie.py"), Harness.py("orphan.py"), Harness.py("mp_pool.py")] {
            let run = try Harness.record(cmd)
            let page = try Self.page(run.path)
            var compared = 0
            for at in try Self.instants(run.path, spread: 2, exact: 2) { compared += try Self.checkCursor(run.path, page: page, at: at) }
            #expect(compared >= 3, "\(cmd): only \(compared) rows compared")
        }
    }

    @Test("10,000 processes on 5,000 reused pids: a compact page whose table is replay --at's, generations included")
    func manyProcessesWithReusedPids() throws {
        let trace = Self.scratch.appendingPathComponent("many.jsonl").path
        try? FileManager.default.removeItem(atPath: trace)
        let (gc, _, ge) = try Harness.run([Harness.python, Harness.packageRoot.appendingPathComponent("scripts/gen-trace.py").path,
                                           "-n", "220000", "-p", "10000", "-o", trace], timeout: 300)
        #expect(gc == 0, "gen-trace.py: \(ge)")
        let page = try Self.page(trace)
        let pageBytes = try FileManager.default.attributesOfItem(atPath: page)[.size] as? Int ?? 0
        let traceBytes = try FileManager.default.attributesOfItem(atPath: trace)[.size] as? Int ?? 0
        // Columns and a string table: a few bytes per event, not the trace's ~100.
        #expect(pageBytes * 4 < traceBytes, "page \(pageBytes) bytes for a \(traceBytes)-byte trace")
        let h = try ProcessHistory(path: trace)
        #expect(h.processes.count == 10_001)
        // Instants inside the second half, where the pids are in their second generation.
        var rows: [Int] = []
        for k in [5, 7, 9] { rows.append(try Self.checkCursor(trace, page: page, at: "\(h.endTime * Int64(k) / 10)ns")) }
        #expect(rows.allSatisfy { $0 >= 2 }, "rows compared: \(rows)")
        let shown = try Self.open(page, "t=\(h.endTime * 9 / 10)ns")
        #expect(shown.rows.contains { $0.cells.count > 2 && $0.cells[2].hasSuffix("#2") }, "a second-generation pid in the table")
    }

    @Test("the details panel of a process chosen by the URL states its argv, exit, reaper and zombie time")
    func detailsPanelFromTheURL() throws {
        let run = try Harness.record(Harness.py("zombie.py"))
        let child = try #require(run.history.processes.first { $0.parent != nil && $0.isOrphaned }, "the zombie child")
        let page = try Self.page(run.path)
        let exitT = try #require(child.exitTime)
        let status = try #require(child.exitStatus)
        let at = Lifecycle.TimeFormat.clock(exitT + 1_000)
        let shown = try Self.open(page, "t=\(at)&pid=\(child.pid)")
        #expect(shown.detailsPid == String(child.pid))
        let d = shown.details
        #expect(d.contains("\(child.pid)"))
        #expect(d.contains(child.initialArgv.joined(separator: " ")), "argv: \(d)")
        #expect(d.contains(status.description), "exit: \(d)")
        #expect(d.contains("by init (1)") && d.contains("how: adopted"), "reaper: \(d)")
        let zombie = try #require(child.zombieDuration)
        #expect(d.contains("zombie time") && d.contains(Lifecycle.TimeFormat.duration(zombie)), "zombie time \(Lifecycle.TimeFormat.duration(zombie)): \(d)")
        #expect(d.contains("reparented"), "the adoption: \(d)")
        // The cursor row of the selected process is in the table, as replay --at has it.
        #expect(shown.rows.contains { $0.pid == String(child.pid) && $0.cells.contains("Z") })

        // The parent: its wait-free exit and its child.
        let parentID = try #require(child.parent)
        let parent = try #require(run.history.record(for: parentID))
        let p = try Self.open(page, "pid=\(parent.pid)")
        #expect(p.detailsPid == String(parent.pid))
        #expect(p.details.contains("reaped") && p.details.contains("proctrace"), "the root is reaped by proctrace: \(p.details)")
    }

    @Test("a loss and unknown stretches are told on the page; the unknown band's process is in the table")
    func lossIsShown() throws {
        let trace = Harness.packageRoot.appendingPathComponent("Tests/Fixtures/unknown-states.jsonl").path
        let page = try Self.page(trace)
        let shown = try Self.open(page, "t=0.010")
        #expect(shown.warn.contains("lost 7"), "the banner: \(shown.warn)")
        #expect(shown.warn.contains("unknown"), "the banner: \(shown.warn)")
        for at in ["0.005", "0.010", "0.020"] { try Self.checkCursor(trace, page: page, at: at) }
    }

    @Test("the page is self-contained: nothing is fetched, the data is columns, not an object per event")
    func selfContained() throws {
        let trace = Harness.packageRoot.appendingPathComponent("traces/make_j.jsonl").path
        let page = try Self.page(trace)
        let html = try String(contentsOfFile: page, encoding: .utf8)
        for bad in ["<link", "src=", "fetch(", "XMLHttpRequest", "import(", "@import", "url("] {
            #expect(!html.contains(bad), "the page holds \(bad)")
        }
        let traceBytes = try Data(contentsOf: URL(fileURLWithPath: trace)).count
        #expect(html.utf8.count < traceBytes, "page \(html.utf8.count) bytes, trace \(traceBytes)")
        // Default name: NAME.html beside the trace.
        let copy = Self.scratch.appendingPathComponent("named.jsonl").path
        try? FileManager.default.removeItem(atPath: copy)
        try FileManager.default.copyItem(atPath: trace, toPath: copy)
        let (code, out, _) = try Harness.run([Harness.binary, "render", copy, "-f", "html"])
        #expect(code == 0 && out.trimmingCharacters(in: .whitespacesAndNewlines) == Self.scratch.appendingPathComponent("named.html").path, "\(out)")
        // Options of the static pictures are refused, not ignored.
        let (c2, _, e2) = try Harness.run([Harness.binary, "render", copy, "-f", "html", "--tree"])
        #expect(c2 == 2 && e2.contains("--tree does not apply to -f html"), "\(e2)")
    }

    /// Counts the pixels of each colour in a PNG (8-bit RGB/RGBA, not interlaced), in Python's
    /// zlib: no image library needed.
    static let pixelCounter = #"""
import sys, zlib, struct, json
d=open(sys.argv[1],"rb").read(); assert d[:8]==b"\x89PNG\r\n\x1a\n"
i=8; idat=b""; w=h=0
while i<len(d):
    n,=struct.unpack(">I",d[i:i+4]); t=d[i+4:i+8]; c=d[i+8:i+8+n]; i+=12+n
    if t==b"IHDR": w,h,bd,ct,_,_,il=struct.unpack(">IIBBBBB",c); assert bd==8 and il==0 and ct in (2,6)
    if t==b"IDAT": idat+=c
raw=zlib.decompress(idat); bpp=4 if ct==6 else 3; stride=w*bpp; prev=bytearray(stride); out={}
want=set(sys.argv[2:]); k=0
for y in range(h):
    f=raw[k]; k+=1; line=bytearray(raw[k:k+stride]); k+=stride
    for x in range(stride):
        a=line[x-bpp] if x>=bpp else 0; b=prev[x]; c=prev[x-bpp] if x>=bpp else 0
        if f==1: line[x]=(line[x]+a)&255
        elif f==2: line[x]=(line[x]+b)&255
        elif f==3: line[x]=(line[x]+((a+b)>>1))&255
        elif f==4:
            p=a+b-c; pa=abs(p-a); pb=abs(p-b); pc=abs(p-c)
            line[x]=(line[x]+(a if pa<=pb and pa<=pc else (b if pb<=pc else c)))&255
    for x in range(0,stride,bpp):
        hx="#%02x%02x%02x"%(line[x],line[x+1],line[x+2])
        if hx in want: out[hx]=out.get(hx,0)+1
    prev=line
print(json.dumps({"w":w,"h":h,"counts":out}))
"""#

    @Test("screenshots of real recordings show the lanes in the SVGs' colours, the cursor and the tree")
    func screenshots() throws {
        let trace = Harness.packageRoot.appendingPathComponent("traces/make_j.jsonl").path
        let page = try Self.page(trace)
        let png = Self.scratch.appendingPathComponent("make_j.png").path
        let profile = Self.scratch.appendingPathComponent("profile-shot").path
        defer { try? FileManager.default.removeItem(atPath: profile) }
        let (code, _, err) = try Harness.run([Self.chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--user-data-dir=\(profile)",
                                               "--virtual-time-budget=20000", "--window-size=1400,800", "--screenshot=\(png)",
                                               "file://\(page)#t=0.1"], timeout: 120)
        #expect(code == 0, "chromium --screenshot: \(err.suffix(300))")
        // running, blocked in wait, zombie, the cursor (#ff6f00), ready.
        let colours = ["#43a047", "#64b5f6", "#424242", "#ff6f00", "#ffca28"]
        let (pc, out, pe) = try Harness.run([Harness.python, "-c", Self.pixelCounter, png] + colours)
        #expect(pc == 0, "\(pe)")
        struct Counts: Decodable { var w: Int; var h: Int; var counts: [String: Int] }
        let c = try JSONDecoder().decode(Counts.self, from: Data(out.utf8))
        #expect(c.w == 1400 && c.h == 800)
        for colour in colours { #expect((c.counts[colour] ?? 0) > 50, "\(colour): \(c.counts[colour] ?? 0) pixels in the screenshot") }
    }
}
