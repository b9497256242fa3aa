import Logging

/// Runs the registered singletons whose shards this runner holds: starts one when its shard is acquired,
/// restarts it with back-off when it fails, and stops it when the shard leaves (graceful hand-over, or a lost
/// lease).
public actor SingletonHost: ShardHost {
    /// One placement of a singleton on this runner, from the shard's acquisition to its departure.
    private final class Placement: Sendable {
        let singleton: Singleton
        let lease: ShardLease
        let finished = Waiter()
        private let task: Task<Void, Never>

        init(_ singleton: Singleton, lease: ShardLease, runner: String, logger: Logger) {
            self.singleton = singleton
            self.lease = lease
            let finished = finished
            task = Task {
                await Self.run(singleton, lease: lease, runner: runner, logger: logger)
                finished.signal()
            }
        }

        /// Cancels the body and waits for it to end, at most its stop timeout.
        /// - Returns: Whether it ended in time.
        func stop() async -> Bool {
            task.cancel()
            return await finished.wait(until: .now + singleton.stopTimeout)
        }

        private static func run(_ singleton: Singleton, lease: ShardLease, runner: String, logger: Logger) async {
            var failures = 0
            var restarts = 0
            while !Task.isCancelled {
                let context = SingletonContext(name: singleton.name, runner: runner, lease: lease, restarts: restarts,
                                               logger: logger)
                logger.info("singleton started")
                let started = ContinuousClock.now
                do {
                    try await singleton.body(context)
                    logger.info("singleton returned; it runs again when its shard moves")
                    return
                } catch {
                    if Task.isCancelled {
                        logger.debug("singleton ended on its stop signal", metadata: ["roost.error": "\(error)"])
                        break
                    }
                    if ContinuousClock.now - started >= singleton.healthyAfter { failures = 0 }
                    failures += 1
                    restarts += 1
                    let backoff = singleton.restartBackoff.backoff(after: failures)
                    logger.error("singleton failed; restarting after back-off", metadata: [
                        "roost.error": "\(error)", "roost.backoff": "\(backoff)",
                    ])
                    do { try await Task.sleep(for: backoff) } catch { break }
                }
            }
            logger.info("singleton stopped")
        }
    }

    private let singletons: [Singleton]
    private let settings: ClusterSettings
    private let runner: String
    private let logger: Logger
    private var placements: [String: Placement] = [:]

    /// A host of `singletons` on the runner at `runner`.
    /// - Precondition: The names are unique.
    public init(_ singletons: [Singleton], settings: ClusterSettings, runner: String, logger: Logger) {
        precondition(Set(singletons.map(\.name)).count == singletons.count, "singleton names must be unique")
        self.singletons = singletons
        self.settings = settings
        self.runner = runner
        self.logger = logger
    }

    /// The shard a singleton runs on: the shard of its name in the default group.
    public nonisolated func shard(of name: String) -> ShardID {
        settings.shard(for: name, group: ClusterSettings.defaultGroup)
    }

    /// The singletons running on this runner, by name.
    public func running() -> [String] {
        placements.keys.sorted()
    }

    public func acquired(_ leases: [ShardLease]) {
        let byShard = Dictionary(leases.map { ($0.shard, $0) }) { $1 }
        for singleton in singletons where placements[singleton.name] == nil {
            guard let lease = byShard[shard(of: singleton.name)] else { continue }
            var logger = self.logger
            logger[metadataKey: "roost.singleton"] = "\(singleton.name)"
            logger[metadataKey: "roost.shard"] = "\(lease.shard)"
            placements[singleton.name] = Placement(singleton, lease: lease, runner: runner, logger: logger)
        }
    }

    public func stopping(_ shards: [ShardID]) async {
        let leaving = Set(shards)
        let stopping = placements.filter { leaving.contains($0.value.lease.shard) }
        for name in stopping.keys { placements[name] = nil }
        await withDiscardingTaskGroup { group in
            for (name, placement) in stopping {
                group.addTask {
                    guard await !placement.stop() else { return }
                    self.logger.error("singleton ignored its stop signal: handed over without it, writes fenced",
                                      metadata: [
                                        "roost.singleton": "\(name)",
                                        "roost.timeout": "\(placement.singleton.stopTimeout)",
                                      ])
                }
            }
        }
    }

    public nonisolated func observed(liveRunners: [String]) {}
}
