#if os(Linux)
@preconcurrency import Glibc

/// Decodes ring-buffer pages from `per_cpu/cpuN/trace_pipe_raw` into `SchedEvent`s.
///
/// Page layout (`events/header_page`): u64 timestamp, a `commit` word whose low 27 bits are
/// the data length and whose bits 31/30 flag missed events / a stored missed count, then
/// the data. Each record starts with a u32 `type_len:5, time_delta:27` header
/// (`events/header_event`); see the kernel's `include/linux/ring_buffer.h`.
struct SchedRingDecoder {
    struct Layout {
        var switchID: UInt16, switchPrev: TraceField, switchPrevState: TraceField, switchNext: TraceField
        var wakeupID: UInt16, wakeupPid: TraceField, wakeupTarget: TraceField
        var wakeupNewID: UInt16, wakeupNewPid: TraceField, wakeupNewTarget: TraceField
        var forkID: UInt16, forkParent: TraceField, forkChild: TraceField
        var exitID: UInt16, exitPid: TraceField
        /// `sched_process_exit`'s `group_dead` (the last thread of its process), if the format has it.
        var exitGroupDead: TraceField? = nil
        var execID: UInt16, execPid: TraceField, execOldPid: TraceField
        /// `task/task_newtask` (clone flags of each new task), if its format is readable.
        var newTaskID: UInt16? = nil, newTaskPid: TraceField? = nil, newTaskFlags: TraceField? = nil
        var commonType: TraceField, commonPid: TraceField
        /// `syscalls/sys_enter_wait4` and `sys_exit_wait4`, if their formats are readable: waits
        /// read from the ring instead of ptrace stops (`SchedSource.Options.ringWaits`).
        var waitEnterID: UInt16? = nil, waitEnterUpid: TraceField? = nil, waitEnterOptions: TraceField? = nil
        var waitExitID: UInt16? = nil, waitExitRet: TraceField? = nil
        /// `signal/signal_deliver`, if its format is readable (with the wait4 ones): whether a
        /// wait a signal interrupted returns EINTR or is restarted.
        var deliverID: UInt16? = nil, deliverHandler: TraceField? = nil, deliverFlags: TraceField? = nil
        /// `ftrace/print` (what a `trace_marker` write records), if its format is readable.
        var printID: UInt16?, printBuf: TraceField?
        /// Offsets in the page header.
        var commitOffset: Int, commitSize: Int, dataOffset: Int
    }

    let layout: Layout
    /// Events the kernel reported as missed in page headers (exact when it could store the count).
    var missedEvents: Int = 0
    /// Pages flagged "missed events" without a stored count (count unknown).
    var missedUnknownPages: Int = 0
    var decodedEvents: Int = 0
    /// Calibration markers ("ptcal SEQ" written to `trace_marker`) seen since last emptied,
    /// with their trace-clock time. Other `print` events are skipped.
    var markers: [SchedMarker] = []

    init(layout: Layout) { self.layout = layout }

