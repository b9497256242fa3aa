import Foundation
import PostgresNIO
import Roost
import RoostExamples
import RoostPostgres
import RoostTesting
import Testing

@Suite("Retry and replay")
struct RetryReplayTests {
    @Test("a retry keeps the journal and runs only the failed activity again, from a client in another process")
    func retryFromPointOfFailure() async throws {
        try await withTestStorage { storage in
            try await withWorkflowEngine(storage: storage, registry: testRegistry(), configuration: noPoll()) { engine in
                let id = "retry-\(UUID())"
                _ = try await engine.executions.start(PayThenShip.self, id: id, input: .init(failures: 1))
                let failed = try await engine.executions.result(workflow: "PayThenShip", id: id, timeout: nil)
                try #require(failed.status == .failed)
                try await withClient(of: storage) { client in
                    let outcome = try await client.retry(workflow: "PayThenShip", id: id)
                    #expect(outcome.retried && outcome.status == .pending)
                }
                let output = try await engine.executions.result(of: PayThenShip.self, id: id)
                #expect(output == 2)
                #expect(runs(id + "/pay") == 1)
                #expect(runs(id + "/ship") == 2)
                let journal = try await engine.executions.journal(workflow: "PayThenShip", id: id)
                #expect(journal.map(\.name) == ["pay", "ship"])
                #expect(journal.allSatisfy { $0.state == .completed })
                #expect(journal.last?.attempts == 1)
            }
        }
    }

    @Test("of concurrent retries exactly one retries; retrying an execution that is not failed changes nothing")
    func retryRaces() async throws {
        try await withTestStorage { storage in
            try await withWorkflowEngine(storage: storage, registry: testRegistry()) { engine in
                let id = "race-\(UUID())"
                _ = try await engine.executions.start(PayThenShip.self, id: id, input: .init(failures: 1))
                _ = try await engine.executions.result(workflow: "PayThenShip", id: id, timeout: nil)
                let outcomes = try await withThrowingTaskGroup(of: RetryOutcome.self) { group in
                    for _ in 0..<8 { group.addTask { try await engine.executions.retry(workflow: "PayThenShip", id: id) } }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(outcomes.filter(\.retried).count == 1)
                #expect(outcomes.filter { !$0.retried }.allSatisfy { $0.status != .failed })
                _ = try await engine.executions.result(of: PayThenShip.self, id: id)
                let finished = try await engine.executions.retry(workflow: "PayThenShip", id: id)
                #expect(!finished.retried && finished.status == .completed)
                let unknown = await #expect(throws: WorkflowError.self) {
                    try await engine.executions.retry(workflow: "PayThenShip", id: "nope")
                }
                #expect(unknown?.code == .unknownExecution)
            }
        }
    }

    @Test("a replay runs a finished execution again as a new one with the stored input; unfinished ones are refused")
    func replay() async throws {
        try await withTestStorage { storage in
            try await withWorkflowEngine(storage: storage, registry: testRegistry()) { engine in
                let input = Order.Input(orderId: "o-ü'; DROP TABLE executions;--", amount: 12)
                _ = try await engine.executions.start(Order.self, id: "source", input: input)
                _ = try await engine.executions.result(of: Order.self, id: "source")
                let replayed = try await engine.executions.replay(workflow: "Order", id: "source", as: "copy")
                #expect(replayed.created)
                let output = try await engine.executions.result(of: Order.self, id: "copy")
                #expect(output.orderId == input.orderId)
                let source = try await engine.executions.status(workflow: "Order", id: "source")
                let copy = try await engine.executions.status(workflow: "Order", id: "copy")
                #expect(copy.input == source.input)
                #expect(try await storage.effects("copy") == ["reserve": 1, "charge": 1, "confirm": 1])

                let again = try await engine.executions.replay(workflow: "Order", id: "source", as: "copy")
                #expect(!again.created && again.record.key == copy.key)
                _ = try await engine.executions.start(Order.self, id: "other", input: .init(orderId: "x", amount: 1))
                let taken = await #expect(throws: WorkflowError.self) {
                    try await engine.executions.replay(workflow: "Order", id: "source", as: "other")
                }
                #expect(taken?.code == .conflict)

                // Concurrent replays with one new id make one execution.
                let racing = try await withThrowingTaskGroup(of: Bool.self) { group in
                    for _ in 0..<8 {
                        group.addTask {
                            try await engine.executions.replay(workflow: "Order", id: "source", as: "raced").created
                        }
                    }
                    return try await group.reduce(into: [Bool]()) { $0.append($1) }
                }
                #expect(racing.filter { $0 }.count == 1)
                #expect(try await storage.count("SELECT count(*)::int FROM executions WHERE id = 'raced'") == 1)

                _ = try await engine.executions.start(Reminder.self, id: "sleeping", input: .init(delayMs: 600_000))
                let unfinished = await #expect(throws: WorkflowError.self) {
                    try await engine.executions.replay(workflow: "Reminder", id: "sleeping", as: "sleeping-2")
                }
                #expect(unfinished?.code == .notAllowed)
                #expect(try await storage.count("SELECT count(*)::int FROM executions WHERE id = 'sleeping-2'") == 0)
            }
        }
    }
}
