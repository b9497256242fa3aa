import Foundation
import Roost
@testable import RoostPostgres
import Testing

@Suite("Journal rows as JSON")
struct JournalJSONTests {
    @Test("hand-written journal JSON escapes quotes, backslashes, control characters and unicode losslessly")
    func escaping() throws {
        let tricky = "q\"uote \\ back\nline\ttab \u{01} ünï ∂ 🐦 '; DROP TABLE journal; --"
        let entry = JournalEntry(position: 3, kind: .activity, name: tricky, state: .failed, attempts: 2,
                                 result: #"{"a": "\"b\""}"#, error: FailureInfo(code: "x", message: tricky),
                                 dueAt: Date(timeIntervalSince1970: 1_700_000_000.123456))
        let json = PostgresWorkflowStore.journalJSON([entry, JournalEntry(position: 4, kind: .now, name: "now",
                                                                          state: .completed)])
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        #expect(parsed.count == 2)
        #expect(parsed[0]["name"] as? String == tricky)
        #expect(parsed[0]["result"] as? String == #"{"a": "\"b\""}"#)
        #expect((parsed[0]["error"] as? [String: Any])?["message"] as? String == tricky)
        #expect(parsed[0]["due_at"] as? String == "2023-11-14T22:13:20.123456Z")
        #expect(parsed[1]["result"] is NSNull)
    }
}
