/// Settings every runner of a cluster must share. The first runner stores them in the database; a runner whose
/// settings differ refuses to start (see ``ClusterSettingsMismatch``).
public struct ClusterSettings: Hashable, Sendable, Codable {
    /// The shard groups' names. Entities and workflows are placed in a group; each group has its own shards.
    public var shardGroups: [String]
    /// How many shards each group has.
    public var shardsPerGroup: Int

    /// The name of the group used when none is given.
    public static let defaultGroup = "default"

    /// Settings with one group, `default`, of 300 shards unless told otherwise.
    public init(shardGroups: [String] = [ClusterSettings.defaultGroup], shardsPerGroup: Int = 300) {
        self.shardGroups = shardGroups
        self.shardsPerGroup = shardsPerGroup
    }

    /// The shard an entity id belongs to in a group: `StableHash.of(entityId) mod shardsPerGroup`.
    public func shard(for entityId: String, group: String = ClusterSettings.defaultGroup) -> ShardID {
        ShardID(group: group, index: Int(StableHash.of(entityId) % UInt64(shardsPerGroup)))
    }

    /// Every shard of every group, in order.
    public var allShards: [ShardID] {
        shardGroups.flatMap { group in (0..<shardsPerGroup).map { ShardID(group: group, index: $0) } }
    }

    /// Checks that the settings can describe a cluster.
    /// - Throws: ``WorkflowError`` `invalid_argument` naming the setting.
    public func validate() throws {
        guard (1...100_000).contains(shardsPerGroup) else {
            throw WorkflowError(.invalidArgument, "shards per group must be between 1 and 100000, not \(shardsPerGroup)")
        }
        guard !shardGroups.isEmpty else { throw WorkflowError(.invalidArgument, "at least one shard group is needed") }
        for group in shardGroups {
            guard !group.isEmpty, group.count <= 64,
                  group.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic
                      || ("0"..."9").contains($0) || $0 == "-" || $0 == "_") }) else {
                throw WorkflowError(.invalidArgument, "shard group name '\(group)' must be 1 to 64 ASCII letters, "
                                    + "digits, '-' or '_'")
            }
        }
        guard shardGroups.contains(Self.defaultGroup) else {
            throw WorkflowError(.invalidArgument, "the shard groups (\(shardGroups.joined(separator: ","))) must "
                                + "include '\(Self.defaultGroup)': workflow executions, singletons and schedules "
                                + "live on it, and without it none of them would run; add '\(Self.defaultGroup)' "
                                + "to the list")
        }
        guard Set(shardGroups).count == shardGroups.count else {
            throw WorkflowError(.invalidArgument, "shard group names repeat: \(shardGroups.joined(separator: ","))")
        }
    }
}

/// A runner's cluster settings differ from those stored for the cluster.
public struct ClusterSettingsMismatch: Error, CustomStringConvertible {
    /// The setting that differs.
    public var setting: String
    /// This runner's value.
    public var local: String
    /// The cluster's value.
    public var cluster: String

    public var description: String {
        "cluster setting \(setting) differs: this runner has \(local), the cluster uses \(cluster); "
            + "start the runner with the cluster's settings"
    }
}
