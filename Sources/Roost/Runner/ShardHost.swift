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

/// Several hosts on one runner's shards (its entities and its workflow executions), told of every change in
/// order and stopped together.
public struct ShardHosts: ShardHost {
    let hosts: [any ShardHost]

    /// Hosts told in this order.
    public init(_ hosts: [any ShardHost]) {
        self.hosts = hosts
    }

    public func acquired(_ leases: [ShardLease]) async {
        for host in hosts { await host.acquired(leases) }
    }

    public func stopping(_ shards: [ShardID]) async {
        await withDiscardingTaskGroup { group in
            for host in hosts { group.addTask { await host.stopping(shards) } }
        }
    }

    public func observed(liveRunners: [String]) {
        for host in hosts { host.observed(liveRunners: liveRunners) }
    }
}

/// Another runner incarnation registered at this runner's address: two processes claim one address.
public struct RunnerReplaced: Error, CustomStringConvertible {
    /// The address.
    public var address: String

    public var description: String {
        "another runner registered at \(address): this runner stops; give every runner its own ROOST_RUNNER_ADDRESS"
    }
}
