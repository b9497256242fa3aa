import Foundation
import PostgresNIO
import Roost
import RoostExamples
import RoostPostgres
import RoostTesting
import Testing

@Suite("Wake-ups")
struct WakeUpTests {
    @Test("no lost wake-ups: 2,000 resolves land at random moments around the await, in and across processes")
    func lostWakeUpRace() async throws {
        let count = 2_000
        try await withTestStorage(configure: { $0.maximumConnections = 40 }) { storage in
            try await withWorkflowEngine(storage: storage, registry: testRegistry(), configuration: noPoll()) { engine in
                try await withClient(of: storage) { client in
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for index in 0..<count {
                            group.addTask {
                                let id = "race-\(index)"
                                _ = try await engine.executions.start(AwaitValue.self, id: id, input: 0)
                                for _ in 0..<Int.random(in: 0...64) { await Task.yield() }
                                if index.isMultiple(of: 2) {
                                    _ = try await engine.executions.resolve(AwaitValue.value, of: AwaitValue.self,
                                                                            id: id, value: index)
                                } else {
                                    _ = try await client.resolve(AwaitValue.value, of: AwaitValue.self,
                                                                 id: id, value: index)
                                }
                            }
                            if index.isMultiple(of: 100) { try await group.next() }
                        }
                        try await group.waitForAll()
                    }
                }
                for index in 0..<count {
                    let value = try await engine.executions.result(of: AwaitValue.self, id: "race-\(index)",
                                                                   timeout: .seconds(60))
                    #expect(value == index)
                }
                #expect(try await storage.count(
                    "SELECT count(*)::int FROM executions WHERE status <> 'completed'") == 0)
            }
        }
    }

    @Test("no lost wake-ups while waiting runs park: in-process resolves race runs parking after 2 ms")
    func lostWakeUpWhileParking() async throws {
        let count = 400
        var configuration = noPoll()
        configuration.parkAfter = .milliseconds(2)
        try await withTestStorage { storage in
            try await withWorkflowEngine(storage: storage, registry: testRegistry(), configuration: configuration) { engine in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<count {
                        group.addTask {
                            let id = "park-\(index)"
                            _ = try await engine.executions.start(AwaitValue.self, id: id, input: 0)
                            try await Task.sleep(for: .milliseconds(Int.random(in: 0...6)))
                            _ = try await engine.executions.resolve(AwaitValue.value, of: AwaitValue.self,
                                                                    id: id, value: index)
                        }
                        if index.isMultiple(of: 50) { try await group.next() }
                    }
                    try await group.waitForAll()
                }
                for index in 0..<count {
                    let value = try await engine.executions.result(of: AwaitValue.self, id: "park-\(index)",
                                                                   timeout: .seconds(60))
                    #expect(value == index)
                }
            }
        }
    }

    @Test("an execution that waits longer than every internal interval is neither re-run nor stalled")
    func longWait() async throws {
        try await withTestStorage { storage in
            var configuration = WorkflowEngine.Configuration()
            configuration.pollInterval = .milliseconds(20)
            configuration.storageRetryDelay = .milliseconds(20)
            try await withWorkflowEngine(storage: storage, registry: testRegistry(), configuration: configuration) { engine in
                _ = try await engine.executions.start(Pipeline.self, id: "long", input: .init(steps: 2, sleepMs: 1_500))
                #expect(try await engine.executions.result(of: Pipeline.self, id: "long") == .init(steps: 2))
                let record = try await engine.executions.status(workflow: "Pipeline", id: "long")
                #expect(record.attempt == 1, "never re-claimed")
                #expect(try await storage.effects("long") == ["step-1": 1, "step-2": 1])
            }
        }
    }
}
