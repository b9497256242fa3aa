import Logging

/// A named task that runs on exactly one runner of the cluster: the holder of its shard. When that runner dies,
/// leaves or loses the shard, the singleton starts on the shard's next holder.
///
/// The body runs until it is cancelled: cancellation is the signal to hand over (the shard is leaving this runner,
/// or the runner found it lost its lease). A body that ignores it for ``stopTimeout`` is left behind: the shard is
/// released anyway, and the body's fenced writes (``SingletonContext/lease``) fail from then on. A body that throws
/// is restarted on the same runner after ``restartBackoff``; a body that returns is done until its shard moves.
///
/// ```swift
/// let reporter = Singleton("nightly-report") { context in
///     while true {
///         try await storage.cluster.withFencedTransaction(context.lease) { connection in … }
///         try await Task.sleep(for: .seconds(60))
///     }
/// }
/// ```
public struct Singleton: Sendable {
    /// The singleton's name, unique in the cluster; its shard is the shard of this name.
    public let name: String
    /// How long a cancelled body may take to end before the runner hands the shard over without it.
    public var stopTimeout: Duration
    /// The back-off before each restart after the body threw; it grows with each failure in a row and starts
    /// over once the body ran for ``healthyAfter``. `maximumAttempts` is not used: it restarts while held.
    public var restartBackoff: RetryPolicy
    /// How long a run must last for the next failure to count as the first in a row.
    public var healthyAfter: Duration
    let body: @Sendable (SingletonContext) async throws -> Void

    /// A singleton.
    public init(_ name: String, stopTimeout: Duration = .seconds(10),
                restartBackoff: RetryPolicy = RetryPolicy(initialBackoff: .seconds(1), maximumBackoff: .seconds(60)),
                healthyAfter: Duration = .seconds(60),
                body: @escaping @Sendable (SingletonContext) async throws -> Void) {
        self.name = name
        self.stopTimeout = stopTimeout
        self.restartBackoff = restartBackoff
        self.healthyAfter = healthyAfter
        self.body = body
    }
}

/// What a singleton's body gets on the runner that runs it.
public struct SingletonContext: Sendable {
    /// The singleton's name.
    public let name: String
    /// The runner it runs on.
    public let runner: String
    /// The lease of its shard: fence every durable write with it, so that a runner that lost the shard writes
    /// nothing.
    public let lease: ShardLease
    /// How many times it was restarted on this runner after failures (0 for the first run).
    public let restarts: Int
    /// A logger with the singleton's name and shard.
    public let logger: Logger
}

extension ClusterStatus {
    /// The live runner that holds the shard a singleton named `name` runs on, if any.
    public func runner(ofSingleton name: String) -> String? {
        guard let shard = settings?.shard(for: name, group: ClusterSettings.defaultGroup) else { return nil }
        return leases.first { $0.shard == shard && $0.live }?.owner
    }
}