    /// Reads the formats under an instance's (or the top-level) `events` directory.
    /// `waits`: also the wait4 syscall tracepoints' (optional: without them no waits are read).
    static func loadLayout(eventsDir: String, waits: Bool = false) throws -> Layout {
        func format(_ name: String) throws -> TraceEventFormat {
            let path = "\(eventsDir)/sched/\(name)/format"
            guard let text = SmallFile.text(path), let f = TraceEventFormat(text: text) else {
                throw SchedError(.format, "cannot read or parse \(path)")
            }
            return f
        }
        let sw = try format("sched_switch"), wk = try format("sched_wakeup")
        let wn = try format("sched_wakeup_new"), fk = try format("sched_process_fork")
        let ex = try format("sched_process_exit"), xc = try format("sched_process_exec")
        // header_page: "field: local_t commit; offset:8; size:8; …" and "field: char data; offset:16;"
        var commitOffset = 8, commitSize = 8, dataOffset = 16
        if let hp = SmallFile.text("\(eventsDir)/header_page") {
            // ("field: u64 timestamp" parses as an event format's "field:u64 timestamp" does.)
            let f = TraceEventFormat(text: "ID: 0\n" + hp)
            if let c = f?.fields["commit"] { commitOffset = c.offset; commitSize = c.size }
            if let d = f?.fields["data"] { dataOffset = d.offset }
        }
        // The print event is optional here: without it, the trace clock is not calibrated.
        let print = SmallFile.text("\(eventsDir)/ftrace/print/format").flatMap { TraceEventFormat(text: $0) }
        // Optional too: without it, a new task's process is read from /proc (racy when late).
        let newTask = SmallFile.text("\(eventsDir)/task/task_newtask/format").flatMap { TraceEventFormat(text: $0) }
        let waitEnter = waits ? SmallFile.text("\(eventsDir)/syscalls/sys_enter_wait4/format").flatMap { TraceEventFormat(text: $0) } : nil
        let waitExit = waits ? SmallFile.text("\(eventsDir)/syscalls/sys_exit_wait4/format").flatMap { TraceEventFormat(text: $0) } : nil
        let deliver = waits ? SmallFile.text("\(eventsDir)/signal/signal_deliver/format").flatMap { TraceEventFormat(text: $0) } : nil
        var layout = Layout(
            switchID: sw.id, switchPrev: try sw.field("prev_pid"), switchPrevState: try sw.field("prev_state"),
            switchNext: try sw.field("next_pid"),
            wakeupID: wk.id, wakeupPid: try wk.field("pid"), wakeupTarget: try wk.field("target_cpu"),
            wakeupNewID: wn.id, wakeupNewPid: try wn.field("pid"), wakeupNewTarget: try wn.field("target_cpu"),
            forkID: fk.id, forkParent: try fk.field("parent_pid"), forkChild: try fk.field("child_pid"),
            exitID: ex.id, exitPid: try ex.field("pid"),
            execID: xc.id, execPid: try xc.field("pid"), execOldPid: try xc.field("old_pid"),
            newTaskID: newTask?.id, newTaskPid: newTask?.fields["pid"], newTaskFlags: newTask?.fields["clone_flags"],
            commonType: try sw.field("common_type"), commonPid: try sw.field("common_pid"),
            printID: print?.id, printBuf: print?.fields["buf"],
            commitOffset: commitOffset, commitSize: commitSize, dataOffset: dataOffset)
        layout.exitGroupDead = ex.fields["group_dead"]
        if let e = waitEnter, let x = waitExit, let upid = e.fields["upid"], let options = e.fields["options"], let ret = x.fields["ret"] {
            layout.waitEnterID = e.id
            layout.waitEnterUpid = upid
            layout.waitEnterOptions = options
            layout.waitExitID = x.id
            layout.waitExitRet = ret
            if let d = deliver, let handler = d.fields["sa_handler"], let flags = d.fields["sa_flags"] {
                layout.deliverID = d.id
                layout.deliverHandler = handler
                layout.deliverFlags = flags
            }
        }
        return layout
    }

    /// Whether the wait4 tracepoints' formats were read (the ring can carry waits).
    var readsWaits: Bool { layout.waitEnterID != nil && layout.waitExitID != nil }

    /// Whether the signal_deliver tracepoint's format was read too.
    var readsDeliveries: Bool { layout.deliverID != nil }

