import Foundation

/// Where a cluster keeps its membership, settings and shard leases. Every expiry decision uses the store's clock
/// (the database's `now()`), never a runner's.
///
/// A runner is *live* while its registration has not expired; a heartbeat extends it by the runner's lease TTL.
/// A shard's lease belongs to one runner incarnation and is valid while that runner is live: renewing the
/// heartbeat renews every lease the runner holds.
public protocol ClusterStore: Sendable {
    /// Stores the settings if the cluster has none yet, and returns the settings the cluster uses.
    func settings(proposing settings: ClusterSettings) async throws -> ClusterSettings

    /// The settings the cluster uses, or `nil` if no runner has stored them yet.
    func storedSettings() async throws -> ClusterSettings?

    /// Registers a runner incarnation, live for one lease TTL. An earlier incarnation at the same address is
    /// declared dead: only one process can listen on an address, so its predecessor has gone.
    /// - Returns: The runner's machine id, unique among live runners (0…1023).
    func register(address: String, incarnation: UUID, leaseTTL: Duration) async throws -> Int

    /// Extends a live runner's registration and with it every lease it holds, and reads the cluster as it now is.
    func heartbeat(incarnation: UUID, leaseTTL: Duration) async throws -> HeartbeatOutcome

    /// Acquires shards that are free, held by a runner that is no longer live, or held by this incarnation, each
    /// with a compare-and-swap that increments its epoch. A shard held by another live runner is left alone.
    /// - Returns: The shards acquired, with their new epochs.
    func acquire(_ shards: [ShardID], incarnation: UUID) async throws -> [ShardLease]

    /// Gives up shards this incarnation holds, so that their next owner can take them at once.
    func release(_ shards: [ShardID], incarnation: UUID) async throws

    /// Releases every shard the incarnation holds and ends its registration.
    func deregister(incarnation: UUID) async throws

    /// The addresses of the live runners.
    func liveRunners() async throws -> [String]

    /// Whether the runner last registered at `address` left the cluster gracefully (it drains its calls) rather
    /// than died or expired.
    func leftGracefully(address: String) async throws -> Bool

    /// Runners and shard owners as the store sees them.
    func status() async throws -> ClusterStatus

    /// Forgets at most `limit` acquisitions in the lease history and at most `limit` runner registrations (dead,
    /// owning no lease) older than `age`, by the store's clock.
    /// - Returns: How many rows were forgotten.
    func forgetHistory(olderThan age: Duration, limit: Int) async throws -> Int

    /// Registers a handler called when a runner joins or leaves anywhere in the cluster.
    /// - Returns: A token for ``removeMembershipHandler(_:)``.
    func addMembershipHandler(_ handler: @escaping @Sendable () -> Void) -> Int

    /// Removes a handler.
    func removeMembershipHandler(_ token: Int)
}

/// What a heartbeat found.
public enum HeartbeatOutcome: Sendable, Equatable {
    /// The runner is live; its registration and leases are extended.
    case alive(ClusterView)
    /// The runner's registration had expired (it was paused or cut off for longer than its TTL): other runners may
    /// own its shards now. It must stop hosting them and register again as a new incarnation.
    case expired
    /// Another incarnation registered at this runner's address.
    case replaced
}

/// The cluster as one heartbeat saw it.
public struct ClusterView: Sendable, Equatable {
    /// Addresses of the live runners, this one included.
    public var liveRunners: [String]
    /// The leases this runner holds according to the store.
    public var held: [ShardLease]

    /// A view of the cluster.
    public init(liveRunners: [String], held: [ShardLease]) {
        self.liveRunners = liveRunners
        self.held = held
    }
}

/// Runners and shard ownership, for `roost cluster status`.
public struct ClusterStatus: Sendable, Codable, Equatable {
    /// One runner incarnation.
    public struct Runner: Sendable, Codable, Equatable {
        /// The address it listens on and advertises (host:port).
        public var address: String
        /// The incarnation id: new every time a runner process registers.
        public var incarnation: UUID
        /// Its machine id.
        public var machineId: Int
        /// `live`, `expired` (missed its heartbeats) or `stopped` (left gracefully).
        public var health: String
        /// When it registered.
        public var startedAt: Date
        /// Its last heartbeat.
        public var heartbeatAt: Date
        /// When its registration and leases expire (or expired).
        public var expiresAt: Date
        /// How many shards it holds.
        public var shards: Int

        /// A runner as the store describes it.
        public init(address: String, incarnation: UUID, machineId: Int, health: String, startedAt: Date,
                    heartbeatAt: Date, expiresAt: Date, shards: Int) {
            self.address = address
            self.incarnation = incarnation
            self.machineId = machineId
            self.health = health
            self.startedAt = startedAt
            self.heartbeatAt = heartbeatAt
            self.expiresAt = expiresAt
            self.shards = shards
        }
    }

    /// One shard's lease.
    public struct Lease: Sendable, Codable, Equatable {
        /// The shard.
        public var shard: ShardID
        /// The owner's address, if a runner holds it.
        public var owner: String?
        /// The owner's incarnation, if any.
        public var incarnation: UUID?
        /// Whether the owner is live: a lease held by an expired runner can be taken by any other.
        public var live: Bool
        /// The epoch of the last acquisition.
        public var epoch: Int64
        /// When it was last acquired.
        public var acquiredAt: Date?

        /// A lease as the store describes it.
        public init(shard: ShardID, owner: String?, incarnation: UUID?, live: Bool, epoch: Int64, acquiredAt: Date?) {
            self.shard = shard
            self.owner = owner
            self.incarnation = incarnation
            self.live = live
            self.epoch = epoch
            self.acquiredAt = acquiredAt
        }
    }

    /// The cluster's settings.
    public var settings: ClusterSettings?
    /// Runner incarnations, live first, then the most recent.
    public var runners: [Runner]
    /// Every shard's lease.
    public var leases: [Lease]
    /// The store's clock when it was read.
    public var readAt: Date

    /// Runners and leases.
    public init(settings: ClusterSettings?, runners: [Runner], leases: [Lease], readAt: Date) {
        self.settings = settings
        self.runners = runners
        self.leases = leases
        self.readAt = readAt
    }
}
