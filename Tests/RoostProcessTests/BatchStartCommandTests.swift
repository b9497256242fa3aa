import Foundation
import PostgresNIO
import Roost
import RoostClient
import RoostExamples
import RoostTesting
import Testing

@Suite("roost workflow start --batch")
struct BatchStartCommandTests {
    @Test("a file of JSON lines starts every good line with one statement, reports each bad line by number and exits 1")
    func batchFromFile() async throws {
        try await withProcesses { harness in
            let runner = try await harness.startRunner("batch")
            try await runner.waitForLine(containing: "shards acquired")
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("batch-\(UUID()).jsonl")
            defer { try? FileManager.default.removeItem(at: file) }
            try Data("""
                {"id": "b-1", "input": {"orderId": "b-1", "amount": 1}}
                {"id": "b-2", "input": {"orderId": "b-2", "amount": 2}}
                {"id": "b-3", "input": {"orderId": "b-3", "amount": 3}
                {"id": "b-4", "input": {"orderId": "b-4", "amount": "four"}}

                {"id": "b-1", "input": {"orderId": "b-1", "amount": 1}}
                {"id": "b-5", "input": {"orderId": "b-5", "amount": 5}}
                """.utf8).write(to: file)
            let started = try await harness.roost(["workflow", "start", "Order", "--batch", file.path])
            try require(started.status == 1, started.output)
            try require(started.output.contains("started 3, already there 1, refused 2"), started.output)
            try require(started.output.contains("line 3: invalid_payload")
                        && started.output.contains("line 4: invalid_payload"), started.output)
            for id in ["b-1", "b-2", "b-5"] {
                let output = try await harness.client.result(of: Order.self, id: id, timeout: .seconds(60))
                try require(output.status == "confirmed", "\(id) confirmed")
            }
            let stored = try await harness.count("SELECT count(*)::int FROM executions WHERE id LIKE 'b-%'")
            try require(stored == 3, "only the good lines were stored: \(stored)")
        }
    }
}
