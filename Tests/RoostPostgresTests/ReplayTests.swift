import Foundation
import PostgresNIO
import Roost
import RoostPostgres
import RoostTesting
import Testing

@Suite("Replay")
struct ReplayTests {
    @Test("now, uuid and random are journaled and a replay returns the recorded values")
    func deterministicValues() async throws {
        try await withTestStorage { storage in
            let id = "det-\(UUID())"
            let key = try await withWorkflowEngine(storage: storage, registry: testRegistry()) { engine in
                let events = EngineEvents(engine)
                let started = try await engine.executions.start(Deterministic.self, id: id, input: 0)
                try await events.suspended(started.record.key)
                return started.record.key
            }
            let recorded = try await storage.store.journal(key: key)
            #expect(recorded.map(\.kind) == [.now, .uuid, .random, .deferred])
            try await withWorkflowEngine(storage: storage, registry: testRegistry()) { engine in
                _ = try await engine.executions.resolve(Deterministic.go, of: Deterministic.self, id: id, value: true)
                let output = try await engine.executions.result(of: Deterministic.self, id: id)
                let coder = PayloadCoder()
                #expect(output.now == (try coder.decode(Date.self, from: recorded[0].result!, what: "now")))
                #expect(output.uuid == (try coder.decode(UUID.self, from: recorded[1].result!, what: "uuid")))
                #expect(output.random == (try coder.decode(Int.self, from: recorded[2].result!, what: "random")))
            }
        }
    }

    @Test("a replay that makes a different durable call fails the execution with a non-determinism error naming both",
          .timeLimit(.minutes(2)))
    func nonDeterminism() async throws {
        try await withTestStorage { storage in
            let id = "diverge-\(UUID())"
            try await withWorkflowEngine(storage: storage, registry: testRegistry()) { engine in
                let events = EngineEvents(engine)
                let started = try await engine.executions.start(DivergeV1.self, id: id, input: 0)
                try await events.suspended(started.record.key)
            }
            var changed = WorkflowRegistry()
            changed.register(DivergeV2())
            try await withWorkflowEngine(storage: storage, registry: changed) { engine in
                // A waiting execution stays in the database at start-up: the resolve that wakes it replays it.
                _ = try await engine.executions.resolve(workflow: "Diverge", id: id, deferred: "go", value: "1")
                let record = try await engine.executions.result(workflow: "Diverge", id: id, timeout: nil)
                #expect(record.status == .failed)
                #expect(record.error?.code == "non_determinism")
                #expect(record.error?.message.contains("activity 'one'") == true)
                #expect(record.error?.message.contains("activity 'two'") == true)
            }
        }
    }
}
