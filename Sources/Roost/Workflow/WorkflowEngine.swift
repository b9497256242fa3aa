import Foundation
import Logging
import ServiceContextModule
import ServiceLifecycle
import Synchronization
import Tracing

/// Hosts workflow executions in this process: runs new ones, resumes pending and running ones by replay at start-up
/// (and, in a cluster, when their shard is acquired), and wakes waiting ones — in memory for changes made here,
/// through store notifications for changes made elsewhere, with one batched poll per interval as the safety net,
/// and by their due times, which the poll reads from the database. Waiting executions stay in the database: what a
/// start-up or a failover costs is what was running, not what waits.
///
/// Run it as a `Service` (its ``run()`` owns every execution task); on graceful shutdown it stops taking work and
/// abandons its runs, which the next start resumes by replay.
public final class WorkflowEngine: Service, Sendable {
    /// Engine settings.
    public struct Configuration: Sendable {
        /// How often the batched safety-net poll looks for wake-ups missed by notifications. Defaults to 1 second.
        public var pollInterval: Duration = .seconds(1)
        /// How long a run abandoned after a database failure (a lost connection, a restarting server, a deadlock or
        /// serialization failure, in its activities too) waits before it is replayed; the wait doubles with each
        /// failure in a row, up to 32 times this. No activity attempt is used up. Defaults to 1 second.
        public var storageRetryDelay: Duration = .seconds(1)
        /// The largest payload (input, output, activity result, deferred value) in bytes. Defaults to 1 MiB.
        public var maximumPayloadBytes: Int = 1 << 20
        /// How long a run waits in memory before it is parked: its task ends and only the execution's key and
        /// due time stay in memory; a wake-up, or its due time coming within this interval, replays it. `nil`
        /// keeps every waiting run in memory. Defaults to 5 seconds.
        public var parkAfter: Duration? = .seconds(5)
        /// The runner's own clock. Due times are read from the database's clock, estimated from this one and the
        /// offset the engine measures against the database at start-up and with every poll; tests skew it.
        /// Defaults to the system clock.
        public var clock: @Sendable () -> Date = { Date() }
        /// How often, in a cluster, the engine looks for pending or running executions of its shards that no run
        /// in memory works on (a start or a hand-off whose announcement was lost), and runs them. Defaults to 30
        /// seconds.
        public var reconcileInterval: Duration = .seconds(30)
        /// How many runs launched by recovery, wake-ups and due times may replay their journals at once; the
        /// others wait their turn, so that a burst never starves the runs already going. Runs this process starts
        /// never wait. Defaults to 8.
        public var replayConcurrency: Int = 8

        /// Creates the default configuration.
        public init() {}
    }

    /// The operations on executions, running new ones in this engine (in a cluster, those whose shard it holds).
    public var executions: Executions {
        Executions(store: store, registry: registry, coder: coder, resultWaiters: resultWaiters,
                   pollInterval: configuration.pollInterval, placement: placement, host: Host(engine: self))
    }

    /// Executions whose runs are in memory in this process right now.
    public var hostedCount: Int { hosted.count }

    /// Waiting executions with no task in memory whose due time is near enough to be kept in memory, for their
    /// runs to be resumed before it. Other waiting executions leave nothing in memory.
    public var parkedCount: Int { parked.withLock { $0.count } }

    let store: any WorkflowStore
    let registry: WorkflowRegistry
    let configuration: Configuration
    let coder: PayloadCoder
    let logger: Logger
    let hosted = WaiterRegistry()
    let resultWaiters = WaiterRegistry()
    let pollNow = Waiter()
    let observers = Subscribers<Event>()
    /// The database's clock, which every due time is compared with.
    let databaseClock: DatabaseClock
    /// Executions started in this process whose run has not registered yet.
    let queued = Mutex(Set<ExecutionKey>())
    /// Whether ``run()`` is taking work.
    let running = Mutex(false)
    /// The keys of executions whose runs are in progress here or queued to start here, by workflow and id.
    let hostedIds = Mutex<[ExecutionIdentity: ExecutionKey]>([:])
    /// Runs parked while waiting, and the signal that their earliest due time moved.
    let parked = Mutex(ParkedExecutions())
    let parkedDueChanged = Waiter()
    /// Signalled whenever a run on a shard leaves memory, for ``stopping(_:)`` to wait for a shard's runs.
    let runEnded = Waiter()
    /// Where executions live in the cluster; `nil` runs every execution of the schema.
    let placement: ExecutionPlacement?
    /// The shards held and the runs on them (in a cluster).
    let shards = Mutex(HeldShards())

