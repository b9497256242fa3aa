import Foundation
import PostgresNIO
import Roost
import RoostPostgres
import RoostTesting
import Testing

@Suite("Due times on the database's clock")
struct DatabaseClockTests {
    /// Engine settings for a runner whose own clock is `skew` off.
    private func skewed(by skew: TimeInterval) -> WorkflowEngine.Configuration {
        var configuration = noPoll()
        configuration.clock = { Date().addingTimeInterval(skew) }
        return configuration
    }

    @Test("a sleep's due time comes from the database's clock, not from a runner's clock ten minutes ahead",
          .timeLimit(.minutes(2)))
    func dueTimeFromTheDatabase() async throws {
        try await withTestStorage { storage in
            let engine = WorkflowEngine(store: storage.store, registry: testRegistry(), configuration: skewed(by: 600),
                                        logger: TestDatabase.logger)
            let events = EngineEvents(engine)
            try await withRunningEngine(engine) { engine in
                let started = try await engine.executions.start(TwoSleeps.self, id: "skewed-\(UUID())",
                                                                input: .init(first: 60_000, second: 0))
                try await events.suspended(started.record.key)
                let ahead = try await storage.client.query("""
                    SELECT extract(epoch FROM due_at - now())::float8 FROM journal
                    WHERE execution = \(started.record.key) AND name = 'first'
                    """).collect().first?.decode(Double.self)
                let seconds = try #require(ahead)
                #expect(seconds > 0 && seconds <= 60, "the sleep is due \(seconds) s from the database's now")
            }
        }
    }

    @Test("after a failover to a runner whose clock is ten minutes ahead, a sleep still fires no earlier than its stored due time",
          .timeLimit(.minutes(2)))
    func noEarlySleepAfterFailover() async throws {
        try await withTestStorage { storage in
            let id = "failover-\(UUID())"
            let key = try await withWorkflowEngine(storage: storage, registry: testRegistry(),
                                                   configuration: noPoll()) { engine in
                let events = EngineEvents(engine)
                // Long enough that the sleep is still ahead once its write is stored, however loaded the machine: at
                // 3 s, a suite run once stored it after its due time, and the run went on without suspending.
                let started = try await engine.executions.start(TwoSleeps.self, id: id,
                                                                input: .init(first: 8_000, second: 0))
                try await events.suspended(started.record.key)
                return started.record.key
            }
            try await withWorkflowEngine(storage: storage, registry: testRegistry(),
                                         configuration: skewed(by: 600)) { engine in
                let record = try await engine.executions.result(workflow: "TwoSleeps", id: id, timeout: .seconds(60))
                #expect(record.status == .completed)
            }
            let early = try await storage.count("""
                SELECT count(*)::int FROM journal
                WHERE execution = \(key) AND name = 'first' AND state = 'completed' AND updated_at < due_at
                """)
            let fired = try await storage.count("""
                SELECT count(*)::int FROM journal WHERE execution = \(key) AND name = 'first' AND state = 'completed'
                """)
            #expect(fired == 1)
            #expect(early == 0, "the sleep fired before its due time by the database's clock")
        }
    }
}
