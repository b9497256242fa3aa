import Testing
@testable import Roost

@Suite("Sharding")
struct ShardingTests {
    // The values were computed independently from the documented definition (FNV-1a 64, then fmix64).
    @Test("the stable hash of known strings never changes: it is the cluster's on-disk contract")
    func stableHashIsPinned() {
        #expect(StableHash.of("") == 0xEFD0_1F60_BA99_2926)
        #expect(StableHash.of("order-1") == 0x491B_422E_3AF0_D9A5)
        #expect(ClusterSettings().shard(for: "order-1") == ShardID(group: "default", index: 157))
        #expect(ClusterSettings(shardsPerGroup: 16).shard(for: "counter-42", group: "entities")
                == ShardID(group: "entities", index: 13))
    }

    @Test("every shard index is used and no group gets more than twice its share")
    func shardsSpread() {
        let settings = ClusterSettings(shardsPerGroup: 300)
        var counts = [Int](repeating: 0, count: 300)
        for id in 0..<30_000 { counts[settings.shard(for: "entity-\(id)").index] += 1 }
        #expect(counts.min()! > 0)
        #expect(counts.max()! < 200)
    }

    @Test("rendezvous hashing gives the same map whatever order the runners are seen in")
    func rendezvousIgnoresOrder() {
        let shards = ClusterSettings().allShards
        let runners = ["127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003"]
        let map = Rendezvous.assignment(of: shards, among: runners)
        #expect(map.count == 300)
        #expect(Rendezvous.assignment(of: shards, among: runners.reversed()) == map)
        #expect(Rendezvous.assignment(of: shards, among: [runners[1], runners[2], runners[0]]) == map)
    }

    @Test("a runner leaving moves only its own shards; a runner joining takes about a third")
    func rendezvousMovesLittle() {
        let shards = ClusterSettings().allShards
        let three = ["127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003"]
        let before = Rendezvous.assignment(of: shards, among: three)
        let after = Rendezvous.assignment(of: shards, among: Array(three.prefix(2)))
        for shard in shards where before[shard] != three[2] {
            #expect(after[shard] == before[shard], "\(shard) stays with \(before[shard]!)")
        }
        let counts = Dictionary(grouping: before.values, by: { $0 }).mapValues(\.count)
        for runner in three { #expect((60...140).contains(counts[runner] ?? 0), "\(runner) has \(counts[runner] ?? 0)") }
    }

    @Test("shard ranges print compactly for logs")
    func ranges() {
        let shards = [0, 1, 2, 3, 7, 9, 10].map { ShardID(group: "default", index: $0) }
            + [ShardID(group: "workflows", index: 4)]
        #expect(ShardRanges(shards.reversed()).description == "default/0-3,7,9-10 workflows/4")
    }

    @Test("runner addresses parse as host:port and bad ones are refused with the reason")
    func addresses() throws {
        #expect(try RunnerAddress(parsing: "127.0.0.1:7420") == RunnerAddress(host: "127.0.0.1", port: 7420))
        #expect(try RunnerAddress(parsing: "[::1]:7420").description == "[::1]:7420")
        for (text, reason) in [("localhost", "must be host:port"), (":7420", "no valid host"),
                               ("127.0.0.1:0", "port from 1 to 65535"), ("127.0.0.1:http", "port from 1 to 65535")] {
            let error = #expect(throws: WorkflowError.self) { try RunnerAddress(parsing: text) }
            #expect(error?.message.contains(reason) == true, "\(text): \(error?.message ?? "")")
        }
    }

    @Test("cluster settings are checked, and a mismatch names the setting and both values")
    func settings() throws {
        try ClusterSettings().validate()
        #expect(throws: WorkflowError.self) { try ClusterSettings(shardsPerGroup: 0).validate() }
        #expect(throws: WorkflowError.self) { try ClusterSettings(shardGroups: ["default", "a", "a"]).validate() }
        #expect(throws: WorkflowError.self) { try ClusterSettings(shardGroups: ["default", "bad name"]).validate() }
        try ClusterSettings(shardGroups: ["default", "entities"]).validate()
        let withoutDefault = #expect(throws: WorkflowError.self) {
            try ClusterSettings(shardGroups: ["workflows"]).validate()
        }
        #expect(withoutDefault?.message.contains("must include 'default'") == true)
        #expect(ClusterSettings().mismatch(with: ClusterSettings()) == nil)
        let mismatch = ClusterSettings(shardsPerGroup: 100).mismatch(with: ClusterSettings())
        #expect(mismatch?.description.contains("shards_per_group differs: this runner has 100, the cluster uses 300")
                == true)
    }
}
