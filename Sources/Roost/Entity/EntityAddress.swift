/// The address of an entity: its type and its id. There is at most one live instance per address in the whole
/// cluster, on the runner that holds the address's shard.
public struct EntityAddress: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The entity type's name (``Entity/entityType``).
    public var type: String
    /// The entity's id within its type.
    public var id: String

    /// An address.
    public init(type: String, id: String) {
        self.type = type
        self.id = id
    }

    /// `type/id`.
    public var description: String { "\(type)/\(id)" }
}
