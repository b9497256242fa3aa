import GRPCCore

/// The gRPC service every runner serves to the others: `roost.Runner/Call` runs an entity call if this runner
/// holds the entity's shard.
struct RunnerService: RegistrableRPCService {
    static let call = MethodDescriptor(fullyQualifiedService: "roost.Runner", method: "Call")

    let system: ClusterSystem

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.registerHandler(forMethod: Self.call, deserializer: JSONDeserializer<WireCall>(),
                               serializer: JSONSerializer<EntityReply>()) { request, _ in
            let call = try await ServerRequest(stream: request).message
            return StreamingServerResponse(single: ServerResponse(message: await system.handleHere(call)))
        }
    }
}
