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
}
