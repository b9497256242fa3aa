/// A fenced write found that this runner no longer holds the shard at the epoch it acquired: another runner owns
/// it now, or this runner's registration expired. Nothing was committed. The runner stops the shard's entities,
/// and the call is retried on the shard's current owner.
public struct ShardLeaseLost: Error, CustomStringConvertible {
    /// The lease the write was made under.
    public var lease: ShardLease

    /// The error for a lease.
    public init(lease: ShardLease) {
        self.lease = lease
    }

    public var description: String {
        "shard \(lease.shard) is no longer held here at epoch \(lease.epoch); nothing was committed"
    }
}
