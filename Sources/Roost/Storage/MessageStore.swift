import Foundation

/// Where persisted entity calls and their replies are kept (see ``Delivery/persisted``). A call is saved before
/// it is sent, stays *pending* until its owner stores its reply under the shard's lease, and is then *completed*.
/// Completed calls are kept for the retention period, during which the same request id gets the stored reply.
public protocol MessageStore: Sendable {
    /// Saves a call unless one with its address and request id exists.
    func accept(_ call: PersistedCall) async throws -> MessageAcceptance

    /// The stored state of a call, or `nil` if no call with that address and request id is kept.
    func state(of address: EntityAddress, requestID: String) async throws -> MessageState?

    /// Stores a call's reply if the call is still pending and `lease` is still held.
    /// - Returns: `nil` once the reply is stored (or the call is no longer kept); the reply stored earlier if the
    ///   call was already completed.
    /// - Throws: ``ShardLeaseLost`` if `lease` is no longer held: nothing was stored.
    func complete(_ address: EntityAddress, requestID: String, reply: EntityReply,
                  lease: ShardLease) async throws -> EntityReply?

    /// Pending calls to entities of `shards` saved at least `age` ago by the store's clock, oldest first, at
    /// most `limit`.
    func pending(in shards: [ShardID], olderThan age: Duration, limit: Int) async throws -> [PersistedCall]

    /// Forgets at most `limit` completed calls whose reply was stored more than `age` ago, by the store's clock.
    /// - Returns: How many were forgotten.
    func purge(completedBefore age: Duration, limit: Int) async throws -> Int
}

/// A persisted call as it is stored.
public struct PersistedCall: Sendable, Equatable {
    /// The entity called.
    public var address: EntityAddress
    /// The id that names the call for this entity: derived from an idempotency key or generated per call.
    public var requestID: String
    /// The entity's shard.
    public var shard: ShardID
    /// The method's mangled name.
    public var target: String
    /// The mangled names of the method's generic substitutions.
    public var generics: [String]
    /// The arguments, each as JSON.
    public var arguments: [Data]

    /// A call.
    public init(address: EntityAddress, requestID: String, shard: ShardID, target: String, generics: [String],
                arguments: [Data]) {
        self.address = address
        self.requestID = requestID
        self.shard = shard
        self.target = target
        self.generics = generics
        self.arguments = arguments
    }

    /// Whether `other` asks for the same thing: the same method with the same arguments.
    public func isSameCall(as other: PersistedCall) -> Bool {
        target == other.target && generics == other.generics && arguments == other.arguments
    }
}

/// What saving a persisted call found.
public enum MessageAcceptance: Sendable, Equatable {
    /// The call was saved now.
    case saved
    /// A call with the same address and request id was already kept.
    case existing(MessageState)
}

/// A kept call's state.
public enum MessageState: Sendable, Equatable {
    /// Saved, with no reply yet.
    case pending(PersistedCall)
    /// Run, with its reply stored.
    case completed(PersistedCall, EntityReply)

    /// The call.
    public var call: PersistedCall {
        switch self {
        case .pending(let call), .completed(let call, _): call
        }
    }
}
