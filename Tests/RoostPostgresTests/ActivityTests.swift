import Foundation
import PostgresNIO
import Roost
import RoostExamples
import RoostPostgres
import RoostTesting
import Testing

@Suite("Activities")
struct ActivityTests {
    @Test("an Order runs each activity once, journals it, and commits its SQL with the journal entry")
    func orderRunsOnce() async throws {
        try await withTestStorage { storage in
            try await withWorkflowEngine(storage: storage, registry: testRegistry()) { engine in
                let started = try await engine.executions.start(Order.self, id: "order-1",
                                                                input: .init(orderId: "order-1", amount: 5))
                #expect(started.created)
                let output = try await engine.executions.result(of: Order.self, id: "order-1")
                #expect(output == Order.Output(orderId: "order-1", status: "confirmed"))
                #expect(try await storage.effects("order-1") == ["reserve": 1, "charge": 1, "confirm": 1])
                let journal = try await engine.executions.journal(workflow: "Order", id: "order-1")
                #expect(journal.map(\.name) == ["reserve", "charge", "confirm"])
                #expect(journal.allSatisfy { $0.kind == .activity && $0.state == .completed && $0.attempts == 1 })
            }
        }
    }

    @Test("a failed attempt rolls its SQL back and the retry's attempt number is the next one")
    func retryRollsBack() async throws {
        try await withTestStorage { storage in
            try await withWorkflowEngine(storage: storage, registry: testRegistry()) { engine in
                let id = "flaky-\(UUID())"
                _ = try await engine.executions.start(Flaky.self, id: id, input: .init(failures: 2, attempts: 3))
                let attempt = try await engine.executions.result(of: Flaky.self, id: id)
                #expect(attempt == 3)
                #expect(runs(id) == 3)
                let entry = try #require(try await engine.executions.journal(workflow: "Flaky", id: id).first)
                #expect(entry.state == .completed)
                #expect(entry.attempts == 3)
            }
        }
    }

    @Test("the attempt count and back-off of a retrying activity survive a restart of the engine")
    func attemptsSurviveRestart() async throws {
        try await withTestStorage { storage in
            let id = "flaky-\(UUID())"
            let key = try await withWorkflowEngine(storage: storage, registry: testRegistry()) { engine in
                let events = EngineEvents(engine)
                // A back-off long enough that the run is still waiting for it however slowly the machine writes:
                // 2 s was not, with the whole suite running at once on two cores.
                let input = Flaky.Input(failures: 1, attempts: 5, backoffMs: 10_000)
                let started = try await engine.executions.start(Flaky.self, id: id, input: input)
                try await events.suspended(started.record.key)
                return started.record.key
            }
            let retrying = try #require(try await storage.store.journal(key: key).first)
            #expect(retrying.state == .retrying)
            #expect(retrying.attempts == 1)
            #expect(retrying.error?.message.contains("boom 1") == true)
            try await withWorkflowEngine(storage: storage, registry: testRegistry()) { engine in
                let attempt = try await engine.executions.result(of: Flaky.self, id: id)
                #expect(attempt == 2)
            }
            #expect(runs(id) == 2)
        }
    }

    @Test("an activity that fails its last attempt is journaled and rethrown as ActivityFailure on every replay")
    func finalFailureReplays() async throws {
        try await withTestStorage { storage in
            let id = "doomed-\(UUID())"
            let key = try await withWorkflowEngine(storage: storage, registry: testRegistry()) { engine in
                let events = EngineEvents(engine)
                let started = try await engine.executions.start(CatchFailure.self, id: id, input: 7)
                try await events.suspended(started.record.key)
                return started.record.key
            }
            let failed = try #require(try await storage.store.journal(key: key).first)
            #expect(failed.state == .failed)
            #expect(failed.attempts == 2)
            #expect(runs(id) == 2)
            try await withWorkflowEngine(storage: storage, registry: testRegistry()) { engine in
                _ = try await engine.executions.resolve(CatchFailure.go, of: CatchFailure.self, id: id, value: true)
                let output = try await engine.executions.result(of: CatchFailure.self, id: id)
                #expect(output.activity == "doomed")
                #expect(output.attempts == 2)
                #expect(output.message.contains("boom 7"))
            }
            #expect(runs(id) == 2, "the replay must not run the failed activity's body again")
        }
    }
}
