import PostgresNIO
@testable import RoostCLI
import RoostExamples
import RoostPostgres
import RoostTesting
import Testing

/// The engine bench's database-only run: pgbench replaying `Order`'s statements as the engine prepares them.
@Suite("Order's statements through pgbench, without the engine")
struct DatabaseOnlyOrderTests {
    @Test("every Order pgbench runs completes, with each activity's effect once and a journal entry per activity")
    func ordersComplete() async throws {
        try await TestDatabase.withStorage { storage in
            try await Examples.prepare(storage)
            let clients = 2
            let ordersPerClient = 20
            let rate = try await CommitCeiling.measureOrders(storage.configuration, clients: clients,
                                                              ordersPerClient: ordersPerClient).get()
            #expect(rate > 0)

            let orders = clients * ordersPerClient
            let completed = "SELECT count(*)::int FROM executions WHERE status = 'completed'"
            #expect(try await count(storage, completed) == orders)
            #expect(try await count(storage, "SELECT count(*)::int FROM executions WHERE status <> 'completed'") == 0)
            #expect(try await count(storage, """
                SELECT count(*)::int FROM executions e
                WHERE e.output = '{"orderId": "order-db", "status": "confirmed"}'::jsonb
                """) == orders)
            #expect(try await count(storage, """
                SELECT count(DISTINCT (execution_id, step))::int FROM example_effects
                """) == orders * 3)
            #expect(try await count(storage, "SELECT count(*)::int FROM example_effects") == orders * 3)
            #expect(try await count(storage, """
                SELECT count(*)::int FROM journal WHERE kind = 'activity' AND state = 'completed'
                """) == orders * 3)
        }
    }

    private func count(_ storage: PostgresStorage, _ sql: String) async throws -> Int {
        for try await value in try await storage.client.query(PostgresQuery(unsafeSQL: sql)).decode(Int.self) {
            return value
        }
        return 0
    }
}
