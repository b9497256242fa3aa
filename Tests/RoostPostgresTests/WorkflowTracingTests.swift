import Foundation
import InMemoryTracing
import Roost
import RoostClient
import RoostExamples
import RoostPostgres
import RoostTesting
import Testing
import Tracing

@Suite("Tracing of workflow executions")
struct WorkflowTracingTests {
    @Test("a start in a trace: the run continues that trace, with a span for each activity")
    func startRunAndActivities() async throws {
        let tracer = TestTracing.tracer
        try await withTestStorage { (storage: PostgresStorage) async throws in
            try await withWorkflowEngine(storage: storage, registry: testRegistry()) { engine in
                let events = EngineEvents(engine)
                let (trace, key) = try await startTraced(engine)
                try await events.ended(key)
                let spans = tracer.finishedSpans.filter { $0.traceID == trace }
                let names = spans.map(\.operationName)
                #expect(names.contains("roost.execution.start"))
                #expect(names.contains("roost.execution.run"))
                var activities: [String] = []
                for span in spans where span.operationName == "roost.activity" {
                    if case .string(let name)? = span.attributes.get("roost.activity") { activities.append(name) }
                }
                #expect(activities.sorted() == ["charge", "confirm", "reserve"])
            }
        }
    }

    @Test("a run woken by a resolve and by a timer records a wake-up span for each, in the start's trace")
    func wakeUps() async throws {
        let tracer = TestTracing.tracer
        try await withTestStorage { (storage: PostgresStorage) async throws in
            try await withWorkflowEngine(storage: storage, registry: testRegistry()) { engine in
                let events = EngineEvents(engine)
                let (trace, key) = try await withSpan("test root") { span in
                    let started = try await engine.executions.start(Approval.self, id: "woken",
                                                                    input: .init(requestId: "w", coolOffMs: 50))
                    return (span.context.inMemorySpanContext?.traceID, started.record.key)
                }
                try await events.suspended(key)
                _ = try await engine.executions.resolve(Approval.decision, of: Approval.self, id: "woken",
                                                        value: .init(approved: true, by: "test"))
                try await events.ended(key)
                var causes: [String] = []
                for span in tracer.finishedSpans where span.traceID == trace
                    && span.operationName == "roost.execution.wake" {
                    if case .string(let cause)? = span.attributes.get("roost.wake.cause") { causes.append(cause) }
                }
                #expect(causes.sorted() == ["deferred", "timer"])
            }
        }
    }

    @Test("a start from a client in another process: the run continues the start's trace through the stored context")
    func startFromClient() async throws {
        let tracer = TestTracing.tracer
        try await withTestStorage { (storage: PostgresStorage) async throws in
            try await withWorkflowEngine(storage: storage, registry: testRegistry()) { engine in
                let events = EngineEvents(engine)
                try await withRoostClient(storage.configuration, registry: Examples.registry,
                                          logger: TestDatabase.logger) { client in
                    let (trace, key) = try await startTraced(client)
                    try await events.ended(key)
                    let spans = tracer.finishedSpans.filter { $0.traceID == trace }
                    #expect(spans.contains { $0.operationName == "roost.execution.run" })
                    #expect(spans.filter { $0.operationName == "roost.activity" }.count == 3)
                }
            }
        }
    }

    /// Starts an Order through a client inside a root span; returns the span's trace and the execution's key.
    private func startTraced(_ client: RoostClient) async throws -> (String?, ExecutionKey) {
        try await withSpan("client root") { (span: any Span) async throws -> (String?, ExecutionKey) in
            let started = try await client.start(Order.self, id: "from-client", input: .init(orderId: "c", amount: 1))
            return (span.context.inMemorySpanContext?.traceID, started.record.key)
        }
    }

    /// Starts an Order inside a root span; returns the span's trace and the execution's key.
    private func startTraced(_ engine: WorkflowEngine) async throws -> (String?, ExecutionKey) {
        try await withSpan("test root") { (span: any Span) async throws -> (String?, ExecutionKey) in
            let started = try await engine.executions.start(Order.self, id: "traced",
                                                            input: .init(orderId: "t", amount: 1))
            return (span.context.inMemorySpanContext?.traceID, started.record.key)
        }
    }
}
