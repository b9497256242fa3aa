import Foundation
import PostgresNIO
import Roost
import RoostPostgres
import RoostTesting
import Testing

/// A waiting execution's next due time is stored on its row with the journal entry that begins the wait, so that due
/// work can be found by an index range, without replaying anything to learn when it is due.
@Suite("Due times on the execution's row")
struct DueTimeTests {
    @Test("a sleeping execution's row holds its sleep's due time, read again unchanged by another process")
    func sleepDueTimeOnRow() async throws {
        try await withTestStorage { storage in
            let (key, journalDue) = try await withWorkflowEngine(storage: storage, registry: testRegistry(),
                                                                 configuration: noPoll()) { engine in
                let events = EngineEvents(engine)
                let started = try await engine.executions.start(TwoSleeps.self, id: "nap",
                                                                input: .init(first: 3_600_000, second: 10))
                try await events.suspended(started.record.key)
                let due = try #require(try await storage.store.journal(key: started.record.key).first?.dueAt)
                return (started.record.key, due)
            }
            let (rowDue, status) = try await TestDatabase.withSecondStorage(of: storage) { second in
                (try await dueAt(key, in: second), try await second.store.execution(key: key)?.status)
            }
            #expect(rowDue == journalDue)
            #expect(status == .waiting)
        }
    }

    @Test("a deferred wait with a timeout stores its deadline on the row, one without a timeout stores none")
    func deferredDeadlineOnRow() async throws {
        try await withTestStorage { storage in
            try await withWorkflowEngine(storage: storage, registry: testRegistry(), configuration: noPoll()) { engine in
                let events = EngineEvents(engine)
                let timed = try await engine.executions.start(AwaitWithTimeout.self, id: "timed",
                                                              input: 3_600_000).record.key
                let untimed = try await engine.executions.start(AwaitValue.self, id: "untimed", input: 0).record.key
                try await events.suspended(timed)
                try await events.suspended(untimed)
                let deadline = try #require(try await storage.store.journal(key: timed).first?.dueAt)
                #expect(try await dueAt(timed, in: storage) == deadline)
                #expect(try await dueAt(untimed, in: storage) == nil)
                #expect(try await storage.count("""
                    SELECT count(*)::int FROM executions WHERE key IN (\(timed), \(untimed)) AND status = 'waiting'
                    """) == 2)
            }
        }
    }

    @Test("an activity's back-off stores its next attempt's due time, and the attempt that runs clears it")
    func backoffDueTimeOnRow() async throws {
        try await withTestStorage { storage in
            try await withWorkflowEngine(storage: storage, registry: testRegistry(), configuration: noPoll()) { engine in
                let events = EngineEvents(engine)
                let waiting = try await engine.executions.start(
                    Flaky.self, id: "backing-off", input: .init(failures: 1, attempts: 2, backoffMs: 3_600_000)
                ).record.key
                try await events.suspended(waiting)
                let retry = try #require(try await storage.store.journal(key: waiting).first)
                #expect(retry.state == .retrying)
                #expect(try await dueAt(waiting, in: storage) == retry.dueAt)

                let retried = try await engine.executions.start(
                    Flaky.self, id: "retried", input: .init(failures: 1, attempts: 2, backoffMs: 5)
                ).record.key
                #expect(try await engine.executions.result(of: Flaky.self, id: "retried") == 2)
                #expect(try await dueAt(retried, in: storage) == nil)
            }
        }
    }

    /// The execution's stored due time.
    private func dueAt(_ key: ExecutionKey, in storage: PostgresStorage) async throws -> Date? {
        for try await due in try await storage.client.query("SELECT due_at FROM executions WHERE key = \(key)")
            .decode(Date?.self) {
            return due
        }
        Issue.record("no execution \(key)")
        return nil
    }
}
