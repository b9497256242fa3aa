import Foundation

extension ClusterSystem {
    /// What saving a persisted call left to do.
    enum SavedCall {
        /// The call ran before (a repeated idempotency key): its stored reply.
        case completed(EntityReply)
        /// Send the call; its owner stores the reply.
        case pending(WireCall.Persisted)
    }

    /// Saves a persisted call before it is sent.
    /// - Throws: ``EntityCallError`` `invalid_argument` for a bad idempotency key or without a message store,
    ///   `idempotency_conflict` if the key named another call, `unavailable` if the call could not be saved.
    func save(_ call: WireCall, to shard: ShardID, as delivery: Delivery) async throws -> SavedCall {
        guard let messages else {
            throw EntityCallError(EntityCallError.invalidArgument, "persisted delivery needs a message store: "
                                  + "create the ClusterSystem with `messages:`")
        }
        let requestID = try Self.requestID(for: delivery)
        let persisted = PersistedCall(address: call.address, requestID: requestID, shard: shard, target: call.target,
                                      generics: call.generics, arguments: call.arguments)
        let acceptance: MessageAcceptance
        do {
            acceptance = try await messages.accept(persisted)
        } catch {
            throw EntityCallError(EntityCallError.unavailable, "the call to \(call.address) could not be saved, so "
                                  + "it was not sent: \(error)")
        }
        switch acceptance {
        case .saved:
            return .pending(WireCall.Persisted(requestID: requestID, recheck: false))
        case .existing(let state):
            guard state.call.isSameCall(as: persisted) else {
                throw EntityCallError(EntityCallError.idempotencyConflict,
                                      "idempotency key '\(delivery.idempotencyKey ?? "")' was used for another call "
                                      + "to \(call.address) (a different method or other arguments); use a new key "
                                      + "for a new call")
            }
            if case .completed(_, let reply) = state { return .completed(reply) }
            return .pending(WireCall.Persisted(requestID: requestID, recheck: true))
        }
    }

    /// The request id of a persisted call: `key:` and the idempotency key, or `call:` and an id generated now.
    private static func requestID(for delivery: Delivery) throws -> String {
        guard let key = delivery.idempotencyKey else { return "call:\(UUID().uuidString.lowercased())" }
        guard !key.isEmpty, key.utf8.count <= Delivery.maximumKeyLength else {
            throw EntityCallError(EntityCallError.invalidArgument, "an idempotency key must have 1 to "
                                  + "\(Delivery.maximumKeyLength) bytes; this one has \(key.utf8.count)")
        }
        return "key:\(key)"
    }
}
