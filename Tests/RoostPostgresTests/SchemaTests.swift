import Foundation
import PostgresNIO
import Roost
import RoostClient
import RoostExamples
import RoostPostgres
import RoostTesting
import Testing

@Suite("Schema and migrations")
struct SchemaTests {
    @Test("processes migrating at once apply each migration exactly once")
    func concurrentMigrations() async throws {
        let configuration = try TestDatabase.configuration(prefix: "migrate")
        try await withThrowingTaskGroup(of: [Int].self) { group in
            for _ in 0..<8 {
                group.addTask {
                    try await withPostgresStorage(configuration, logger: TestDatabase.logger, migrate: false) {
                        try await $0.migrate()
                    }
                }
            }
            var applied: [Int] = []
            for try await versions in group { applied += versions }
            #expect(applied.sorted() == Migrations.all.map(\.version))
        }
        try await withPostgresStorage(configuration, logger: TestDatabase.logger) { storage in
            #expect(try await storage.count("SELECT count(*)::int FROM schema_migrations") == Migrations.all.count)
            try await TestDatabase.drop(storage)
        }
    }

    @Test("with a non-default schema, the whole path leaves no table or row in public")
    func nothingInPublic() async throws {
        try await TestDatabase.withStorage(prefix: "isolated") { storage in
            let before = try await publicObjects(storage)
            try await Examples.prepare(storage)
            try await withWorkflowEngine(storage: storage, registry: Examples.registry) { engine in
                let events = EngineEvents(engine)
                _ = try await engine.executions.start(Order.self, id: "o", input: .init(orderId: "o", amount: 1))
                let approval = try await engine.executions.start(Approval.self, id: "a",
                                                                 input: .init(requestId: "a", coolOffMs: 10))
                try await events.suspended(approval.record.key)
                try await withRoostClient(storage.configuration, registry: Examples.registry,
                                          logger: TestDatabase.logger) { client in
                    try await client.resolve(Approval.decision, of: Approval.self, id: "a",
                                             value: .init(approved: true, by: "ada"))
                    _ = try await client.cancel(workflow: "Order", id: "o")
                }
                _ = try await engine.executions.result(of: Approval.self, id: "a")
                _ = try await engine.executions.start(Pipeline.self, id: "p", input: .init(steps: 1, sleepMs: 1))
                _ = try await engine.executions.result(of: Pipeline.self, id: "p")
            }
            #expect(try await storage.count("SELECT count(*)::int FROM example_effects") >= 4)
            #expect(try await publicObjects(storage) == before)
        }
    }

    /// Every relation in `public`, with the row count of each table (the server is shared with other tests and
    /// tools, so the test compares before and after rather than expecting `public` empty).
    private func publicObjects(_ storage: PostgresStorage) async throws -> [String: Int] {
        var objects: [String: Int] = [:]
        for try await (name, kind) in try await storage.client.query("""
            SELECT c.relname, c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public'
            """).decode((String, String).self) {
            objects[name] = -1
            if kind == "r" {
                objects[name] = try await storage.count(PostgresQuery(
                    unsafeSQL: "SELECT count(*)::int FROM public.\"\(name.replacingOccurrences(of: "\"", with: "\"\""))\""))
            }
        }
        return objects
    }
}
