import Foundation
import PostgresNIO
import RoostClient
import RoostExamples
import RoostPostgres
import RoostTesting
import Testing

@Suite("Retention on a roost runner process")
struct RetentionProcessTests {
    @Test("""
        under waves of starts, a runner with a one-second retention brings the executions and journal back to \
        what the unfinished ones hold after each wave, and never touches a row of those
        """, .timeLimit(.minutes(3)))
    func steadyLoadStaysFlat() async throws {
        try await withProcesses { harness in
            let runner = try await harness.startRunner("retention", environment: [
                "ROOST_RETENTION_S": "1", "ROOST_MAINTENANCE_INTERVAL_MS": "200",
            ])
            try await runner.waitForLine(containing: "shards acquired")
            let client = harness.client
            let approvals = (0..<5).map { "waiting-\($0)" }
            for id in approvals {
                _ = try await client.start(Approval.self, id: id, input: .init(requestId: id, coolOffMs: 0))
            }
            try await harness.awaitCount("""
                SELECT count(*)::int FROM journal j JOIN executions e ON e.key = j.execution
                WHERE e.id LIKE 'waiting-%' AND j.kind = 'deferred'
                """, atLeast: approvals.count)
            let unfinished = try await harness.rows(of: "waiting-%")
            let baseline = try await harness.count("""
                SELECT ((SELECT count(*) FROM executions) + (SELECT count(*) FROM journal))::int
                """)

            for wave in 0..<3 {
                let ids = (0..<20).map { "wave-\(wave)-\($0)" }
                for id in ids { _ = try await client.start(Order.self, id: id, input: .init(orderId: id, amount: 1)) }
                // A result awaited could find its execution deleted already: the effects, which retention keeps,
                // say that each ran to its end.
                try await harness.awaitCount("""
                    SELECT ((SELECT count(*) FROM executions) + (SELECT count(*) FROM journal) = \(baseline))::int
                    """, atLeast: 1)
                for id in ids {
                    let effects = try await harness.effects(id)
                    try require(effects == ["reserve": 1, "charge": 1, "confirm": 1], "\(id) completed: \(effects)")
                }
                try require(try await harness.rows(of: "waiting-%") == unfinished,
                            "wave \(wave): the waiting executions' rows are as they were")
            }
            try await runner.waitForLine(containing: "maintenance deleted what was past its retention")
        }
    }

    @Test("""
        roost workflow delete and DELETE /v1/workflows/{workflow}/executions/{id} remove a finished execution and \
        refuse an unfinished one
        """)
    func deleteOnDemand() async throws {
        try await withProcesses { harness in
            let port = FreePort.next()
            let token = "test-token-0123456789"
            let runner = try await harness.startRunner("delete", environment: [
                "ROOST_HTTP_ADDRESS": "127.0.0.1:\(port)", "ROOST_API_TOKEN": token,
            ])
            try await runner.waitForLine(containing: "shards acquired")
            let api = CurlClient(base: "http://127.0.0.1:\(port)", token: token)
            for id in ["by-cli", "by-http"] {
                _ = try await harness.client.start(Order.self, id: id, input: .init(orderId: id, amount: 1))
                _ = try await harness.client.result(of: Order.self, id: id, timeout: .seconds(60))
            }
            _ = try await harness.client.start(Approval.self, id: "open", input: .init(requestId: "r", coolOffMs: 0))

            let deleted = try await harness.roost(["workflow", "delete", "Order", "by-cli"])
            try require(deleted.status == 0 && deleted.output.contains("deleted Order by-cli (completed)"),
                        deleted.output)
            let refused = try await harness.roost(["workflow", "delete", "Approval", "open"])
            try require(refused.status == 1 && refused.output.contains("not_allowed")
                        && refused.output.contains("cancel it first"), refused.output)

            let viaHTTP = try await api.call("DELETE", "/v1/workflows/Order/executions/by-http")
            try require(viaHTTP.status == 200 && viaHTTP.json["deleted"] as? Bool == true
                        && viaHTTP.json["status"] as? String == "completed", viaHTTP.text)
            let again = try await api.call("DELETE", "/v1/workflows/Order/executions/by-http")
            try require(again.status == 404 && again.code == "unknown_execution", again.text)
            let open = try await api.call("DELETE", "/v1/workflows/Approval/executions/open")
            try require(open.status == 409 && open.code == "not_allowed", open.text)
            try require(try await harness.count("""
                SELECT count(*)::int FROM executions WHERE id IN ('by-cli', 'by-http')
                """) == 0, "both deleted")
            try require(try await harness.count("SELECT count(*)::int FROM executions WHERE id = 'open'") == 1,
                        "the unfinished one stays")
        }
    }
}

extension ProcessHarness {
    /// Every row of the executions whose id is like `pattern`, their journals and deferreds, as text.
    fileprivate func rows(of pattern: String) async throws -> [String] {
        var rows: [String] = []
        for try await row in try await storage.client.query("""
            SELECT t FROM (
                SELECT e::text AS t FROM executions e WHERE e.id LIKE \(pattern)
                UNION ALL SELECT j::text FROM journal j JOIN executions e ON e.key = j.execution
                    WHERE e.id LIKE \(pattern)
                UNION ALL SELECT d::text FROM deferreds d JOIN executions e ON e.key = d.execution
                    WHERE e.id LIKE \(pattern)) x
            ORDER BY t
            """).decode(String.self) {
            rows.append(row)
        }
        return rows
    }
}
