import Logging
import Roost
import RoostHTTP
import RoostPostgres
import ServiceLifecycle

/// One runner of a Roost cluster, hosting a ``RoostApplication``, as a swift-service-lifecycle `Service`: what
/// `roost runner` runs.
///
/// Its ``run()`` checks that the database answers, migrates the schema, runs the application's before-join hooks,
/// listens for the other runners, joins the cluster, and then hosts the shards it is assigned: their workflow
/// executions, entities and singletons (the application's, its schedules', and the cluster's maintenance), with the
/// HTTP API when configured. On graceful shutdown it stops taking work, drains its entity calls and releases its
/// shards, in that order; whatever has not stopped 30 s later is cancelled.
///
/// ```swift
/// var application = RoostApplication()
/// application.register(Approval())
/// let runner = Runner(application: application,
///                     configuration: .init(storage: try .fromEnvironment(),
///                                          shards: .init(address: "127.0.0.1:7420")),
///                     logger: logger)
/// try await ServiceGroup(services: [runner], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
/// ```
public struct Runner: Service {
    /// Everything a runner is configured with.
    public struct Configuration: Sendable {
        /// The database, schema and pool.
        public var storage: StorageConfiguration
        /// The runner's address, leases and the cluster's settings.
        public var shards: ShardManager.Configuration
        /// How executions are polled, parked and replayed. Defaults to ``WorkflowEngine/Configuration/init()``.
        public var engine = WorkflowEngine.Configuration()
        /// How entities are hosted and called, and how runners authenticate each other. Defaults to
        /// ``ClusterSystem/Configuration/init()``.
        public var entities = ClusterSystem.Configuration()
        /// Retention and the stuck check. Defaults to ``Maintenance/Configuration/init()``.
        public var maintenance = Maintenance.Configuration()
        /// The HTTP API; `nil` (the default) serves none.
        public var http: RunnerHTTPAPI.Configuration?
        /// Whether the runner may run with neither a cluster secret nor mutual TLS in ``entities``, accepting calls
        /// from any process that reaches its address: for a local development cluster only. Defaults to `false`:
        /// such a runner refuses to start.
        public var insecure = false

        /// Why a runner with these entity settings must not start, if it must not: neither a cluster secret nor
        /// mutual TLS, and not told it is a local development cluster.
        public static func securityProblem(entities: ClusterSystem.Configuration, insecure: Bool) -> String? {
            guard entities.clusterSecret == nil, entities.tls == nil, !insecure else { return nil }
            return "neither ROOST_CLUSTER_SECRET nor mutual TLS (ROOST_CLUSTER_TLS_*) is set, so any process that "
                + "reaches this runner's address could call its entities and workflows: set ROOST_CLUSTER_SECRET to "
                + "the same secret of at least 16 characters on every runner and client, or "
                + "ROOST_CLUSTER_INSECURE=on for a local development cluster"
        }

        /// A configuration with the defaults but for the database and the runner's address.
        public init(storage: StorageConfiguration, shards: ShardManager.Configuration) {
            self.storage = storage
            self.shards = shards
        }
    }

    /// What the runner hosts.
    public let application: RoostApplication
    /// How it is configured.
    public let configuration: Configuration
    let metrics: (@Sendable () -> String)?
    let logger: Logger

    /// A runner.
    /// - Parameters:
    ///   - application: What it hosts.
    ///   - configuration: How it is configured.
    ///   - metrics: The Prometheus text its HTTP API serves at `/metrics`, from the metrics backend the process
    ///     bootstrapped; `nil` serves no `/metrics`.
    ///   - logger: Where it logs; its messages carry the `roost.` metadata keys.
    public init(application: RoostApplication, configuration: Configuration,
                metrics: (@Sendable () -> String)? = nil, logger: Logger) {
        self.application = application
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
    }

    /// Runs the runner until graceful shutdown or a failure of one of its parts.
    /// - Throws: ``WorkflowError`` `invalid_argument` before anything starts if the runner could not tell its peers
    ///   from strangers (see ``Configuration/insecure``); ``StorageError`` `database_unreachable` if the database
    ///   does not answer; what a part of the runner failed with.
    public func run() async throws {
        try await assemble().group.run()
    }

    /// What a runner offers the code that runs it with ``withRunning(_:)``.
    public struct Parts: Sendable {
        /// The runner's address in the cluster.
        public let address: String
        /// Its executions: starts run here when this runner holds their shard.
        public let executions: Executions
        /// Its cluster system, for calls to entities from this runner.
        public let system: ClusterSystem
    }

