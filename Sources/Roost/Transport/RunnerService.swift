import GRPCCore
import Instrumentation
import ServiceContextModule
import Tracing

/// The gRPC service every runner serves to the others: `roost.Runner/Call` runs an entity call if this runner
/// holds the entity's shard, in a server span that continues the caller's trace from the call's metadata;
/// `roost.Runner/Ping` says the runner is reachable and what it hosts. A caller's cancellation interrupts its
/// best-effort call on the owner.
struct RunnerService: RegistrableRPCService {
    static let call = MethodDescriptor(fullyQualifiedService: "roost.Runner", method: "Call")
    static let ping = MethodDescriptor(fullyQualifiedService: "roost.Runner", method: "Ping")

    let system: ClusterSystem

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.registerHandler(forMethod: Self.call, deserializer: JSONDeserializer<WireCall>(),
                               serializer: JSONSerializer<EntityReply>()) { request, rpc in
            var context = ServiceContext.topLevel
            InstrumentationSystem.instrument.extract(request.metadata, into: &context, using: MetadataExtractor())
            let call = try await ServerRequest(stream: request).message
            let reply = await withSpan("roost.entity.handle", context: context, ofKind: .server) { span in
                span.attributes["roost.entity"] = call.address.description
                let reply = call.persisted == nil ? await handleInterruptibly(call, rpc: rpc.cancellation)
                                                  : await system.handleHere(call)
                if let error = reply.error { span.attributes["roost.error"] = error.code }
                return reply
            }
            return StreamingServerResponse(single: ServerResponse(message: reply))
        }
        router.registerHandler(forMethod: Self.ping, deserializer: JSONDeserializer<WirePing>(),
                               serializer: JSONSerializer<WirePong>()) { request, _ in
            _ = try await ServerRequest(stream: request).message
            let (shards, entities) = await system.entities.census()
            let pong = WirePong(address: system.localAddress ?? "", shards: shards, entities: entities)
            return StreamingServerResponse(single: ServerResponse(message: pong))
        }
    }

    /// Runs a best-effort call, interrupting it (its task is cancelled) when the caller cancels the RPC or its
    /// deadline passes: gRPC reports that through the RPC's cancellation handle, not by cancelling the handler.
    /// A persisted call is not interrupted: it belongs to the store, not to the caller that stopped waiting. Nor is
    /// a call the runner's own graceful shutdown cancels (gRPC cancels every RPC in flight when its server begins
    /// to shut down): it ends, and its caller gets its reply, as a call to a stopped entity gets `not_here`.
    private func handleInterruptibly(_ call: WireCall, rpc: ServerContext.RPCCancellationHandle) async -> EntityReply {
        await withTaskGroup(of: EntityReply?.self) { group in
            group.addTask { await system.handleHere(call) }
            group.addTask {
                try? await rpc.cancelled
                return nil
            }
            var first = await group.next() ?? nil
            if first == nil, system.isStopping { first = await group.next() ?? nil }
            group.cancelAll()
            return first ?? EntityReply(error: EntityCallError(EntityCallError.failed,
                                                               "the caller cancelled the call to \(call.address)"))
        }
    }
}
