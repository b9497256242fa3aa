/// Rendezvous (highest random weight) hashing of shards onto runners: a shard goes to the runner with the highest
/// `StableHash.mix(StableHash.of(runner) ^ StableHash.of(shard))`. Every runner computes the same map from the same
/// set of live runners, whatever order it sees them in, and a runner joining or leaving moves only the shards it
/// gains or had.
public enum Rendezvous {
    /// The runner a shard belongs to, or `nil` if there is none.
    /// - Parameters:
    ///   - shard: The shard.
    ///   - runners: The live runners' addresses.
    public static func owner(of shard: ShardID, among runners: some Sequence<String>) -> String? {
        let shardHash = StableHash.of(shard.description)
        var best: (score: UInt64, runner: String)?
        for runner in runners {
            let score = StableHash.mix(StableHash.of(runner) ^ shardHash)
            // Ties (practically impossible) go to the smaller address, so the result never depends on order.
            if let current = best, current.score > score || (current.score == score && current.runner < runner) {
                continue
            }
            best = (score, runner)
        }
        return best?.runner
    }

    /// The owner of every shard.
    /// - Parameters:
    ///   - shards: The shards.
    ///   - runners: The live runners' addresses.
    public static func assignment(of shards: [ShardID], among runners: [String]) -> [ShardID: String] {
        var map: [ShardID: String] = [:]
        for shard in shards {
            if let owner = owner(of: shard, among: runners) { map[shard] = owner }
        }
        return map
    }
}