    /// Runs the runner while `body` runs, once it has joined the cluster, then shuts it down gracefully and waits
    /// for it to end: a runner inside a test or a tool.
    /// - Parameter body: Work with the running runner's parts.
    /// - Returns: What `body` returned.
    /// - Throws: What ``run()`` throws before the runner joins; what `body` threw; what the runner failed with.
    public func withRunning<Result: Sendable>(_ body: (Parts) async throws -> Result) async throws -> Result {
        let assembly = try await assemble()
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                defer { assembly.joinedContinuation.finish() }
                try await assembly.group.run()
            }
            var joined = false
            for await _ in assembly.joined {
                joined = true
                break
            }
            guard joined else {
                try await tasks.waitForAll()
                throw WorkflowError(.notAllowed, "the runner at \(assembly.parts.address) ended before it joined")
            }
            let result: Result
            do {
                result = try await body(assembly.parts)
            } catch {
                await assembly.group.triggerGracefulShutdown()
                try? await tasks.waitForAll()
                throw error
            }
            await assembly.group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        }
    }

    /// A runner's parts in their service group, and the signal that it joined the cluster.
    private struct Assembly: Sendable {
        let group: ServiceGroup
        let parts: Parts
        let joined: AsyncStream<Void>
        let joinedContinuation: AsyncStream<Void>.Continuation
    }

    /// Builds the runner's parts and the service group that runs them.
    private func assemble() async throws -> Assembly {
        if let problem = Configuration.securityProblem(entities: configuration.entities,
                                                       insecure: configuration.insecure) {
            throw WorkflowError(.invalidArgument, problem)
        }
        warnAboutClusterSecurity()
        let storage = PostgresStorage(configuration: configuration.storage, logger: logger)
        try await storage.checkReachable()
        let settings = configuration.shards.settings
        let address = configuration.shards.address
        let engine = WorkflowEngine(store: storage.store, registry: application.workflows,
                                    configuration: configuration.engine,
                                    placement: ExecutionPlacement(settings: settings), logger: logger)
        let system = try ClusterSystem(address: address, settings: settings, configuration: configuration.entities,
                                       messages: storage.messages, logger: logger)
        for registration in application.entityRegistrations { registration(system, storage) }
        let maintenance = Maintenance(executions: storage.store, messages: storage.messages, cluster: storage.cluster,
                                      retentions: application.workflows.retentions,
                                      configuration: configuration.maintenance, logger: logger)
        let singletons = [maintenance.singleton] + application.singletonFactories.map { $0(storage) }
            + application.schedules.map { $0.singleton(store: storage.schedules, executions: engine.executions) }
        let host = SingletonHost(singletons, settings: settings, runner: address, logger: logger)
        let shards = ShardManager(store: storage.cluster, configuration: configuration.shards,
                                  host: ShardHosts([system, engine, host]), logger: logger)
        let (joined, joinedContinuation) = AsyncStream<Void>.makeStream()
        // Services stop in reverse order: the HTTP API first, then the hosting (it stops its entities and releases
        // its shards), then the transport, then the storage.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: storage),
            .init(service: DatabasePoolMetrics(storage: storage)),
            .init(service: system, failureTerminationBehavior: .gracefullyShutdownGroup),
            .init(service: Hosting(application: application, storage: storage, system: system, shards: shards,
                                   engine: engine, joined: joinedContinuation, logger: logger),
                  successTerminationBehavior: .gracefullyShutdownGroup,
                  failureTerminationBehavior: .gracefullyShutdownGroup),
        ]
        if let http = configuration.http {
            services.append(.init(service: httpService(http, engine: engine, system: system, shards: shards,
                                                       storage: storage),
                                  failureTerminationBehavior: .gracefullyShutdownGroup))
        }
        var group = ServiceGroupConfiguration(services: services, logger: logger)
        // A part that does not end on a graceful shutdown must not keep the runner alive: it is cancelled after
        // 30 s, and the group ends 10 s after that whatever still runs.
        group.maximumGracefulShutdownDuration = .seconds(30)
        group.maximumCancellationDuration = .seconds(10)
        return Assembly(group: ServiceGroup(configuration: group),
                        parts: Parts(address: address, executions: engine.executions, system: system),
                        joined: joined, joinedContinuation: joinedContinuation)
    }

    /// Migrates, prepares the application's tables, joins the cluster, then runs the shard manager and the engine
    /// until graceful shutdown.
    private struct Hosting: Service {
        let application: RoostApplication
        let storage: PostgresStorage
        let system: ClusterSystem
        let shards: ShardManager
        let engine: WorkflowEngine
        /// Told once the runner has joined the cluster.
        let joined: AsyncStream<Void>.Continuation
        let logger: Logger

        func run() async throws {
            await Task.yield()
            try await storage.migrate()
            for preparation in application.preparations { try await preparation(storage) }
            try await storage.store.publish(application.workflows.published(by: shards.configuration.address))
            logger.info("runner ready", metadata: [
                "roost.database": "\(storage.configuration.redactedURL)",
                "roost.schema": "\(storage.configuration.schema)",
                "roost.notifications": "\(storage.configuration.notifications ? "on" : "off")",
                "roost.address": "\(shards.configuration.address)",
            ])
            try await system.listening()
            try await shards.join()
            joined.yield()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await shards.run() }
                group.addTask { try await engine.run() }
                try await group.waitForAll()
            }
        }
    }
}

extension Runner {
    /// Says what the cluster's transport leaves open: everything in a development cluster without a secret, the
    /// secret itself (sent in clear) without TLS on an address other than loopback.
    private func warnAboutClusterSecurity() {
        let entities = configuration.entities
        if entities.clusterSecret == nil, entities.tls == nil {
            logger.warning("""
                ROOST_CLUSTER_INSECURE=on: this runner accepts calls from any process that reaches its address; \
                use it only for a local development cluster
                """)
        } else if entities.tls == nil, !configuration.shards.address.hasPrefix("127.") {
            logger.warning("""
                without mutual TLS (ROOST_CLUSTER_TLS_*) the cluster secret travels in clear between runners: \
                anyone who can watch the network between them can read it and call them
                """)
        }
    }
}

extension Runner: CustomStringConvertible {
    /// The runner's address and schema: what a service group logs of it, never its configuration's secrets.
    public var description: String {
        "Runner(\(configuration.shards.address), schema \(configuration.storage.schema))"
    }
}