    struct ExecutionIdentity: Hashable {
        var workflow: String
        var id: String
    }
    let launches: AsyncStream<Launch>
    let launchContinuation: AsyncStream<Launch>.Continuation
    /// Launches of runs that replay, waiting for a permit; each execution is queued at most once.
    let replays: AsyncStream<Launch>
    let replayContinuation: AsyncStream<Launch>.Continuation
    let replayQueued = Mutex(Set<ExecutionKey>())
    let replayPermits: ReplayPermits

    struct Launch: Sendable {
        var key: ExecutionKey
        /// A new execution inserted by this process: run it without claiming.
        var record: ExecutionRecord?
        /// A parked run of this process: replay it without counting an attempt.
        var resuming = false
        /// The tracing context of the start that launched it in this process, which its run continues.
        var context: ServiceContext?
        /// The permit a replay holds until it has caught up with its journal.
        var permit: ReplayPermits.Permit?
    }

    /// Creates an engine.
    /// - Parameters:
    ///   - store: The durable store.
    ///   - registry: The workflows this process runs.
    ///   - configuration: Settings.
    ///   - placement: In a cluster, where executions live: the engine then runs only those of the shards its
    ///     runner holds (it is the runner's ``ShardHost``). `nil` runs every execution of the schema.
    ///   - logger: Where the engine logs.
    public init(store: any WorkflowStore, registry: WorkflowRegistry, configuration: Configuration = Configuration(),
                placement: ExecutionPlacement? = nil, logger: Logger) {
        self.store = store
        self.placement = placement
        self.registry = registry
        self.configuration = configuration
        coder = PayloadCoder(maximumBytes: configuration.maximumPayloadBytes)
        databaseClock = DatabaseClock(local: configuration.clock)
        self.logger = logger
        (launches, launchContinuation) = AsyncStream.makeStream(of: Launch.self)
        (replays, replayContinuation) = AsyncStream.makeStream(of: Launch.self)
        replayPermits = ReplayPermits(limit: configuration.replayConcurrency)
    }

