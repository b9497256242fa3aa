import Logging
import Roost
import RoostTesting

/// Runner systems in the test process, on free loopback ports, each hosting the shards rendezvous hashing gives it:
/// calls between them go over gRPC exactly as between runner processes, with no database.
struct InProcessRunners {
    let addresses: [String]
    let settings = ClusterSettings(shardsPerGroup: 16)
    let systems: [ClusterSystem]

    /// Systems with `count` runners, each registering entities with `register`.
    init(count: Int, register: (ClusterSystem) -> Void) throws {
        let addresses = (0..<count).map { _ in "127.0.0.1:\(FreePort.next())" }
        self.addresses = addresses
        let settings = settings
        systems = try addresses.map { try ClusterSystem(address: $0, settings: settings,
                                                        logger: Logger(label: "roost.test")) }
        for system in systems { register(system) }
    }

    /// An entity id whose shard the runner at `index` holds.
    func id(ownedBy index: Int, prefix: String) -> String {
        (0...).lazy.map { "\(prefix)-\($0)" }.first {
            Rendezvous.owner(of: settings.shard(for: $0), among: addresses) == addresses[index]
        }!
    }

    /// Runs the systems, each holding its shards, for the duration of `body`.
    func run<Result: Sendable>(_ body: @Sendable ([ClusterSystem]) async throws -> Result) async throws -> Result {
        for (index, system) in systems.enumerated() {
            system.observed(liveRunners: addresses)
            let held = (0..<settings.shardsPerGroup).map { ShardID(group: ClusterSettings.defaultGroup, index: $0) }
                .filter { Rendezvous.owner(of: $0, among: addresses) == addresses[index] }
            await system.acquired(held.map { ShardLease(shard: $0, epoch: 1) })
        }
        let systems = systems
        return try await withThrowingTaskGroup(of: Void.self) { group in
            for system in systems { group.addTask { try await system.run() } }
            defer { for system in systems { system.shutdown() } }
            for system in systems { try await system.listening() }
            return try await body(systems)
        }
    }
}
