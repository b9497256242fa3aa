import Foundation
import PostgresNIO
import Roost
import RoostClient
import RoostExamples
import RoostPostgres
import RoostTesting
import Testing

@Suite("PostgreSQL restart under a runner process")
struct PostgresRestartTests {
    @Test("a PostgreSQL restart mid-flight loses no execution and repeats no effect")
    func restart() async throws {
        let server = try await ThrowawayPostgres.start()
        do {
            let configuration = try StorageConfiguration(url: server.url, schema: "restart")
            try await withPostgresStorage(configuration, logger: TestDatabase.logger) { storage in
                try await Examples.prepare(storage)
            }
            let runner = try RunnerProcess(name: "runner-1", environment: [
                "ROOST_DATABASE_URL": server.url, "ROOST_SCHEMA": "restart", "ROOST_LOG_LEVEL": "debug",
                "ROOST_POLL_INTERVAL_MS": "250", "ROOST_CLUSTER_INSECURE": "on",
            ])
            defer { runner.signal(SIGKILL) }
            try await runner.waitForLine(containing: "workflow engine started")
            let pipelines = (0..<30).map { "pipeline-\($0)" }
            let approvals = (0..<20).map { "approval-\($0)" }
            try await withRoostClient(configuration, logger: TestDatabase.logger) { client in
                for id in pipelines {
                    _ = try await client.start(Pipeline.self, id: id, input: .init(steps: 3, sleepMs: 600))
                }
                for id in approvals {
                    _ = try await client.start(Approval.self, id: id, input: .init(requestId: id, coolOffMs: 200))
                }
            }
            try await runner.waitForLine(containing: "roost.workflow=Approval [Roost] execution suspended",
                                         count: approvals.count)
            try await server.restart()
            do {
                try await verify(configuration, pipelines: pipelines, approvals: approvals, runner: runner)
            } catch {
                print("----- runner-1 -----\n\(runner.output)")
                throw error
            }
            await runner.kill9()
            try await server.destroy()
        } catch {
            try? await server.destroy()
            throw error
        }
    }

    private func verify(_ configuration: StorageConfiguration, pipelines: [String], approvals: [String],
                        runner: RunnerProcess) async throws {
            try await withRoostClient(configuration, logger: TestDatabase.logger) { client in
                for id in approvals {
                    try await client.resolve(Approval.decision, of: Approval.self, id: id,
                                             value: .init(approved: true, by: "after-restart"))
                }
                for id in pipelines {
                    let output = try await client.result(of: Pipeline.self, id: id, timeout: .seconds(60))
                    try require(output.steps == 3, "\(id) completed:\n\(runner.output)")
                }
                for id in approvals {
                    let decision = try await client.result(of: Approval.self, id: id, timeout: .seconds(60))
                    try require(decision.by == "after-restart", "\(id) completed")
                }
            }
            try await withPostgresStorage(configuration, logger: TestDatabase.logger, migrate: false) { storage in
                let duplicates = try await storage.client.query("""
                    SELECT count(*)::int FROM (SELECT execution_id, step FROM restart.example_effects
                    GROUP BY execution_id, step HAVING count(*) > 1) d
                    """).decode(Int.self).reduce(0, +)
                let effects = try await storage.client.query(
                    "SELECT count(*)::int FROM restart.example_effects").decode(Int.self).reduce(0, +)
                #expect(duplicates == 0)
                #expect(effects == pipelines.count * 3 + approvals.count * 2)
            }
    }
}
