import Logging
import Synchronization

/// The engine as the host of workflow executions on a runner's shards (DESIGN decision 7): with an
/// ``ExecutionPlacement`` it runs only executions whose shard its runner holds, every write of a run is fenced by
/// that shard's lease, and runs stop when their shard leaves. Without one it runs every execution of its schema.
extension WorkflowEngine: ShardHost {
    /// State of the shards the engine hosts.
    struct HeldShards: Sendable {
        /// The epoch of every shard held, by index.
        var epochs: [Int: Int64] = [:]
        /// Shards acquired whose pending and running executions are not yet launched.
        var unscanned: Set<Int> = []
        /// The shard of every run in memory.
        var runs: [ExecutionKey: Int] = [:]
    }

    public func acquired(_ leases: [ShardLease]) async {
        let mine = leases.filter { $0.shard.group == ClusterSettings.defaultGroup }
        guard placement != nil, !mine.isEmpty else { return }
        shards.withLock { state in
            for lease in mine {
                state.epochs[lease.shard.index] = lease.epoch
                state.unscanned.insert(lease.shard.index)
            }
        }
        pollNow.signal()
    }

    public func stopping(_ leaving: [ShardID]) async {
        let indices = Set(leaving.filter { $0.group == ClusterSettings.defaultGroup }.map(\.index))
        guard placement != nil, !indices.isEmpty else { return }
        let runs = shards.withLock { state in
            for index in indices {
                state.epochs[index] = nil
                state.unscanned.remove(index)
            }
            return state.runs.filter { indices.contains($0.value) }.map(\.key)
        }
        // Parked runs of the shards are the next owner's now.
        parked.withLock { $0.remove(shards: indices) }
        // Each run wakes, finds its shard gone and stops; one in an activity stops once the activity is journaled
        // (the lease is still held until the shard is released), at its next durable call.
        for key in runs { _ = hosted.signal(key) }
        if !runs.isEmpty { emit(.awaitingRuns(runs.count)) }
        await runsEnded(on: indices)
    }

    /// Returns once no run of these shards is in memory, or when the task is cancelled (the shard manager gives
    /// up waiting before its lease would expire; a run still going is then fenced out by the lease).
    private func runsEnded(on indices: Set<Int>) async {
        while !Task.isCancelled {
            runEnded.reset()
            guard shards.withLock({ $0.runs.values.contains(where: indices.contains) }) else { return }
            _ = await runEnded.wait(until: nil)
        }
    }

    public func observed(liveRunners: [String]) {}

    /// The leases held; `nil` outside a cluster.
    var heldLeases: [ShardLease]? {
        guard placement != nil else { return nil }
        return shards.withLock { state in
            state.epochs.map { ShardLease(shard: ShardID(group: ClusterSettings.defaultGroup, index: $0.key),
                                          epoch: $0.value) }
        }
    }

    /// The lease a run of the execution writes under now: `.none` outside a cluster, `nil` if its shard is not held.
    func lease(forExecution id: String) -> ShardLease?? {
        guard let placement else { return .some(nil) }
        guard let index = placement.knownShard(of: id),
              let epoch = shards.withLock({ $0.epochs[index] }) else { return nil }
        return .some(ShardLease(shard: ShardID(group: ClusterSettings.defaultGroup, index: index), epoch: epoch))
    }

    /// Whether this engine runs executions of the shard now (always outside a cluster).
    func holds(shard index: Int?) -> Bool {
        guard placement != nil else { return true }
        guard let index else { return false }
        return shards.withLock { $0.epochs[index] != nil }
    }

    /// Whether the lease a run writes under is still held.
    func stillHolds(_ lease: ShardLease?) -> Bool {
        guard let lease else { return true }
        return shards.withLock { $0.epochs[lease.shard.index] == lease.epoch }
    }

    /// Hands an execution whose run stopped without finishing to its shard's owner, unless the process is shutting
    /// down (its next start, or the shard's next owner, resumes what it leaves). The owner may be this runner, at a
    /// newer epoch than the stopped run's: its wake-up then runs it again here, now that the old run is gone.
    func handOff(_ key: ExecutionKey) async {
        guard placement != nil, !Task.isCancelled else { return }
        do {
            try await store.handOff(key: key)
        } catch {
            logger.debug("could not hand a stopped run's execution off; the reconciliation will find it", metadata: [
                "roost.execution.key": "\(key)", "roost.error": "\(String(reflecting: error))",
            ])
        }
    }

    /// Runs ``reconcile()`` every ``Configuration/reconcileInterval``.
    func reconcileLoop() async {
        guard placement != nil else { return }
        while !Task.isCancelled {
            try? await Task.sleep(for: configuration.reconcileInterval)
            guard !Task.isCancelled else { return }
            await reconcile()
        }
    }

    /// Launches the pending and running executions of the shards held that no run in memory works on: the safety
    /// net for a start, a hand-off or a wake-up whose announcement was lost.
    func reconcile() async {
        let held = shards.withLock { Array($0.epochs.keys) }
        guard !held.isEmpty else { return }
        do {
            let orphans = try await store.runnableExecutions(workflows: registry.names, shards: held).filter { key in
                !inMemory(key)
            }
            for key in orphans { replay(Launch(key: key)) }
            if !orphans.isEmpty {
                logger.info("executions with no run in memory launched", metadata: ["roost.count": "\(orphans.count)"])
            }
            emit(.reconciled(orphans))
        } catch {
            logger.debug("could not reconcile the executions of the shards held",
                         metadata: ["roost.error": "\(String(reflecting: error))"])
        }
    }

    /// Launches the pending and running executions of shards acquired since the last call, and places executions
    /// stored without a shard. Their waiting executions stay in the database: the poll finds those that are woken
    /// or fall due.
    func scanAcquiredShards(placing: Bool) async {
        guard let placement else { return }
        do {
            if placing, let settings = placement.knownSettings {
                let placed = try await store.placeUnplacedExecutions { settings.shard(for: $0).index }
                if placed > 0 {
                    logger.info("executions placed on shards", metadata: ["roost.count": "\(placed)"])
                    shards.withLock { $0.unscanned.formUnion($0.epochs.keys) }
                }
            }
            let scanning = shards.withLock { $0.unscanned }
            guard !scanning.isEmpty else { return }
            let keys = try await store.runnableExecutions(workflows: registry.names, shards: Array(scanning))
            shards.withLock { $0.unscanned.subtract(scanning) }
            for key in keys { replay(Launch(key: key)) }
            if !keys.isEmpty {
                logger.info("executions of acquired shards resumed", metadata: [
                    "roost.count": "\(keys.count)", "roost.shards": "\(scanning.count)",
                ])
            }
        } catch {
            logger.warning("could not list the executions of acquired shards; retrying",
                           metadata: ["roost.error": "\(String(reflecting: error))"])
        }
    }
}
