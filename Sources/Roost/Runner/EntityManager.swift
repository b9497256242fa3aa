import Distributed
import Logging

/// The entities this runner hosts: activates an instance on demand when its shard is held here, runs calls
/// through the instance's mailbox, passivates idle instances, and stops a shard's instances when the shard
/// leaves.
actor EntityManager {
    private struct Instance {
        let actor: any Entity
        let mailbox: Mailbox
        let shard: ShardID
    }

    private let configuration: ClusterSystem.Configuration
    private let logger: Logger
    private var hosted: [ShardID: Int64] = [:]
    private var instances: [EntityAddress: Instance] = [:]

    init(configuration: ClusterSystem.Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// The lease on a shard, if this runner hosts it.
    func lease(for shard: ShardID) -> ShardLease? {
        hosted[shard].map { ShardLease(shard: shard, epoch: $0) }
    }

    /// How many shards this runner hosts and how many entity instances are active.
    func census() -> (shards: Int, entities: Int) {
        (hosted.count, instances.count)
    }

    /// The shards this runner hosts.
    func heldShards() -> [ShardID] {
        hosted.keys.sorted()
    }

    /// Runs a call on the local instance, activating it if needed.
    func handle(_ call: WireCall, in system: ClusterSystem) async -> EntityReply {
        // A call that found its instance just passivated activates a fresh one.
        for _ in 0..<2 {
            let instance: Instance
            switch activate(call.address, in: system) {
            case .success(let found): instance = found
            case .failure(let error): return EntityReply(error: error)
            }
            do {
                let reply = try await instance.mailbox.run {
                    try await Self.invoke(call, on: instance.actor, in: system)
                }
                guard let error = reply.error, error.code == EntityCallError.leaseLost else { return reply }
                // Another runner owns the shard now: stop hosting it here and let the caller find the owner.
                logger.warning("shard lease lost: stopping its entities", metadata: [
                    "roost.shard": "\(instance.shard)", "roost.entity": "\(call.address)",
                ])
                await stop([instance.shard])
                return EntityReply(error: EntityCallError(EntityCallError.notHere, error.message))
            } catch is MailboxClosed {
                continue
            } catch let error as EntityCallError {
                return EntityReply(error: error)
            } catch {
                return EntityReply(error: EntityCallError(EntityCallError.failed, String(describing: error)))
            }
        }
        return EntityReply(error: EntityCallError(EntityCallError.notHere, "\(call.address) is stopping here"))
    }

    /// Runs the call's method on the instance. The entity's own calls are best-effort unless it chooses otherwise.
    private static func invoke(_ call: WireCall, on actor: any Entity, in system: ClusterSystem) async throws
        -> EntityReply {
        try await Delivery.$current.withValue(.bestEffort) {
            var decoder = EntityInvocationDecoder(generics: call.generics, arguments: call.arguments)
            let handler = EntityResultHandler()
            try await system.executeDistributedTarget(on: actor, target: RemoteCallTarget(call.target),
                                                      invocationDecoder: &decoder, handler: handler)
            return handler.reply
        }
    }

    private func activate(_ address: EntityAddress, in system: ClusterSystem) -> Result<Instance, EntityCallError> {
        if let instance = instances[address] { return .success(instance) }
        guard let factory = system.factory(for: address.type) else {
            return .failure(EntityCallError(EntityCallError.unknownEntity,
                                            "no entity type '\(address.type)' is registered; registered: "
                                            + system.entityTypes.joined(separator: ", ")))
        }
        let shard = system.settings.shard(for: address.id, group: factory.group)
        guard hosted[shard] != nil else {
            return .failure(EntityCallError(EntityCallError.notHere, "shard \(shard) is not held here"))
        }
        let actor = ClusterSystem.$activating.withValue(address) { factory.make(system) }
        let instance = Instance(actor: actor, mailbox: Mailbox(address: address, concurrency: configuration.callsPerEntity,
                                                               capacity: configuration.mailboxCapacity),
                                shard: shard)
        instances[address] = instance
        logger.debug("entity activated", metadata: ["roost.entity": "\(address)", "roost.shard": "\(shard)"])
        return .success(instance)
    }

    /// The runner now holds these shards.
    func acquired(_ leases: [ShardLease]) {
        for lease in leases { hosted[lease.shard] = lease.epoch }
    }

    /// Stops hosting shards: refuses new calls for them and returns once their instances' calls have ended.
    func stop(_ shards: [ShardID]) async {
        let leaving = Set(shards)
        for shard in shards { hosted[shard] = nil }
        let stopping = instances.filter { leaving.contains($0.value.shard) }
        for address in stopping.keys { instances[address] = nil }
        await withDiscardingTaskGroup { group in
            for instance in stopping.values { group.addTask { await instance.mailbox.close() } }
        }
        if !stopping.isEmpty {
            logger.debug("entities stopped", metadata: ["roost.count": "\(stopping.count)"])
        }
    }

    /// Passivates instances idle for longer than the configured time.
    func passivateIdle() async {
        let threshold = ContinuousClock.now - configuration.idleTimeout
        let idle = instances.filter { $0.value.mailbox.idle(since: threshold) }
        for address in idle.keys { instances[address] = nil }
        for instance in idle.values { await instance.mailbox.close() }
        if !idle.isEmpty { logger.debug("entities passivated", metadata: ["roost.count": "\(idle.count)"]) }
    }
}
