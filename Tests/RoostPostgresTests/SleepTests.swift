import Foundation
import PostgresNIO
import Roost
import RoostExamples
import RoostPostgres
import RoostTesting
import Testing

@Suite("Durable sleeps")
struct SleepTests {
    @Test("each named sleep is its own timer, returns no earlier than its stored due time, and keeps it across a restart")
    func sleepsKeepDueTime() async throws {
        try await withTestStorage { storage in
            let id = "sleeper-\(UUID())"
            let (key, firstDue) = try await withWorkflowEngine(storage: storage, registry: testRegistry()) { engine in
                let events = EngineEvents(engine)
                // A first sleep long enough that the run is still sleeping however slowly the machine writes:
                // 2 s was not, with the whole suite starting at once on two cores.
                let started = try await engine.executions.start(TwoSleeps.self, id: id,
                                                                input: .init(first: 10_000, second: 300))
                try await events.suspended(started.record.key)
                let journal = try await storage.store.journal(key: started.record.key)
                return (started.record.key, try #require(journal.first?.dueAt))
            }
            try await withWorkflowEngine(storage: storage, registry: testRegistry()) { engine in
                let output = try await engine.executions.result(of: TwoSleeps.self, id: id)
                let journal = try await storage.store.journal(key: key)
                let sleeps = journal.filter { $0.kind == .sleep }
                #expect(sleeps.map(\.name) == ["first", "second"])
                #expect(sleeps.allSatisfy { $0.state == .completed })
                #expect(sleeps[0].dueAt == firstDue, "the due time is stored once")
                #expect(output.firstReturned >= firstDue)
                let secondDue = try #require(sleeps[1].dueAt)
                #expect(output.secondReturned >= secondDue)
            }
        }
    }

    @Test("a Reminder fires at or after its due time")
    func reminderFires() async throws {
        try await withTestStorage { storage in
            try await withWorkflowEngine(storage: storage, registry: testRegistry()) { engine in
                _ = try await engine.executions.start(Reminder.self, id: "r", input: .init(delayMs: 200))
                let output = try await engine.executions.result(of: Reminder.self, id: "r")
                #expect(output.firedAt >= output.dueAt)
                #expect(try await storage.effects("r") == ["remind": 1])
            }
        }
    }
}
