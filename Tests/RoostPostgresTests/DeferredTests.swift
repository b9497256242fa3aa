import Foundation
import PostgresNIO
import Roost
import RoostPostgres
import RoostTesting
import Testing

@Suite("Deferreds")
struct DeferredTests {
    @Test("a deferred resolved before anyone waits is returned at once when the workflow reaches it")
    func resolveBeforeAwait() async throws {
        try await withTestStorage { storage in
            let id = "early-\(UUID())"
            try await withClient(of: storage) { client in
                _ = try await client.start(AwaitValue.self, id: id, input: 0)
                let outcome = try await client.resolve(AwaitValue.value, of: AwaitValue.self, id: id, value: 42)
                #expect(outcome.resolved)
            }
            try await withWorkflowEngine(storage: storage, registry: testRegistry(), configuration: noPoll()) { engine in
                let value = try await engine.executions.result(of: AwaitValue.self, id: id)
                #expect(value == 42)
            }
        }
    }

    @Test("a second resolve keeps the first value and reports that it resolved nothing")
    func secondResolveKeepsFirst() async throws {
        try await withTestStorage { storage in
            try await withWorkflowEngine(storage: storage, registry: testRegistry()) { engine in
                _ = try await engine.executions.start(AwaitValue.self, id: "twice", input: 0)
                let first = try await engine.executions.resolve(AwaitValue.value, of: AwaitValue.self, id: "twice",
                                                                value: 1)
                let second = try await engine.executions.resolve(AwaitValue.value, of: AwaitValue.self, id: "twice",
                                                                 value: 2)
                #expect(first.resolved && first.value == 1)
                #expect(!second.resolved && second.value == 1)
                #expect(try await engine.executions.result(of: AwaitValue.self, id: "twice") == 1)
            }
        }
    }

    @Test("a wrongly typed value for a declared deferred is refused at resolve time and nothing is stored")
    func wrongTypeRefused() async throws {
        try await withTestStorage { storage in
            try await withWorkflowEngine(storage: storage, registry: testRegistry()) { engine in
                _ = try await engine.executions.start(AwaitValue.self, id: "typed", input: 0)
                let error = await #expect(throws: WorkflowError.self) {
                    _ = try await engine.executions.resolve(workflow: "AwaitValue", id: "typed", deferred: "value",
                                                            value: #""forty-two""#)
                }
                #expect(error?.code == .invalidPayload)
                #expect(error?.message.contains("deferred 'value'") == true)
                #expect(error?.message.contains("Int") == true)
                #expect(try await storage.count("SELECT count(*)::int FROM deferreds") == 0)
                _ = try await engine.executions.resolve(AwaitValue.value, of: AwaitValue.self, id: "typed", value: 5)
                #expect(try await engine.executions.result(of: AwaitValue.self, id: "typed") == 5)
            }
        }
    }

    @Test("a wrongly typed value for an undeclared deferred fails only that execution, with the decoding error")
    func wrongTypeFailsWorkflow() async throws {
        try await withTestStorage { storage in
            try await withWorkflowEngine(storage: storage, registry: testRegistry()) { engine in
                _ = try await engine.executions.start(AwaitUndeclared.self, id: "loose", input: 0)
                _ = try await engine.executions.resolve(workflow: "AwaitUndeclared", id: "loose", deferred: "value",
                                                        value: #"{"not": "an int"}"#)
                let record = try await engine.executions.result(workflow: "AwaitUndeclared", id: "loose", timeout: nil)
                #expect(record.status == .failed)
                #expect(record.error?.code == "invalid_payload")
                #expect(record.error?.message.contains("deferred 'value'") == true)
                _ = try await engine.executions.start(AwaitValue.self, id: "after", input: 0)
                _ = try await engine.executions.resolve(AwaitValue.value, of: AwaitValue.self, id: "after", value: 3)
                #expect(try await engine.executions.result(of: AwaitValue.self, id: "after") == 3)
            }
        }
    }

    @Test("awaitDeferred times out at its stored deadline and the timeout is journaled")
    func timeout() async throws {
        try await withTestStorage { storage in
            try await withWorkflowEngine(storage: storage, registry: testRegistry(), configuration: noPoll()) { engine in
                _ = try await engine.executions.start(AwaitWithTimeout.self, id: "late", input: 150)
                #expect(try await engine.executions.result(of: AwaitWithTimeout.self, id: "late") == -1)
                let entry = try #require(try await engine.executions.journal(workflow: "AwaitWithTimeout", id: "late").first)
                #expect(entry.error?.code == "timed_out")
                let resolved = try await engine.executions.resolve(workflow: "AwaitWithTimeout", id: "late",
                                                                   deferred: "value", value: "1")
                #expect(resolved.resolved, "a late value is stored but the journal keeps the timeout")
            }
        }
    }

    @Test("a resolve from another process wakes the waiting execution through NOTIFY, with the poll disabled")
    func crossProcessNotify() async throws {
        try await withTestStorage { storage in
            try await withWorkflowEngine(storage: storage, registry: testRegistry(), configuration: noPoll()) { engine in
                let events = EngineEvents(engine)
                let started = try await engine.executions.start(AwaitValue.self, id: "remote", input: 0)
                try await events.suspended(started.record.key)
                try await withClient(of: storage) { client in
                    _ = try await client.resolve(AwaitValue.value, of: AwaitValue.self, id: "remote", value: 9)
                    #expect(try await client.result(of: AwaitValue.self, id: "remote") == 9)
                }
            }
        }
    }

    @Test("with notifications off, the batched poll alone wakes executions resolved by another process")
    func pollOnly() async throws {
        try await withTestStorage(configure: { $0.notifications = false }) { storage in
            var configuration = WorkflowEngine.Configuration()
            configuration.pollInterval = .milliseconds(50)
            try await withWorkflowEngine(storage: storage, registry: testRegistry(), configuration: configuration) { engine in
                let events = EngineEvents(engine)
                var keys: [ExecutionKey] = []
                for index in 0..<20 {
                    keys.append(try await engine.executions.start(AwaitValue.self, id: "poll-\(index)", input: 0).record.key)
                }
                for key in keys { try await events.suspended(key) }
                try await withClient(of: storage, configure: { $0.notifications = false }) { client in
                    for index in 0..<20 {
                        _ = try await client.resolve(AwaitValue.value, of: AwaitValue.self, id: "poll-\(index)",
                                                     value: index)
                    }
                }
                for index in 0..<20 {
                    #expect(try await engine.executions.result(of: AwaitValue.self, id: "poll-\(index)") == index)
                }
            }
        }
    }
}
