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
    /// The process's tracer: instruments are bootstrapped once per process.
    static let tracer: InMemoryTracer = {
        let tracer = InMemoryTracer()
        InstrumentationSystem.bootstrap(tracer)
        return tracer
    }()

    @Test("a call to an entity on another runner continues the caller's trace, carried in the gRPC metadata")
    func traceCrossesRunners() async throws {
        let tracer = Self.tracer
        let addresses = (0..<2).map { _ in "127.0.0.1:\(FreePort.next())" }
        let settings = ClusterSettings(shardsPerGroup: 16)
        let systems = try addresses.map { try ClusterSystem(address: $0, settings: settings,
                                                            logger: Logger(label: "roost.test")) }
        for (index, system) in systems.enumerated() {
            system.register(TraceProbe.self) { TraceProbe(actorSystem: $0) }
            system.observed(liveRunners: addresses)
            let held = (0..<settings.shardsPerGroup).map { ShardID(group: ClusterSettings.defaultGroup, index: $0) }
                .filter { Rendezvous.owner(of: $0, among: addresses) == addresses[index] }
            await system.acquired(held.map { ShardLease(shard: $0, epoch: 1) })
        }
        let remote = try #require((0..<100).map { "probe-\($0)" }.first {
            Rendezvous.owner(of: settings.shard(for: $0), among: addresses) == addresses[1]
        })
        let (rootTrace, seenTrace) = try await withThrowingTaskGroup(of: Void.self) { group in
            for system in systems { group.addTask { try await system.run() } }
            defer { for system in systems { system.shutdown() } }
            for system in systems { try await system.listening() }
            return try await withSpan("test root") { span in
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
