/// A shard: one slice of a shard group's entity space, hosted by at most one runner at a time.
public struct ShardID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// The shard group's name.
    public var group: String
    /// The shard's number within its group, from 0 to `shardsPerGroup - 1`.
    public var index: Int

    /// A shard of a group.
    public init(group: String, index: Int) {
        self.group = group
        self.index = index
    }

    /// `group/index`, as logs and `roost cluster status` print it.
    public var description: String { "\(group)/\(index)" }

    public static func < (lhs: ShardID, rhs: ShardID) -> Bool {
        (lhs.group, lhs.index) < (rhs.group, rhs.index)
    }
}

/// A shard held by a runner at an epoch. The epoch grows every time the shard changes hands; every durable write
/// for the shard carries it, so a runner that lost the shard can no longer commit for it.
public struct ShardLease: Hashable, Sendable, Codable {
    /// The shard.
    public var shard: ShardID
    /// The epoch at which this runner acquired it.
    public var epoch: Int64

    /// A lease on a shard at an epoch.
    public init(shard: ShardID, epoch: Int64) {
        self.shard = shard
        self.epoch = epoch
    }
}
