import Foundation
import PostgresNIO
import Roost
import RoostClient
import RoostExamples
import RoostPostgres
import RoostTesting

/// Settings that keep a test engine from being rescued by the safety-net poll, so a test proves the path it names.
func noPoll() -> WorkflowEngine.Configuration {
    var configuration = WorkflowEngine.Configuration()
    configuration.pollInterval = .seconds(3600)
    return configuration
}

/// A fresh schema with the examples' table and a `marks` table for test activities.
func withTestStorage<Result: Sendable>(
    configure: (inout StorageConfiguration) -> Void = { _ in },
    _ body: (PostgresStorage) async throws -> Result
) async throws -> Result {
    try await TestDatabase.withStorage(configure: configure) { storage in
        try await Examples.prepare(storage)
        try await storage.client.query("CREATE TABLE marks (execution_id text NOT NULL, step text NOT NULL)")
        return try await body(storage)
    }
}

/// A client-side view of the same schema, as another process has it.
func withClient<Result: Sendable>(
    of storage: PostgresStorage, configure: (inout StorageConfiguration) -> Void = { _ in },
    _ body: (Executions) async throws -> Result
) async throws -> Result {
    try await TestDatabase.withSecondStorage(of: storage, configure: configure) { second in
        let executions = Executions(store: second.store, registry: nil, pollInterval: .milliseconds(200))
        let token = second.store.addNotificationHandler { executions.receive($0) }
        defer { second.store.removeNotificationHandler(token) }
        return try await body(executions)
    }
}

extension PostgresStorage {
    /// Counts rows.
    func count(_ query: PostgresQuery) async throws -> Int {
        for try await count in try await client.query(query).decode(Int.self) { return count }
        return 0
    }

    /// How many times each step's effect was recorded for an execution.
    func effects(_ executionId: String) async throws -> [String: Int] {
        var effects: [String: Int] = [:]
        for try await (step, count) in try await client.query("""
            SELECT step, count(*)::int FROM example_effects WHERE execution_id = \(executionId) GROUP BY step
            """).decode((String, Int).self) {
            effects[step] = count
        }
        return effects
    }
}
