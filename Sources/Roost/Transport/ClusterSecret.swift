import GRPCCore
import Logging

/// The secret runners share (`ROOST_CLUSTER_SECRET`): every call between runners carries it in its metadata, and a
/// runner refuses a call without it before the call reaches a handler.
struct ClusterSecret: Sendable {
    /// The metadata key that carries the secret.
    static let metadataKey = "roost-cluster-secret"

    let value: String

    /// Whether a presented secret is this one, in time that depends only on the lengths.
    func matches(_ presented: String) -> Bool {
        ConstantTime.equal(presented, value)
    }

    /// Adds the secret to every call a runner or client makes.
    struct ClientSide: ClientInterceptor {
        let secret: ClusterSecret

        func intercept<Input: Sendable, Output: Sendable>(
            request: StreamingClientRequest<Input>, context: ClientContext,
            next: (StreamingClientRequest<Input>, ClientContext) async throws -> StreamingClientResponse<Output>
        ) async throws -> StreamingClientResponse<Output> {
            var request = request
            request.metadata.replaceOrAddString(secret.value, forKey: ClusterSecret.metadataKey)
            return try await next(request, context)
        }
    }

    /// Refuses every call that does not carry the secret, with `unauthenticated`, and logs the refusal without
    /// what the call presented.
    struct ServerSide: ServerInterceptor {
        let secret: ClusterSecret
        let logger: Logger

        func intercept<Input: Sendable, Output: Sendable>(
            request: StreamingServerRequest<Input>, context: ServerContext,
            next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws
                -> StreamingServerResponse<Output>
        ) async throws -> StreamingServerResponse<Output> {
            let presented = request.metadata[stringValues: ClusterSecret.metadataKey].first(where: { _ in true })
            guard let presented, secret.matches(presented) else {
                logger.notice("runner call refused: no or wrong cluster secret", metadata: [
                    "roost.rpc.method": "\(context.descriptor)", "roost.rpc.peer": "\(context.remotePeer)",
                    "roost.rpc.secret": "\(presented == nil ? "absent" : "wrong")",
                ])
                throw RPCError(code: .unauthenticated,
                               message: "this runner accepts calls only with the cluster's secret "
                                   + "(ROOST_CLUSTER_SECRET); the call had \(presented == nil ? "none" : "another")")
            }
            return try await next(request, context)
        }
    }
}
