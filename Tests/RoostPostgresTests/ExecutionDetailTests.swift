import Foundation
import Roost
import RoostExamples
import RoostPostgres
import RoostTesting
import Testing

@Suite("Execution detail")
struct ExecutionDetailTests {
    @Test("the detail shows the journal with durations, a pending then resolved deferred, and a fired timer")
    func approval() async throws {
        try await withTestStorage { storage in
            try await withWorkflowEngine(storage: storage, registry: testRegistry()) { engine in
                let events = EngineEvents(engine)
                let key = try await engine.executions.start(Approval.self, id: "a-1",
                                                            input: .init(requestId: "r", coolOffMs: 10)).record.key
                try await events.suspended(key)
                let waiting = try await engine.executions.detail(workflow: "Approval", id: "a-1")
                #expect(waiting.record.status == .waiting)
                #expect(waiting.journal.map(\.entry.name) == ["submit", "decision"])
                #expect(waiting.journal[0].entry.durationMs != nil)
                #expect(waiting.deferreds.map(\.name) == ["decision"] && waiting.deferreds[0].resolvedAt == nil)
                #expect(waiting.timers.isEmpty)

                _ = try await engine.executions.resolve(Approval.decision, of: Approval.self, id: "a-1",
                                                        value: .init(approved: true, by: "detail"))
                _ = try await engine.executions.result(of: Approval.self, id: "a-1")
                let done = try await engine.executions.detail(workflow: "Approval", id: "a-1")
                #expect(done.journal.map(\.entry.name) == ["submit", "decision", "cool-off", "apply"])
                #expect(done.journal.allSatisfy { $0.recordedAt <= $0.updatedAt })
                #expect(done.deferreds.count == 1 && done.deferreds[0].resolvedAt != nil)
                #expect(done.deferreds[0].value?.contains("detail") == true)
                #expect(done.timers.map(\.name) == ["cool-off"] && done.timers[0].fired)
                #expect(done.owner == nil, "an engine outside a cluster has no shard owner")
                let unknown = await #expect(throws: WorkflowError.self) {
                    try await engine.executions.detail(workflow: "Approval", id: "nope")
                }
                #expect(unknown?.code == .unknownExecution)
            }
        }
    }
}
