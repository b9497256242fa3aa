import Distributed
/// A sharded entity: a distributed actor on the ``ClusterSystem``, addressed by ``EntityAddress``.
///
/// The runner that holds the address's shard activates the entity on demand through the factory registered with
/// ``ClusterSystem/register(_:factory:)``, runs one call at a time through the entity's mailbox, and passivates it
/// when it has been idle. Keep the entity's state in the database: an instance may be passivated or moved to
/// another runner at any time between calls.
///
/// ```swift
/// distributed actor Counter: Entity {
///     static let entityType = "Counter"
///     distributed func increment(by amount: Int) async throws -> Int { … }
/// }
/// let counter = system.entity(Counter.self, id: "visits")
/// let value = try await counter.increment(by: 1)   // from any runner, routed to the shard's owner
/// ```
public protocol Entity: DistributedActor where ActorSystem == ClusterSystem {
    /// The entity type's stable name. Changing it orphans every existing entity of the type.
    static var entityType: String { get }
    /// The shard group the type's entities live in.
    static var shardGroup: String { get }
}

extension Entity {
    /// The default shard group.
    public static var shardGroup: String { ClusterSettings.defaultGroup }
}
