import DequeModule
import Logging

/// The owner's side of persisted calls (``Delivery/persisted``): runs each call once at a time on this runner —
/// a retry of a call that is running waits for its reply —, stores the reply under the shard's lease, and runs the
/// pending calls of every shard this runner acquires. As a safety net it also runs, every redelivery interval,
/// calls of its shards that stayed pending longer than a call may take: their callers gave up or died before
/// the call reached the owner.
actor PersistedDelivery {
    private struct Key: Hashable {
        let address: EntityAddress
        let requestID: String
    }

    private let store: any MessageStore
    private let configuration: ClusterSystem.Configuration
    private let logger: Logger
    /// Calls running here, with the retries waiting for their reply.
    private var running: [Key: [CheckedContinuation<EntityReply, Never>]] = [:]
    /// Final replies of recent calls, so that a retry arriving just after the run does not read the store.
    private var answered: [Key: EntityReply] = [:]
    private var answeredOrder: Deque<Key> = []
    private var acquired: Set<ShardID> = []
    private nonisolated let wake = Waiter()
    private nonisolated let stopping = Waiter()

    /// How many final replies are remembered in memory.
    private static let rememberedReplies = 4_096
    /// How many pending calls one read of the store returns.
    private static let batch = 500

    init(store: any MessageStore, configuration: ClusterSystem.Configuration, logger: Logger) {
        self.store = store
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs a persisted call on this runner, which holds its shard, and stores its reply.
    func handle(_ call: WireCall, in system: ClusterSystem) async -> EntityReply {
        guard let persisted = call.persisted else { return await system.entities.handle(call, in: system) }
        let key = Key(address: call.address, requestID: persisted.requestID)
        if let reply = answered[key] { return reply }
        if running[key] != nil {
            return await withCheckedContinuation { running[key, default: []].append($0) }
        }
        running[key] = []
        let reply = await deliver(call, recheck: persisted.recheck, in: system)
        if reply.isFinal { remember(reply, for: key) }
        for waiting in running.removeValue(forKey: key) ?? [] { waiting.resume(returning: reply) }
        return reply
    }

    private func deliver(_ call: WireCall, recheck: Bool, in system: ClusterSystem) async -> EntityReply {
        if recheck {
            do {
                if case .completed(_, let reply) = try await store.state(of: call.address,
                                                                          requestID: call.persisted?.requestID ?? "") {
                    return reply
                }
            } catch {
                return EntityReply(error: EntityCallError(EntityCallError.notHere, "the stored call to "
                                                          + "\(call.address) could not be read: \(error)"))
            }
        }
        let reply = await system.entities.handle(call, in: system)
        if Task.isCancelled {
            // The local caller was cancelled and with it the method: the outcome is not the call's own.
            return EntityReply(error: EntityCallError(EntityCallError.unavailable, "the call to \(call.address) was "
                                                      + "interrupted; it stays saved and runs again"))
        }
        guard reply.isFinal, let requestID = call.persisted?.requestID else { return reply }
        let shard = system.shard(of: call.address)
        guard let lease = await system.entities.lease(for: shard) else {
            return EntityReply(error: EntityCallError(EntityCallError.notHere, "shard \(shard) left this runner "
                                                      + "before the reply to \(call.address) was stored"))
        }
        do {
            return try await store.complete(call.address, requestID: requestID, reply: reply, lease: lease) ?? reply
        } catch let lost as ShardLeaseLost {
            logger.warning("shard lease lost: stopping its entities", metadata: [
                "roost.shard": "\(shard)", "roost.epoch": "\(lease.epoch)", "roost.entity": "\(call.address)",
            ])
            await system.entities.stop([shard])
            return EntityReply(error: EntityCallError(EntityCallError.notHere, lost.description))
        } catch {
            // Not stored: the caller retries, and the call runs again (at least once).
            return EntityReply(error: EntityCallError(EntityCallError.notHere, "the reply of \(call.address) "
                                                      + "could not be stored: \(error)"))
        }
    }

    private func remember(_ reply: EntityReply, for key: Key) {
        if answered.updateValue(reply, forKey: key) == nil { answeredOrder.append(key) }
        while answeredOrder.count > Self.rememberedReplies, let oldest = answeredOrder.popFirst() {
            answered[oldest] = nil
        }
    }

    // MARK: Redelivery

    /// The runner acquired shards: their pending calls are run next.
    func acquired(_ shards: [ShardID]) {
        acquired.formUnion(shards)
        wake.signal()
    }

    /// Ends ``run(in:)``.
    nonisolated func shutdown() {
        stopping.signal()
        wake.signal()
    }

    /// Runs the pending calls of acquired shards as they are acquired, and every redelivery interval the calls of
    /// held shards that stayed pending too long, until ``shutdown()``.
    func run(in system: ClusterSystem) async {
        var nextSweep = ContinuousClock.now + configuration.redeliveryInterval
        while !Task.isCancelled, !stopping.isSignalled {
            wake.reset()
            let shards = acquired.sorted()
            acquired = []
            if !shards.isEmpty { await redeliver(in: shards, olderThan: .zero, in: system) }
            if ContinuousClock.now >= nextSweep {
                nextSweep = .now + configuration.redeliveryInterval
                await redeliver(in: await system.entities.heldShards(), olderThan: configuration.callTimeout,
                                in: system)
            }
            await wake.wait(until: nextSweep)
        }
    }

    private func redeliver(in shards: [ShardID], olderThan age: Duration, in system: ClusterSystem) async {
        while !stopping.isSignalled {
            let calls: [PersistedCall]
            do {
                calls = try await store.pending(in: shards, olderThan: age, limit: Self.batch)
            } catch {
                logger.warning("could not read pending persisted calls; retrying at the next redelivery",
                               metadata: ["roost.error": "\(error)"])
                return
            }
            let due = calls.filter { running[Key(address: $0.address, requestID: $0.requestID)] == nil }
            guard !due.isEmpty else { return }
            logger.info("redelivering persisted calls", metadata: [
                "roost.count": "\(due.count)", "roost.shards": "\(Set(due.map(\.shard)).count)",
            ])
            let byEntity = Dictionary(grouping: due, by: \.address)
            let allAnswered = await withTaskGroup(of: Bool.self) { group in
                for calls in byEntity.values {
                    group.addTask {
                        var answered = true
                        for call in calls {
                            answered = await self.handle(WireCall(call), in: system).isFinal && answered
                        }
                        return answered
                    }
                }
                var all = true
                for await answered in group { all = all && answered }
                return all
            }
            // Calls left pending (their shard is leaving, a mailbox is full) wait for the next redelivery.
            if calls.count < Self.batch || !allAnswered { return }
        }
    }
}

extension WireCall {
    /// A stored call, sent to its entity on the runner that holds it.
    init(_ call: PersistedCall) {
        self.init(address: call.address, target: call.target, generics: call.generics, arguments: call.arguments,
                  persisted: Persisted(requestID: call.requestID, recheck: false))
    }
}
