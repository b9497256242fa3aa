import Foundation
import PostgresNIO
import Roost
import RoostPostgres
import RoostTesting
import Testing

@Suite("Retention and deletion of finished executions")
struct RetentionTests {
    @Test("""
        maintenance deletes finished executions past their workflow's retention with their journals and deferreds, \
        batch after batch, and leaves every row of an unfinished execution as it was
        """, .timeLimit(.minutes(2)))
    func retentionDeletesOnlyWhatFinished() async throws {
        try await withTestStorage { storage in
            // Runs that never park: a waiting execution's rows change only if something outside changes them.
            var settings = noPoll()
            settings.parkAfter = nil
            let engine = WorkflowEngine(store: storage.store, registry: testRegistry(), configuration: settings,
                                        logger: TestDatabase.logger)
            let events = EngineEvents(engine)
            try await withRunningEngine(engine) { engine in
                let executions = engine.executions
                for index in 0..<3 {
                    _ = try await executions.start(AwaitValue.self, id: "done-\(index)", input: index)
                    _ = try await executions.resolve(AwaitValue.value, of: AwaitValue.self, id: "done-\(index)",
                                                 value: index)
                    _ = try await executions.result(of: AwaitValue.self, id: "done-\(index)", timeout: .seconds(60))
                }
                _ = try await executions.start(AwaitValue.self, id: "cancelled", input: 0)
                _ = try await executions.cancel(workflow: "AwaitValue", id: "cancelled")
                for index in 0..<2 {
                    let key = try await executions.start(AwaitValue.self, id: "waiting-\(index)", input: index)
                        .record.key
                    try await events.first { $0 == .suspended(key) }
                    _ = try await executions.resolve(workflow: "AwaitValue", id: "waiting-\(index)",
                                                     deferred: "unrelated", value: "1")
                }
                let unfinished = try await storage.rowsOf(ids: ["waiting-0", "waiting-1"])
                let finishedKeys = try await ["done-0", "done-1", "done-2", "cancelled"].asyncMap {
                    try await executions.status(workflow: "AwaitValue", id: $0).key
                }
                #expect(try await storage.count("SELECT count(*)::int FROM deferreds") == 5)

                var configuration = Maintenance.Configuration()
                configuration.retention = .seconds(3_600)
                configuration.batchSize = 2
                let keepAll = Maintenance(executions: storage.store, messages: storage.messages,
                                          cluster: storage.cluster, retentions: [:], configuration: configuration,
                                          logger: TestDatabase.logger)
                #expect(try await keepAll.round().executions.isEmpty, "nothing finished an hour ago")

                let short = Maintenance(executions: storage.store, messages: storage.messages,
                                        cluster: storage.cluster, retentions: ["AwaitValue": .zero],
                                        configuration: configuration, logger: TestDatabase.logger)
                #expect(try await short.round().executions == ["AwaitValue": 4])
                #expect(try await storage.count("""
                    SELECT count(*)::int FROM journal WHERE execution = ANY(\(finishedKeys))
                    """) == 0)
                #expect(try await storage.count("""
                    SELECT count(*)::int FROM deferreds WHERE execution = ANY(\(finishedKeys))
                    """) == 0)
                #expect(try await storage.rowsOf(ids: ["waiting-0", "waiting-1"]) == unfinished,
                        "the unfinished executions, their journals and deferreds are untouched")
                await #expect(throws: WorkflowError.self) {
                    _ = try await executions.status(workflow: "AwaitValue", id: "done-0")
                }
                #expect(try await executions.start(AwaitValue.self, id: "done-0", input: 9).created,
                        "a deleted execution's id starts a new one")
            }
        }
    }

    @Test("""
        deleting an execution on demand removes a finished one with its journal and deferreds, refuses an \
        unfinished one, and says when there is none
        """)
    func deleteOnDemand() async throws {
        try await withTestStorage { storage in
            let engine = WorkflowEngine(store: storage.store, registry: testRegistry(), configuration: noPoll(),
                                        logger: TestDatabase.logger)
            try await withRunningEngine(engine) { engine in
                let executions = engine.executions
                _ = try await executions.start(AwaitValue.self, id: "finished", input: 1)
                _ = try await executions.resolve(AwaitValue.value, of: AwaitValue.self, id: "finished", value: 1)
                let key = try await executions.result(workflow: "AwaitValue", id: "finished", timeout: .seconds(60)).key
                _ = try await executions.start(AwaitValue.self, id: "waiting", input: 1)

                let refused = await #expect(throws: WorkflowError.self) {
                    _ = try await executions.delete(workflow: "AwaitValue", id: "waiting")
                }
                #expect(refused?.code == .notAllowed)
                #expect(refused?.message.contains("cancel it first") == true)
                #expect(try await executions.status(workflow: "AwaitValue", id: "waiting").status != .completed)

                let outcome = try await executions.delete(workflow: "AwaitValue", id: "finished")
                #expect(outcome == DeleteOutcome(deleted: true, status: .completed))
                #expect(try await storage.count("SELECT count(*)::int FROM journal WHERE execution = \(key)") == 0)
                #expect(try await storage.count("SELECT count(*)::int FROM deferreds WHERE execution = \(key)") == 0)
                let again = await #expect(throws: WorkflowError.self) {
                    _ = try await executions.delete(workflow: "AwaitValue", id: "finished")
                }
                #expect(again?.code == .unknownExecution)
            }
        }
    }

    @Test("maintenance forgets old lease history and dead runners' registrations, never a live runner's")
    func historyRetention() async throws {
        try await TestDatabase.withStorage { (storage: PostgresStorage) async throws in
            let settings = try await storage.cluster.settings(proposing: ClusterSettings())
            let gone = UUID()
            _ = try await storage.cluster.register(address: "127.0.0.1:7001", incarnation: gone, leaseTTL: .seconds(60))
            _ = try await storage.cluster.acquire(Array(settings.allShards.prefix(2)), incarnation: gone)
            try await storage.cluster.deregister(incarnation: gone)
            let live = UUID()
            _ = try await storage.cluster.register(address: "127.0.0.1:7002", incarnation: live, leaseTTL: .seconds(60))

            #expect(try await storage.cluster.forgetHistory(olderThan: .seconds(3_600), limit: 10) == 0)
            #expect(try await storage.cluster.forgetHistory(olderThan: .zero, limit: 10) == 3,
                    "two acquisitions and the runner that left")
            #expect(try await storage.cluster.status().runners.map(\.address) == ["127.0.0.1:7002"])
        }
    }
}

extension PostgresStorage {
    /// Every row of the executions with these ids, their journals and their deferreds, as text.
    fileprivate func rowsOf(ids: [String]) async throws -> [String] {
        var rows: [String] = []
        for try await row in try await client.query("""
            SELECT t::text FROM (
                SELECT e::text AS t, e.id AS id FROM executions e WHERE e.id = ANY(\(ids))
                UNION ALL SELECT j::text, e.id FROM journal j JOIN executions e ON e.key = j.execution
                    WHERE e.id = ANY(\(ids))
                UNION ALL SELECT d::text, e.id FROM deferreds d JOIN executions e ON e.key = d.execution
                    WHERE e.id = ANY(\(ids))) x
            ORDER BY id, t
            """).decode(String.self) {
            rows.append(row)
        }
        return rows
    }
}

extension Array {
    fileprivate func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
