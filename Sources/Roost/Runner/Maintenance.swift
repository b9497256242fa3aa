import Logging

/// The cluster's housekeeping, run by one runner at a time as the singleton ``singletonName``: every
/// ``Configuration/interval`` it deletes what is past its retention and reports executions stuck on shards no live
/// runner holds.
///
/// A round deletes, in statements of at most ``Configuration/batchSize`` rows each (each its own transaction, so
/// none holds locks for long and none touches an unfinished execution):
/// - finished executions (completed, failed, cancelled) with their journals and deferreds, once they finished more
///   than their workflow's ``Workflow/retention`` ago, or the cluster's ``Configuration/retention``;
/// - replies of persisted entity calls older than ``Configuration/messageRetention``;
/// - shard acquisitions in the lease history and registrations of dead runners older than the retention.
///
/// Deleting is idempotent, so the rare overlap of two rounds during a shard move (a paused runner that has not yet
/// seen it lost the singleton's shard) costs nothing but work: the deletes are not fenced.
public struct Maintenance: Sendable {
    /// Maintenance settings.
    public struct Configuration: Sendable {
        /// How long a finished execution is kept, for workflows that declare no ``Workflow/retention`` of their own;
        /// also how long the lease history and dead runners' registrations are kept. Defaults to 7 days.
        public var retention: Duration = .seconds(7 * 86_400)
        /// How long the replies of persisted entity calls are kept: a retry or a repeated idempotency key within
        /// this time gets the stored reply; after it, the same key is a new call. Defaults to 1 day.
        public var messageRetention: Duration = .seconds(86_400)
        /// How long the runner running maintenance waits between rounds. Defaults to 60 seconds.
        public var interval: Duration = .seconds(60)
        /// The most rows one delete statement removes. Defaults to 1,000.
        public var batchSize = 1_000
        /// How long an unfinished execution may go without progress, because no live runner holds its shard,
        /// before a round logs it as stuck. Defaults to 60 seconds.
        public var stuckAfter: Duration = .seconds(60)

        /// The defaults.
        public init() {}
    }

    /// What one round did.
    public struct Round: Sendable, Hashable {
        /// Finished executions deleted, by workflow.
        public var executions: [String: Int] = [:]
        /// Replies of persisted entity calls deleted.
        public var messages = 0
        /// Lease history rows and dead runners' registrations deleted.
        public var history = 0
        /// Executions stuck on shards no live runner holds (at most 10).
        public var stuck: [StuckExecution] = []
    }

    /// The singleton's name: its shard decides which runner runs maintenance.
    public static let singletonName = "roost-maintenance"

    let executions: any WorkflowStore
    let messages: any MessageStore
    let cluster: any ClusterStore
    let retentions: [String: Duration]
    /// The settings.
    public let configuration: Configuration
    let logger: Logger

    /// Maintenance of the stores of one cluster.
    /// - Parameters:
    ///   - executions: The workflow store.
    ///   - messages: The store of persisted entity calls.
    ///   - cluster: The membership store.
    ///   - retentions: The retention of each workflow that declares its own, by name (``WorkflowRegistry/retentions``).
    ///   - configuration: Settings.
    ///   - logger: Where rounds report what they deleted and what is stuck.
    public init(executions: any WorkflowStore, messages: any MessageStore, cluster: any ClusterStore,
                retentions: [String: Duration], configuration: Configuration = Configuration(), logger: Logger) {
        self.executions = executions
        self.messages = messages
        self.cluster = cluster
        self.retentions = retentions
        self.configuration = configuration
        self.logger = logger
    }

    /// The singleton that runs a round every ``Configuration/interval`` on the runner holding its shard. A round
    /// that fails is logged and the next one comes at its time.
    public var singleton: Singleton {
        Singleton(Self.singletonName, stopTimeout: .seconds(5)) { context in
            while true {
                do {
                    _ = try await round()
                } catch {
                    if Task.isCancelled { return }
                    context.logger.warning("maintenance round failed; the next one comes at its time",
                                           metadata: ["roost.error": "\(String(reflecting: error))"])
                }
                try await Task.sleep(for: configuration.interval)
            }
        }
    }

    /// Runs one round: deletes what is past its retention, batch after batch until none is left, then looks for
    /// stuck executions.
    /// - Returns: What the round did.
    /// - Throws: What a statement threw; what it deleted before that stays deleted.
    public func round() async throws -> Round {
        var round = Round()
        for workflow in try await executions.finishedWorkflows() {
            let age = retentions[workflow] ?? configuration.retention
            let deleted = try await drain {
                try await executions.deleteFinishedExecutions(workflow: workflow, finishedBefore: age,
                                                              limit: configuration.batchSize)
            }
            if deleted > 0 { round.executions[workflow] = deleted }
        }
        round.messages = try await drain {
            try await messages.purge(completedBefore: configuration.messageRetention, limit: configuration.batchSize)
        }
        round.history = try await drain {
            try await cluster.forgetHistory(olderThan: configuration.retention, limit: configuration.batchSize)
        }
        round.stuck = try await executions.stuckExecutions(olderThan: configuration.stuckAfter, limit: 10)
        report(round)
        return round
    }

    /// Runs `batch` until it deletes fewer than a full batch, or the task is cancelled.
    /// - Returns: How many rows the batches deleted.
    private func drain(_ batch: () async throws -> Int) async throws -> Int {
        var total = 0
        while !Task.isCancelled {
            let deleted = try await batch()
            total += deleted
            if deleted < configuration.batchSize { break }
        }
        return total
    }

    private func report(_ round: Round) {
        let executions = round.executions.values.reduce(0, +)
        RoostMetrics.retentionDeleted("executions", count: executions)
        RoostMetrics.retentionDeleted("messages", count: round.messages)
        RoostMetrics.retentionDeleted("history", count: round.history)
        if executions + round.messages + round.history > 0 {
            logger.info("maintenance deleted what was past its retention", metadata: [
                "roost.executions": "\(executions)", "roost.messages": "\(round.messages)",
                "roost.history": "\(round.history)",
            ])
        }
        if let oldest = round.stuck.first {
            logger.warning("executions are stuck: no live runner holds their shard", metadata: [
                "roost.count": "\(round.stuck.count)\(round.stuck.count == 10 ? "+" : "")",
                "roost.oldest": "\(oldest.workflow)/\(oldest.id) (shard \(oldest.shard.map(String.init) ?? "none"))",
            ])
        }
    }
}
