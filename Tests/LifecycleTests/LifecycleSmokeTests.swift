import Testing
@testable import Lifecycle

@Suite struct EventCodingTests {
    @Test func roundTripKeepsUnknownFields() throws {
        let e = TraceEvent(t: 5, .reap(pid: 12, by: 1, how: .adopted), extra: JSONObject([("future", .string("x\n\"y"))]))
        let line = e.jsonLine
        #expect(line == #"{"type":"reap","t":5,"pid":12,"by":1,"how":"adopted","future":"x\n\"y"}"#)
        let back = try TraceEvent(json: e.jsonObject)
        #expect(back == e)
    }

    /// A recording holds tens of thousands of events in flight and a reader a whole trace: an
    /// event is the size of a small kind, the big ones (`exec` with its ELF facts: 280 bytes
    /// for every event when it was inline) are boxed.
    @Test func anEventIsTheSizeOfASmallKind() throws {
        #expect(MemoryLayout<TraceEvent>.stride <= 96, "\(MemoryLayout<TraceEvent>.stride) bytes")
        let exec = TraceEvent(t: 1, .exec(pid: 3, path: "/bin/true", argv: ["true"], exe: "/usr/bin/true",
                                          elf: ELFInfo(elfClass: "ELF64", machine: "x86-64", type: "DYN", interp: nil, buildID: "ab"),
                                          formerTid: nil))
        #expect(try TraceEvent(json: exec.jsonObject) == exec)
    }
}
