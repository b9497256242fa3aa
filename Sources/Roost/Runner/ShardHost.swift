/// What a runner hosts on its shards (entities, workflow executions). The ``ShardManager`` tells it when shards
/// arrive and asks it to stop a shard's work before the shard is released, or after it was lost.
public protocol ShardHost: Sendable {
    /// This runner now holds these shards at these epochs.
    func acquired(_ leases: [ShardLease]) async

    /// This runner no longer hosts these shards: stop their work and return once it has stopped. Called before a
    /// shard is released, and after a shard was found lost or the runner detached.
    func stopping(_ shards: [ShardID]) async

    /// A heartbeat saw these runners live.
    func observed(liveRunners: [String])
}

/// Another runner incarnation registered at this runner's address: two processes claim one address.
public struct RunnerReplaced: Error, CustomStringConvertible {
    /// The address.
    public var address: String

    public var description: String {
        "another runner registered at \(address): this runner stops; give every runner its own ROOST_RUNNER_ADDRESS"
    }
}