    /// Decodes one page, appending the events it holds to `out` in time order. Returns
    /// whether the kernel flagged events missed before this page (with their number when it
    /// could store it): a `.lost` record comes first in `out` then, at the page's time.
    @discardableResult
    mutating func decode(page: UnsafeRawBufferPointer, cpu: Int32, into out: inout [SchedEvent]) -> Bool {
        let l = layout
        guard page.count >= l.dataOffset else { return false }
        var ts = Int64(bitPattern: page.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        let commit: UInt64 = l.commitSize == 8
            ? page.loadUnaligned(fromByteOffset: l.commitOffset, as: UInt64.self)
            : UInt64(page.loadUnaligned(fromByteOffset: l.commitOffset, as: UInt32.self))
        let length = Int(commit & ((1 << 27) - 1))
        let end = min(page.count, l.dataOffset + length)
        var missed = false
        if commit & (1 << 31) != 0 {
            missed = true
            var count: Int?
            if commit & (1 << 30) != 0, end + 8 <= page.count {
                count = Int(page.loadUnaligned(fromByteOffset: end, as: UInt64.self))
                missedEvents += count!
            } else {
                missedUnknownPages += 1
            }
            out.append(SchedEvent(ts: ts, cpu: cpu, current: 0, record: .lost(count: count)))
        }
        var p = l.dataOffset
        while p + 4 <= end {
            let header = page.loadUnaligned(fromByteOffset: p, as: UInt32.self)
            let typeLen = Int(header & 0x1f)
            let delta = Int64(header >> 5)
            switch typeLen {
            case 29: // padding; time_delta 0 means the rest of the page is unused
                if delta == 0 || p + 8 > end { return missed }
                let len = Int(page.loadUnaligned(fromByteOffset: p + 4, as: UInt32.self))
                ts += delta // a discarded event keeps its delta (as libtraceevent reads it)
                p += 4 + len
                continue
            case 30: // time extend
                guard p + 8 <= end else { return missed }
                let hi = Int64(page.loadUnaligned(fromByteOffset: p + 4, as: UInt32.self))
                ts += (hi << 27) | delta
                p += 8
                continue
            case 31: // absolute time stamp (59 bits)
                guard p + 8 <= end else { return missed }
                let hi = Int64(page.loadUnaligned(fromByteOffset: p + 4, as: UInt32.self))
                ts = (ts & ~((1 << 59) - 1)) | (hi << 27) | delta
                p += 8
                continue
            default:
                break
            }
            ts += delta
            let dataStart: Int, dataLen: Int
            if typeLen == 0 {
                guard p + 8 <= end else { return missed }
                dataLen = Int(page.loadUnaligned(fromByteOffset: p + 4, as: UInt32.self)) - 4
                dataStart = p + 8
            } else {
                dataLen = typeLen * 4
                dataStart = p + 4
            }
            guard dataLen >= 0, dataStart + dataLen <= end else { return missed }
            p = dataStart + dataLen
            let rec = UnsafeRawBufferPointer(rebasing: page[dataStart ..< dataStart + dataLen])
            if rec.count >= 2, let printID = l.printID,
               rec.loadUnaligned(fromByteOffset: l.commonType.offset, as: UInt16.self) == printID {
                if let seq = markerSeq(rec) {
                    let pid = Int32(truncatingIfNeeded: rec.loadUnaligned(fromByteOffset: l.commonPid.offset, as: Int32.self))
                    markers.append(SchedMarker(seq: seq, ts: ts, cpu: cpu, pid: pid))
                }
                continue
            }
            if let e = decodeRecord(rec, ts: ts, cpu: cpu) {
                out.append(e)
                decodedEvents += 1
            }
        }
        return missed
    }

    /// The SEQ of a `print` record holding "ptcal SEQ" (the marker text, then NUL padding).
    private func markerSeq(_ r: UnsafeRawBufferPointer) -> Int? {
        guard let buf = layout.printBuf, buf.offset < r.count else { return nil }
        let text = r[buf.offset...]
        let prefix: [UInt8] = Array("ptcal ".utf8)
        guard text.count > prefix.count, text.starts(with: prefix) else { return nil }
        var seq = 0, digits = 0
        for b in text.dropFirst(prefix.count) {
            guard b >= 0x30 && b <= 0x39 else { break }
            seq = seq * 10 + Int(b - 0x30)
            digits += 1
            if digits > 18 { return nil }
        }
        return digits > 0 ? seq : nil
    }

    private func decodeRecord(_ r: UnsafeRawBufferPointer, ts: Int64, cpu: Int32) -> SchedEvent? {
        let l = layout
        func int(_ f: TraceField) -> Int64 {
            guard f.offset + f.size <= r.count else { return 0 }
            switch f.size {
            case 1: return Int64(r.loadUnaligned(fromByteOffset: f.offset, as: Int8.self))
            case 2: return Int64(r.loadUnaligned(fromByteOffset: f.offset, as: Int16.self))
            case 4: return Int64(r.loadUnaligned(fromByteOffset: f.offset, as: Int32.self))
            case 8: return r.loadUnaligned(fromByteOffset: f.offset, as: Int64.self)
            default: return 0
            }
        }
        guard r.count >= 8 else { return nil }
        let type = UInt16(truncatingIfNeeded: int(l.commonType))
        let current = Int32(truncatingIfNeeded: int(l.commonPid))
        let record: SchedRecord
        switch type {
        case l.switchID:
            record = .switchTask(prev: Int32(truncatingIfNeeded: int(l.switchPrev)),
                                 prevState: int(l.switchPrevState),
                                 next: Int32(truncatingIfNeeded: int(l.switchNext)))
        case l.wakeupID:
            record = .wakeup(tid: Int32(truncatingIfNeeded: int(l.wakeupPid)),
                             targetCPU: Int32(truncatingIfNeeded: int(l.wakeupTarget)), isNew: false)
        case l.wakeupNewID:
            record = .wakeup(tid: Int32(truncatingIfNeeded: int(l.wakeupNewPid)),
                             targetCPU: Int32(truncatingIfNeeded: int(l.wakeupNewTarget)), isNew: true)
        case l.forkID:
            record = .fork(parent: Int32(truncatingIfNeeded: int(l.forkParent)),
                           child: Int32(truncatingIfNeeded: int(l.forkChild)))
        case l.exitID:
            record = .exit(tid: Int32(truncatingIfNeeded: int(l.exitPid)), groupDead: l.exitGroupDead.map { int($0) != 0 })
        case l.execID:
            record = .exec(pid: Int32(truncatingIfNeeded: int(l.execPid)),
                           oldPid: Int32(truncatingIfNeeded: int(l.execOldPid)))
        case l.waitEnterID where l.waitEnterID != nil:
            guard let uf = l.waitEnterUpid, let of = l.waitEnterOptions else { return nil }
            record = .waitEnter(upid: Int32(truncatingIfNeeded: int(uf)), options: UInt32(truncatingIfNeeded: int(of)))
        case l.waitExitID where l.waitExitID != nil:
            guard let rf = l.waitExitRet else { return nil }
            record = .waitExit(ret: int(rf))
        case l.deliverID where l.deliverID != nil:
            guard let hf = l.deliverHandler, let ff = l.deliverFlags else { return nil }
            record = .signalDeliver(handler: UInt64(bitPattern: int(hf)), flags: UInt64(bitPattern: int(ff)))
        case l.newTaskID where l.newTaskID != nil:
            guard let pf = l.newTaskPid, let ff = l.newTaskFlags else { return nil }
            record = .newTask(tid: Int32(truncatingIfNeeded: int(pf)), cloneFlags: UInt64(bitPattern: int(ff)))
        default:
            return nil
        }
        return SchedEvent(ts: ts, cpu: cpu, current: current, record: record)
    }
}

/// A clock-calibration marker read back from the ring buffer.
struct SchedMarker: Equatable {
    var seq: Int
    /// Trace-clock time of the `print` event.
    var ts: Int64
    var cpu: Int32
    /// The writer's tid as the kernel numbers it (global, whatever pid namespace wrote it).
    var pid: Int32 = 0
}

#endif
