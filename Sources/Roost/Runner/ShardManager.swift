import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Keeps this runner's membership and shard leases: registers the runner, heartbeats, computes the target map by
/// rendezvous hashing over the live runners, releases shards that are no longer its own after its host stopped
/// them, and acquires its targets with a compare-and-swap that increments each shard's epoch.
///
/// If it cannot renew before its leases expire by its own clock, it detaches: the host stops every shard, and the
/// manager acquires them again once it reaches the store. A runner whose registration expired in the store (it
/// was paused or cut off for longer than its TTL) rejoins as a new incarnation.
public actor ShardManager {
    /// How the manager runs.
    public struct Configuration: Sendable {
        /// The address the runner listens on and advertises (host:port); its identity for shard assignment.
        public var address: String
        /// How long a registration and its leases last without a heartbeat.
        public var leaseTTL: Duration = .seconds(10)
        /// How often the runner heartbeats and rebalances at most; a runner joining or leaving also triggers a
        /// rebalance at once. The heartbeat runs at least three times per TTL.
        public var rebalanceInterval: Duration = .seconds(2)
        /// The settings the cluster must share.
        public var settings = ClusterSettings()

        /// A configuration for a runner at an address.
        public init(address: String) {
            self.address = address
        }

        /// The interval between heartbeats.
        var tick: Duration { min(rebalanceInterval, leaseTTL / 3) }

        /// Checks the values.
        /// - Throws: ``WorkflowError`` `invalid_argument` naming the value.
        public func validate() throws {
            try settings.validate()
            guard leaseTTL >= .milliseconds(300) else {
                throw WorkflowError(.invalidArgument, "the lease TTL must be at least 0.3 seconds, not \(leaseTTL)")
            }
            guard rebalanceInterval > .zero else {
                throw WorkflowError(.invalidArgument, "the rebalance interval must be positive")
            }
        }
    }

    /// The configuration.
    public nonisolated let configuration: Configuration
    private let store: any ClusterStore
    private let host: (any ShardHost)?
    private var logger: Logger
    private var incarnation = UUID()
    private var held: [ShardID: Int64] = [:]
    /// When the leases expire by this process's clock: one TTL after the last successful heartbeat was sent.
    private var validUntil: ContinuousClock.Instant?
    private var machine: Int?
    private let kick = Waiter()
    private let leaving = Atomic(false)

    /// A manager for a runner.
    /// - Parameters:
    ///   - store: The cluster store.
    ///   - configuration: The runner's address, TTL, interval and settings.
    ///   - host: What the runner hosts on its shards.
    ///   - logger: The logger.
    public init(store: any ClusterStore, configuration: Configuration, host: (any ShardHost)?, logger: Logger) {
        self.store = store
        self.configuration = configuration
        self.host = host
        self.logger = logger
        self.logger[metadataKey: "roost.runner"] = "\(configuration.address)"
    }

    /// The runner's machine id, unique among live runners, once registered.
    public var machineId: Int? { machine }

    /// The leases this runner holds.
    public var leases: [ShardLease] {
        held.map { ShardLease(shard: $0.key, epoch: $0.value) }.sorted { $0.shard < $1.shard }
    }

    /// Whether the last heartbeat renewed the leases within their TTL by this process's clock: the database
    /// answered it, and the runner has not detached.
    public var leasesRenewed: Bool {
        validUntil.map { $0 > .now } ?? false
    }

    /// The lease on a shard, if this runner holds it.
    public func lease(for shard: ShardID) -> ShardLease? {
        held[shard].map { ShardLease(shard: shard, epoch: $0) }
    }

    /// Checks the cluster settings and registers the runner. ``run()`` does it if it was not done.
    /// - Throws: ``ClusterSettingsMismatch`` if the cluster uses other settings; the store's error if the
    ///   registration fails.
    public func join() async throws {
        guard machine == nil else { return }
        try configuration.validate()
        let cluster = try await store.settings(proposing: configuration.settings)
        if let mismatch = configuration.settings.mismatch(with: cluster) { throw mismatch }
        try await register()
    }

    /// Joins if needed, then keeps heartbeating and rebalancing until graceful shutdown or cancellation; then stops
    /// every shard, releases them and leaves the cluster.
    /// - Throws: What ``join()`` throws; ``RunnerReplaced`` if another runner registers at this address.
    public func run() async throws {
        try await join()
        let token = store.addMembershipHandler { [kick] in kick.signal() }
        defer { store.removeMembershipHandler(token) }
        try await withGracefulShutdownHandler {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await self.watchdog() }
                defer { group.cancelAll() }
                try await heartbeatLoop()
            }
        } onGracefulShutdown: {
            self.requestLeave()
        }
        await leave()
    }

    nonisolated private func requestLeave() {
        leaving.store(true, ordering: .relaxed)
        kick.signal()
    }

    private func heartbeatLoop() async throws {
        var failing = false
        while !Task.isCancelled, !leaving.load(ordering: .relaxed) {
            kick.reset()
            do {
                try await tick()
                RoostMetrics.leaseRenewal(succeeded: true)
                if failing { logger.notice("heartbeat recovered") }
                failing = false
            } catch let error as RunnerReplaced {
                await detach(reason: "replaced")
                throw error
            } catch {
                // The first failure of a run is a warning; the same trouble every tick after it is noise.
                RoostMetrics.leaseRenewal(succeeded: false)
                logger.log(level: failing ? .debug : .warning, "heartbeat failed",
                           metadata: ["roost.error": "\(String(reflecting: error))"])
                failing = true
            }
            _ = await kick.wait(until: .now + configuration.tick)
        }
    }

    private func register() async throws {
        machine = try await store.register(address: configuration.address, incarnation: incarnation,
                                           leaseTTL: configuration.leaseTTL)
        logger.info("runner joined the cluster", metadata: [
            "roost.incarnation": "\(incarnation)", "roost.machine": "\(machine ?? -1)",
            "roost.lease_ttl": "\(configuration.leaseTTL)",
        ])
    }

    /// One heartbeat and rebalance.
    private func tick() async throws {
        let sent = ContinuousClock.now
        let current = incarnation
        switch try await store.heartbeat(incarnation: current, leaseTTL: configuration.leaseTTL) {
        case .replaced:
            throw RunnerReplaced(address: configuration.address)
        case .expired:
            await detach(reason: "registration expired")
            incarnation = UUID()
            try await register()
        case .alive(let view):
            guard current == incarnation else { return }
            validUntil = sent + configuration.leaseTTL
            host?.observed(liveRunners: view.liveRunners)
            try await rebalance(view)
        }
    }

    private func rebalance(_ view: ClusterView) async throws {
        let stored = Dictionary(view.held.map { ($0.shard, $0.epoch) }, uniquingKeysWith: max)
        let lost = held.filter { stored[$0.key] != $0.value }.map(\.key).sorted()
        if !lost.isEmpty {
            for shard in lost { held[shard] = nil }
            await stopHosting(lost)
            logger.warning("shards lost to another runner", metadata: Self.metadata(lost))
        }

        let address = configuration.address
        let targets = Set(configuration.settings.allShards.filter {
            Rendezvous.owner(of: $0, among: view.liveRunners) == address
        })
        let extra = Set(held.keys).union(stored.keys).subtracting(targets).sorted()
        if !extra.isEmpty {
            let hosted = extra.filter { held[$0] != nil }
            for shard in hosted { held[shard] = nil }
            if !hosted.isEmpty { await stopHosting(hosted) }
            try await store.release(extra, incarnation: incarnation)
            logger.info("shards released", metadata: Self.metadata(extra))
        }

        let missing = targets.subtracting(held.keys).sorted()
        defer { RoostMetrics.shardsHeld(held.count) }
        guard !missing.isEmpty else { return }
        let current = incarnation
        let acquired = try await store.acquire(missing, incarnation: current)
        // A detachment while acquiring leaves these in the store only: the next heartbeat acquires them again.
        guard current == incarnation, let validUntil, validUntil > .now else { return }
        for lease in acquired { held[lease.shard] = lease.epoch }
        if !acquired.isEmpty {
            await host?.acquired(acquired)
            var metadata = Self.metadata(acquired.map(\.shard))
            metadata["roost.epochs"] = "\(acquired.map(\.epoch).min() ?? 0)...\(acquired.map(\.epoch).max() ?? 0)"
            metadata["roost.held"] = "\(held.count)"
            logger.info("shards acquired", metadata: metadata)
        }
    }

    /// Detaches when the leases expire by this process's clock before a heartbeat renewed them.
    private func watchdog() async {
        while !Task.isCancelled {
            guard let deadline = validUntil else {
                try? await Task.sleep(for: configuration.tick)
                continue
            }
            try? await Task.sleep(until: deadline)
            if let current = validUntil, current <= .now {
                await detach(reason: "leases not renewed in time")
            }
        }
    }

    /// Stops hosting every shard without touching the store.
    private func detach(reason: String) async {
        validUntil = nil
        let shards = held.keys.sorted()
        held = [:]
        RoostMetrics.shardsHeld(0)
        guard !shards.isEmpty else { return }
        RoostMetrics.detached()
        await stopHosting(shards)
        var metadata = Self.metadata(shards)
        metadata["roost.reason"] = "\(reason)"
        logger.warning("runner detached from its shards", metadata: metadata)
    }

    /// Stops every shard, releases them and ends the registration.
    private func leave() async {
        let shards = held.keys.sorted()
        held = [:]
        validUntil = nil
        if !shards.isEmpty { await stopHosting(shards) }
        do {
            try await store.deregister(incarnation: incarnation)
            logger.info("runner left the cluster", metadata: ["roost.released": "\(shards.count)"])
        } catch {
            logger.warning("leaving the cluster failed: its shards move when its lease expires",
                           metadata: ["roost.error": "\(String(reflecting: error))"])
        }
    }

    /// Asks the host to stop the shards' work and waits for it for at most half a lease TTL: the heartbeat that
    /// renews the other leases must not wait past them for work that does not stop (an entity call, a singleton
    /// that ignores its stop, a long activity body). Work still going then is fenced out once the shard is
    /// released or taken.
    private func stopHosting(_ shards: [ShardID]) async {
        guard let host else { return }
        let budget = configuration.leaseTTL / 2
        let stopped = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await host.stopping(shards)
                return true
            }
            group.addTask {
                try? await Task.sleep(for: budget)
                return false
            }
            let first = await group.next() ?? true
            group.cancelAll()
            return first
        }
        if !stopped {
            var metadata = Self.metadata(shards)
            metadata["roost.waited"] = "\(budget)"
            logger.warning("shards' work did not stop within half a lease TTL; their writes are fenced from now on",
                           metadata: metadata)
        }
    }

    private static func metadata(_ shards: [ShardID]) -> Logger.Metadata {
        ["roost.shards": "\(ShardRanges(shards))", "roost.count": "\(shards.count)"]
    }
}
