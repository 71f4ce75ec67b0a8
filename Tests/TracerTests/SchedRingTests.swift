#if os(Linux)
@preconcurrency import Glibc
import Testing
@testable import Tracer

/// The ring-buffer page decoder on a hand-built page, with the layout from this kernel's formats.
@Suite(.serialized, .timeLimit(.minutes(1)), .enabled(if: SchedSource.isPermitted()))
struct SchedRingTests {
    @Test("a format file gives ids and field offsets")
    func formatParsing() throws {
        let text = """
        name: sched_switch
        ID: 372
        format:
        \tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
        \tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;
        \tfield:pid_t prev_pid;\toffset:24;\tsize:4;\tsigned:1;
        \tfield:long prev_state;\toffset:32;\tsize:8;\tsigned:1;
        """
        let f = try #require(TraceEventFormat(text: text))
        #expect(f.id == 372)
        #expect(f.fields["prev_comm"] == TraceField(offset: 8, size: 16))
        #expect(f.fields["prev_state"] == TraceField(offset: 32, size: 8))
    }

    @Test("the byte-wise format parser reads the declarations tracefs writes, and skips what is not a field")
    func formatParsingEdges() throws {
        let text = "name: sched_process_exec\r\nID: 65535\n" +
            "format:\n\tfield:__data_loc char[] filename;\toffset:8;\tsize:4;\tsigned:0;\n" +
            "  field: u64 timestamp;  offset:0;  size:8;  signed:0;\n" +
            "\tfield:pid_t  old_pid ;\toffset:+16;\tsize:4;\n" +
            "\tfield:int broken;\toffset:x;\tsize:4;\n" +
            "\tfield:int nosize;\toffset:20;\n" +
            "\tfield:;\toffset:24;\tsize:4;\n" +
            "print fmt: \"field:int fake; offset:1; size:1;\""
        let f = try #require(TraceEventFormat(text: text))
        #expect(f.id == 65535)
        #expect(f.fields == ["filename": TraceField(offset: 8, size: 4), "timestamp": TraceField(offset: 0, size: 8),
                             "old_pid": TraceField(offset: 16, size: 4)])
        #expect(TraceEventFormat(text: "ID: 65536\n\tfield:int a;\toffset:0;\tsize:4;\n") == nil)
        #expect(TraceEventFormat(text: "\tfield:int a;\toffset:0;\tsize:4;\n") == nil)
        #expect(TraceEventFormat(text: "") == nil)
    }

    @Test("every field of this kernel's sched and print formats is parsed")
    func realFormats() throws {
        let root = try #require(SchedSource.tracefsRoot())
        for name in ["sched/sched_switch", "sched/sched_wakeup", "sched/sched_wakeup_new", "sched/sched_process_fork",
                     "sched/sched_process_exit", "sched/sched_process_exec", "ftrace/print", "task/task_newtask",
                     "syscalls/sys_enter_wait4", "syscalls/sys_exit_wait4", "signal/signal_deliver"] {
            // (The last four are optional for the recorder: checked where this kernel has them.)
            guard let text = SmallFile.text("\(root)/events/\(name)/format") else {
                #expect(name.hasPrefix("task/") || name.hasPrefix("syscalls/") || name.hasPrefix("signal/"), "\(name)")
                continue
            }
            let f = try #require(TraceEventFormat(text: text), "\(name)")
            let lines = text.split(separator: "\n").filter { $0.contains("field:") }
            #expect(f.fields.count == lines.count, "\(name): \(f.fields.keys.sorted())")
            for line in lines {
                // "field:TYPE NAME[N];\toffset:O;\tsize:S;…"
                let parts = line.split(separator: ";")
                var fieldName = parts[0].split(separator: " ").last!
                if let b = fieldName.firstIndex(of: "[") { fieldName = fieldName[..<b] }
                let offset = Int(parts[1].split(separator: ":")[1])!, size = Int(parts[2].split(separator: ":")[1])!
                #expect(f.fields[String(fieldName)] == TraceField(offset: offset, size: size), "\(name) \(fieldName)")
            }
        }
    }

    @Test("records, time extends, padding and a stored missed count are decoded")
    func pageDecoding() throws {
        let root = try #require(SchedSource.tracefsRoot())
        let layout = try SchedRingDecoder.loadLayout(eventsDir: "\(root)/events")
        var page = [UInt8](repeating: 0, count: 4096)
        func put<T: FixedWidthInteger>(_ v: T, at off: Int) {
            withUnsafeBytes(of: v.littleEndian) { for (i, b) in $0.enumerated() { page[off + i] = b } }
        }
        var p = layout.dataOffset
        func record(delta: UInt32, fill: (Int) -> Void, size: Int) {
            let words = (size + 3) / 4
            put(UInt32(words) | (delta << 5), at: p)
            fill(p + 4)
            p += 4 + words * 4
        }
        let base: UInt64 = 1_000_000_000
        put(base, at: 0)
        // sched_switch 100 → 0, prev_state S, 10 ns after the page time
        record(delta: 10, fill: { d in
            put(layout.switchID, at: d + layout.commonType.offset)
            put(Int32(100), at: d + layout.commonPid.offset)
            put(Int32(100), at: d + layout.switchPrev.offset)
            put(Int64(1), at: d + layout.switchPrevState.offset)
            put(Int32(0), at: d + layout.switchNext.offset)
        }, size: 64)
        // time extend of 2^27 + 5 ns
        put(UInt32(30) | (5 << 5), at: p); put(UInt32(1), at: p + 4); p += 8
        // padding record of 8 bytes of payload
        put(UInt32(29) | (1 << 5), at: p); put(UInt32(8), at: p + 4); p += 12
        // sched_wakeup of 100 on cpu 1, 7 ns later
        record(delta: 7, fill: { d in
            put(layout.wakeupID, at: d + layout.commonType.offset)
            put(Int32(0), at: d + layout.commonPid.offset)
            put(Int32(100), at: d + layout.wakeupPid.offset)
            put(Int32(1), at: d + layout.wakeupTarget.offset)
        }, size: 36)
        // A calibration marker (ftrace print) 3 ns later, and another print: consumed, not events.
        let printID = try #require(layout.printID), buf = try #require(layout.printBuf)
        for text in ["ptcal 17\n", "hello\n"] {
            record(delta: 3, fill: { d in
                put(printID, at: d + layout.commonType.offset)
                put(Int32(7), at: d + layout.commonPid.offset)
                for (k, b) in text.utf8.enumerated() { page[d + buf.offset + k] = b }
            }, size: buf.offset + 12)
        }
        let length = p - layout.dataOffset
        put(UInt64(length) | (1 << 31) | (1 << 30), at: layout.commitOffset)
        put(UInt64(42), at: p) // missed count stored after the data
        var dec = SchedRingDecoder(layout: layout)
        var out: [SchedEvent] = []
        let flagged = page.withUnsafeBytes { dec.decode(page: $0, cpu: 1, into: &out) }
        #expect(flagged)
        #expect(out == [
            // The flagged loss comes first, at the page's time (before every event on it).
            SchedEvent(ts: 1_000_000_000, cpu: 1, current: 0, record: .lost(count: 42)),
            SchedEvent(ts: 1_000_000_010, cpu: 1, current: 100, record: .switchTask(prev: 100, prevState: 1, next: 0)),
            SchedEvent(ts: 1_000_000_010 + (1 << 27) + 5 + 1 + 7, cpu: 1, current: 0, record: .wakeup(tid: 100, targetCPU: 1, isNew: false)),
        ])
        #expect(dec.missedEvents == 42)
        #expect(dec.markers == [SchedMarker(seq: 17, ts: 1_000_000_010 + (1 << 27) + 5 + 1 + 7 + 3, cpu: 1, pid: 7)])   // the writer's tid
    }
}
#endif
