import Distributed
import InMemoryTracing
import Instrumentation
import Logging
import Roost
import RoostTesting
import Testing
import Tracing

/// An entity that reports the trace it runs in.
distributed actor TraceProbe: Entity {
    typealias ActorSystem = ClusterSystem
    static let entityType = "TraceProbe"

    distributed func traceID() -> String? {
        ServiceContext.current?.inMemorySpanContext?.traceID
    }
}

@Suite("Tracing across runners")
struct TracingTests {
    @Test("a call to an entity on another runner continues the caller's trace, carried in the gRPC metadata")
    func traceCrossesRunners() async throws {
        let tracer = TestTracing.tracer
        let runners = try InProcessRunners(count: 2) { $0.register(TraceProbe.self) { TraceProbe(actorSystem: $0) } }
        let remote = runners.id(ownedBy: 1, prefix: "probe")
        let (rootTrace, seenTrace) = try await runners.run { systems in
            try await withSpan("test root") { span in
                (span.context.inMemorySpanContext?.traceID,
                 try await systems[0].entity(TraceProbe.self, id: remote).traceID())
            }
        }
        #expect(rootTrace != nil)
        #expect(seenTrace == rootTrace, "the entity ran in the caller's trace")
        let spans = tracer.finishedSpans.filter { $0.traceID == rootTrace }
        let client = try #require(spans.first { $0.operationName == "roost.entity.call" })
        let server = try #require(spans.first { $0.operationName == "roost.entity.handle" })
        #expect(client.kind == .client && server.kind == .server)
        #expect(server.parentSpanID == client.spanID, "the owner's span continues the caller's")
    }
}