    /// Hosts executions until cancelled or shut down gracefully.
    /// - Throws: ``WorkflowError`` `not_allowed` at once if the engine has no placement and the schema belongs to a
    ///   cluster: it would run the cluster's executions unfenced beside its runners.
    public func run() async throws {
        if placement == nil, try await store.belongsToCluster() {
            throw WorkflowError(.notAllowed, """
                the schema belongs to a cluster (its runners stored the cluster's settings): an engine without a \
                placement would run every execution of it, unfenced, beside the runners. Host workflows in a \
                RoostRunner Runner, or give the engine ExecutionPlacement(settings:) and a ShardManager
                """)
        }
        let token = store.addNotificationHandler { [weak self, resultWaiters, pollNow] note in
            switch note {
            case .wake(let key, let shard):
                // Another runner holds the execution's shard: it wakes the execution, not this one.
                guard let self, self.holds(shard: shard) || shard == nil || self.hosted.contains(key) else { return }
                self.wake(key)
            case .finished(let key):
                resultWaiters.signal(key)
            case .wakeUpsFlagged:
                pollNow.signal()
            case .resumed:
                pollNow.signal()
                resultWaiters.signalAll()
            }
        }
        running.withLock { $0 = true }
        defer {
            store.removeNotificationHandler(token)
            running.withLock { $0 = false }
            resultWaiters.signalAll()
        }
        await measureDatabaseClock()
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await self.pollLoop() }
            group.addTask { await self.parkedTimerLoop() }
            group.addTask { await self.reconcileLoop() }
            group.addTask { await self.replayLoop() }
            if placement == nil {
                for key in try await store.runnableExecutions(workflows: registry.names, shards: nil) {
                    replay(Launch(key: key))
                }
            } else {
                await scanAcquiredShards(placing: true)
            }
            logger.info("workflow engine started", metadata: ["roost.workflows": "\(registry.names)"])
            emit(.started)
            for await launch in launches.cancelOnGracefulShutdown() {
                group.addTask { await self.host(launch) }
            }
            group.cancelAll()
        }
        logger.info("workflow engine stopped")
    }

    /// Looks for missed wake-ups once per interval, and at once after notifications may have been lost.
    private func pollLoop() async {
        var polls = 0
        while !Task.isCancelled {
            // The first poll comes at once: it finds the waiting executions that were woken or fell due meanwhile.
            if polls > 0 { await pollNow.wait(until: .now + configuration.pollInterval) }
            guard !Task.isCancelled else { return }
            // A signal from here on (shards acquired while this poll runs) makes the next poll come at once.
            pollNow.reset()
            polls += 1
            await measureDatabaseClock()
            // Executions stored without a shard come only from clients that started them before any runner had
            // stored the cluster's settings: looking for them now and then is enough.
            await scanAcquiredShards(placing: polls % 30 == 0)
            do {
                for key in try await store.takeWakeUps(workflows: registry.names, leases: heldLeases) { wake(key) }
            } catch {
                logger.debug("wake-up poll failed", metadata: ["roost.error": "\(String(reflecting: error))"])
            }
            await collectDueExecutions()
            emit(.polled)
        }
    }

    /// Measures the offset of the database's clock; until a measurement succeeds, the runner's own clock is used.
    private func measureDatabaseClock() async {
        do {
            try await databaseClock.measure { try await store.databaseNow() }
        } catch {
            logger.debug("could not read the database's clock", metadata: ["roost.error": "\(error)"])
        }
    }

    /// Wakes a hosted execution, or replays it if this process has no run of it in memory.
    func wake(_ key: ExecutionKey) {
        var launch: Launch?
        hosted.signal(key) {
            launch = Launch(key: key, resuming: parked.withLock { $0.resume(key) })
        }
        if let launch { replay(launch) }
    }

    /// Queues a run that replays, unless one of the execution is queued already: it starts when a permit is free.
    func replay(_ launch: Launch) {
        guard replayQueued.withLock({ $0.insert(launch.key).inserted }) else { return }
        replayContinuation.yield(launch)
    }

    /// Hands queued replays to the engine's task group one permit at a time.
    private func replayLoop() async {
        for await launch in replays {
            guard let permit = await replayPermits.acquire() else { return }
            _ = replayQueued.withLock { $0.remove(launch.key) }
            var launch = launch
            launch.permit = permit
            launchContinuation.yield(launch)
        }
    }

    /// How a run ended.
    enum RunEnd: Sendable {
        /// Not run here: finished already, or of a workflow this process does not know.
        case skipped
        /// Stored its outcome: the execution as it finished.
        case finished(ExecutionRecord)
        /// Stopped without storing an outcome (cancelled, decided elsewhere, shut down).
        case stopped
        /// Parked while waiting, until woken or until its due time (if any) comes near; on its shard, if any, with
        /// what its last look saw of changes from outside.
        case parked(Date?, shard: Int?, seen: WakeMark)
    }

    /// Runs one execution until it finishes, stops or parks; replays it after storage failures.
    private func host(_ launch: Launch) async {
        defer { launch.permit?.release() }
        // A recovery or wake-up launch for an execution this process started and is about to run adds nothing.
        if launch.record == nil, queued.withLock({ $0.contains(launch.key) }) { return }
        var resumeAtOnce = false
        var didPark = false
        var settle: WakeMark?
        RoostMetrics.executionsInMemory(hosted.count + 1)
        defer { RoostMetrics.executionsInMemory(hosted.count) }
        let end = await hosted.withExclusiveWaiter(for: launch.key) { waiter -> RunEnd in
            if launch.record != nil { _ = queued.withLock { $0.remove(launch.key) } }
            var record = launch.record
            var delay = configuration.storageRetryDelay
            while !Task.isCancelled {
                do {
                    return try await run(key: launch.key, fresh: record, resuming: launch.resuming,
                                         context: launch.context, permit: launch.permit, waiter: waiter)
                } catch {
                    if Task.isCancelled { break }
                    logger.warning("execution run abandoned after a database failure; it will be replayed",
                                   metadata: ["roost.execution.key": "\(launch.key)",
                                              "roost.error": "\(String(reflecting: error))"])
                    record = nil
                    try? await Task.sleep(for: delay)
                    delay = min(delay * 2, configuration.storageRetryDelay * 32)
                }
            }
            return .stopped
        } release: { waiter, end in
            // Decided while no wake-up can slip between the run's last wait and its parking.
            guard case .parked(let due, let shard, let seen) = end else { return }
            if waiter.isSignalled {
                resumeAtOnce = true
            } else {
                didPark = true
                if seen.flagged { settle = seen }
                // Only a due time near enough stays in memory; the poll finds the others when theirs comes near.
                if let due, due < databaseClock.now.addingTimeInterval(dueLookahead.seconds),
                   parked.withLock({ $0.park(launch.key, until: due, shard: shard) }) {
                    parkedDueChanged.signal()
                }
            }
        }
        // The run acted on the wake-up that flagged it and parked with nothing new since it looked.
        if let settle { await settleWakeUp(launch.key, seen: settle) }
        if let record = launch.record {
            _ = queued.withLock { $0.remove(launch.key) }
            let identity = ExecutionIdentity(workflow: record.workflow, id: record.id)
            _ = hostedIds.withLock { $0.removeValue(forKey: identity) }
        }
        // After the run is no longer hosted, so that a result wait that saw it hosted always hears of its end.
        let finished: ExecutionRecord? = if case .finished(let record)? = end { record } else { nil }
        resultWaiters.runEnded(launch.key, finished: finished)
        if resumeAtOnce { replay(Launch(key: launch.key, resuming: true)) }
        if case .stopped? = end { await handOff(launch.key) }
        // Observers hear of a run's end once it no longer counts as hosted.
        switch end {
        case .finished(let record)?: emit(.finished(launch.key, record.status))
        case .stopped?: emit(.stopped(launch.key))
        case .parked?: if didPark { emit(.parked(launch.key)) }
        // A parked run woken to find its execution finished elsewhere (cancelled, say) ends here.
        case .skipped?: if launch.resuming { emit(.stopped(launch.key)) }
        case nil: break
        }
    }

    /// One run of an execution: claim (unless fresh), replay and continue the workflow, store its outcome.
    /// - Throws: Storage errors, for the caller to retry.
    private func run(key: ExecutionKey, fresh: ExecutionRecord?, resuming: Bool, context: ServiceContext?,
                     permit: ReplayPermits.Permit?, waiter: Waiter) async throws -> RunEnd {
        let claimed: ClaimedExecution
        if let fresh {
            claimed = ClaimedExecution(record: fresh, journal: [])
        } else {
            guard let existing = try await store.claimExecution(key: key, workflows: registry.names,
                                                                shards: heldLeases) else { return .skipped }
            claimed = existing
        }
        // One span per run, in the trace of the start: handed over in this process, or stored with the execution.
        let parent = context ?? TraceCarrier.context(from: claimed.traceContext) ?? .topLevel
        return try await withSpan("roost.execution.run", context: parent, ofKind: .consumer) { span in
            span.attributes["roost.workflow"] = claimed.record.workflow
            span.attributes["roost.execution"] = claimed.record.id
            span.attributes["roost.resumed"] = resuming || fresh == nil
            return try await run(claimed, key: key, permit: permit, waiter: waiter)
        }
    }

    private func run(_ claimed: ClaimedExecution, key: ExecutionKey, permit: ReplayPermits.Permit?,
                     waiter: Waiter) async throws -> RunEnd {
        let record = claimed.record
        // The shard left between the claim and now: its next owner runs the execution.
        guard let lease = lease(forExecution: record.id) else { return .stopped }
        let identity = ExecutionIdentity(workflow: record.workflow, id: record.id)
        hostedIds.withLock { $0[identity] = key }
        if let lease { shards.withLock { $0.runs[key] = lease.shard.index } }
        defer {
            _ = hostedIds.withLock { $0.removeValue(forKey: identity) }
            _ = shards.withLock { $0.runs.removeValue(forKey: key) }
            runEnded.signal()
        }
        var logger = self.logger
        logger[metadataKey: "roost.workflow"] = "\(record.workflow)"
        logger[metadataKey: "roost.execution"] = "\(record.id)"
        if let lease { logger[metadataKey: "roost.shard"] = "\(lease.shard)" }
        guard let workflow = try? registry.workflow(named: record.workflow) else { return .skipped }
        let context = WorkflowContext(record: record, journal: claimed.journal, wakeMark: claimed.wakeMark,
                                      store: store, coder: coder, waiter: waiter, clock: databaseClock,
                                      logger: logger, parkAfter: configuration.parkAfter, lease: lease,
                                      stillHosted: { [weak self] in self?.stillHolds(lease) ?? false },
                                      caughtUp: { permit?.release() }) {
            [weak self] in self?.emit(.suspended(key))
        }
        let result: Result<String, any Error>
        do {
            result = .success(try await workflow.run(record.input, context))
        } catch {
            result = .failure(error)
        }
        let outcome: ExecutionOutcome
        switch context.stopReason {
        case .parked(let due)?:
            return .parked(due, shard: lease?.shard.index, seen: context.lastWakeMark)
        case let reason? where reason.abandonsRun:
            logger.debug("execution run stopped", metadata: ["roost.reason": "\(reason)"])
            return .stopped
        case .storage(let error)?:
            throw error
        case .nonDeterminism(let error)?:
            outcome = .failed(FailureInfo(error, fallback: .nonDeterminism))
        case _?:
            return .stopped
        case nil:
            switch result {
            case .success(let output):
                if let divergence = context.unreplayedCalls() {
                    outcome = .failed(FailureInfo(divergence, fallback: .nonDeterminism))
                } else {
                    outcome = .completed(output)
                }
            case .failure(let error):
                if error is CancellationError, Task.isCancelled { return .stopped }
                outcome = .failed(FailureInfo(error, fallback: .workflowFailed))
            }
        }
        do {
            let finished = try await store.finish(key: key, entries: context.unwritten(), outcome: outcome,
                                                  lease: lease)
            RoostMetrics.executionFinished(workflow: record.workflow, status: outcome.status)
            logger.debug("execution finished", metadata: ["roost.outcome": "\(outcome.status)"])
            return .finished(finished)
        } catch is ExecutionNotWritable {
            return .stopped
        }
    }

    /// The engine as the host of executions started and changed in its process.
    struct Host: ExecutionHost {
        let engine: WorkflowEngine

        func launch(_ record: ExecutionRecord) {
            _ = engine.queued.withLock { $0.insert(record.key) }
            // Known by id from now on, so a result awaited at once waits in memory without reading the store.
            engine.hostedIds.withLock { $0[ExecutionIdentity(workflow: record.workflow, id: record.id)] = record.key }
            engine.launchContinuation.yield(Launch(key: record.key, record: record, context: ServiceContext.current))
        }

        func changed(_ key: ExecutionKey) {
            engine.wake(key)
        }

        func hostedKey(workflow: String, id: String) -> ExecutionKey? {
            guard engine.running.withLock({ $0 }) else { return nil }
            return engine.hostedIds.withLock { $0[ExecutionIdentity(workflow: workflow, id: id)] }
        }

        func delivered(_ key: ExecutionKey, deferred: String, value: String) {
            engine.hosted.deliver(key, deferred: deferred, value: value)
        }

        func holds(shard: Int?) -> Bool {
            engine.holds(shard: shard)
        }

        func hosts(_ key: ExecutionKey) -> Bool {
            engine.running.withLock { $0 } && (engine.hosted.contains(key) || engine.queued.withLock { $0.contains(key) })
        }
    }
}

extension ExecutionOutcome {
    var status: ExecutionStatus {
        switch self {
        case .completed: .completed
        case .failed: .failed
        }
    }
}
