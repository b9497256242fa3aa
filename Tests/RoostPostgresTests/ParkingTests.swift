import Foundation
import PostgresNIO
import Roost
import RoostPostgres
import RoostTesting
import Testing

@Suite("Parked runs")
struct ParkingTests {
    private func parking() -> WorkflowEngine.Configuration {
        var configuration = noPoll()
        configuration.parkAfter = .milliseconds(100)
        return configuration
    }

    @Test("a run waiting on a deferred is parked and leaves nothing in memory; a resolve replays it without counting an attempt")
    func resolveResumesParked() async throws {
        try await withTestStorage { storage in
            let engine = WorkflowEngine(store: storage.store, registry: testRegistry(), configuration: parking(),
                                        logger: TestDatabase.logger)
            let events = EngineEvents(engine)
            try await withRunningEngine(engine) { engine in
                let key = try await engine.executions.start(AwaitValue.self, id: "parked", input: 0).record.key
                try await events.first { $0 == .parked(key) }
                #expect(engine.hostedCount == 0)
                #expect(engine.parkedCount == 0, "a wait with no due time keeps nothing in memory")
                _ = try await engine.executions.resolve(AwaitValue.value, of: AwaitValue.self, id: "parked", value: 8)
                #expect(try await engine.executions.result(of: AwaitValue.self, id: "parked") == 8)
                #expect(engine.parkedCount == 0)
                #expect(try await engine.executions.status(workflow: "AwaitValue", id: "parked").attempt == 1)
            }
        }
    }

    @Test("a resolve from another process wakes a parked run through NOTIFY")
    func notifyResumesParked() async throws {
        try await withTestStorage { storage in
            let engine = WorkflowEngine(store: storage.store, registry: testRegistry(), configuration: parking(),
                                        logger: TestDatabase.logger)
            let events = EngineEvents(engine)
            try await withRunningEngine(engine) { engine in
                let key = try await engine.executions.start(AwaitValue.self, id: "far", input: 0).record.key
                try await events.first { $0 == .parked(key) }
                try await withClient(of: storage) { client in
                    _ = try await client.resolve(AwaitValue.value, of: AwaitValue.self, id: "far", value: 4)
                }
                #expect(try await engine.executions.result(of: AwaitValue.self, id: "far") == 4)
            }
        }
    }

    @Test("a parked sleeper is resumed before its due time and never returns early")
    func parkedSleeperWakesOnTime() async throws {
        try await withTestStorage { storage in
            let engine = WorkflowEngine(store: storage.store, registry: testRegistry(), configuration: parking(),
                                        logger: TestDatabase.logger)
            let events = EngineEvents(engine)
            try await withRunningEngine(engine) { engine in
                // Long enough that the run parks (it stays in memory when due within two park intervals) however
                // slowly a loaded machine writes the sleep: 3 s was not, with the whole suite running.
                let key = try await engine.executions.start(TwoSleeps.self, id: "nap",
                                                            input: .init(first: 10_000, second: 10)).record.key
                try await events.first { $0 == .parked(key) }
                let output = try await engine.executions.result(of: TwoSleeps.self, id: "nap")
                let due = try #require(try await storage.store.journal(key: key).first?.dueAt)
                #expect(output.firstReturned >= due)
                #expect(try await engine.executions.status(workflow: "TwoSleeps", id: "nap").attempt == 1)
            }
        }
    }

    @Test("cancelling a parked execution needs no run to wake")
    func cancelParked() async throws {
        try await withTestStorage { storage in
            let engine = WorkflowEngine(store: storage.store, registry: testRegistry(), configuration: parking(),
                                        logger: TestDatabase.logger)
            let events = EngineEvents(engine)
            try await withRunningEngine(engine) { engine in
                let key = try await engine.executions.start(CancelMe.self, id: "zzz", input: 1).record.key
                try await events.first { $0 == .parked(key) }
                let outcome = try await engine.executions.cancel(workflow: "CancelMe", id: "zzz")
                #expect(outcome.cancelled)
                let record = try await engine.executions.result(workflow: "CancelMe", id: "zzz", timeout: nil)
                #expect(record.status == .cancelled)
                #expect(try await storage.count("SELECT count(*)::int FROM marks WHERE step = 'after'") == 0)
            }
        }
    }
}
