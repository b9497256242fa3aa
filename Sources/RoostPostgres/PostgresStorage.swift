import Foundation
import Logging
import PostgresNIO
import Roost
import ServiceLifecycle
import Synchronization

/// Roost's PostgreSQL storage: the one connection pool and schema every query goes through, the migrations, and
/// the listener that turns `NOTIFY` into ``StoreNotification``s and membership changes. The listener's connection
/// also marks the process as alive (`application_name`), for other runners to see at once when it dies.
///
/// Run it as a `Service`, or scope it with ``withPostgresStorage(_:logger:_:)``; queries hang unless it runs.
public final class PostgresStorage: Service, Sendable {
    /// The configuration it was made with.
    public let configuration: StorageConfiguration
    /// The connection pool. Every query of the process goes through it, but membership and leases.
    public let client: PostgresClient
    /// The connections of membership and lease statements (registration, heartbeats, acquisitions, releases): a
    /// pool of their own, so that no burst of workflow or entity traffic makes a heartbeat wait past the leases.
    /// They carry the process's presence name too, so a runner whose listener reconnects stays visibly alive.
    let liveness: PostgresClient
    /// The workflow store on this storage.
    public let store: PostgresWorkflowStore
    /// The cluster store (membership, settings, shard leases) on this storage.
    public let cluster: PostgresClusterStore
    /// The store of persisted entity calls on this storage.
    public let messages: PostgresMessageStore
    /// The store of cron schedules on this storage.
    public let schedules: PostgresScheduleStore
    /// The logger its queries log to.
    public let logger: Logger
    /// The name the listening connection carries, so that other runners see at once when this process dies.
    let presence = SessionPresence(name: "roost-\(UUID().uuidString.lowercased())")

    /// Creates the storage; nothing connects until ``run()``.
    public init(configuration: StorageConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        // The pool's own warnings (a lease requested a moment before `run()` starts) reach callers as errors when
        // they matter; keep them out of the process's log.
        var poolLogger = logger
        poolLogger.logLevel = max(logger.logLevel, .error)
        var clientConfiguration = configuration.clientConfiguration
        // The pool's connections are this process's too: `DatabasePoolMetrics` finds them by this name.
        clientConfiguration.options.additionalStartupParameters.append(("application_name", presence.poolName))
        client = PostgresClient(configuration: clientConfiguration, backgroundLogger: poolLogger)
        var livenessConfiguration = configuration.clientConfiguration
        // No connection kept when idle: a heartbeat every few seconds keeps one open (its session is the runner's
        // presence besides the listener's), and a storage without heartbeats (a client, a test) holds none.
        livenessConfiguration.options.maximumConnections = 2
        livenessConfiguration.options.additionalStartupParameters.append(("application_name", presence.name))
        liveness = PostgresClient(configuration: livenessConfiguration, backgroundLogger: poolLogger)
        store = PostgresWorkflowStore(client: client, schema: configuration.schema, writer: presence.name,
                                      logger: logger)
        cluster = PostgresClusterStore(client: client, liveness: liveness, schema: configuration.schema,
                                       channel: store.channel,
                                       presence: configuration.notifications ? presence : nil, logger: logger)
        messages = PostgresMessageStore(client: client, schema: configuration.schema, logger: logger)
        schedules = PostgresScheduleStore(client: client, schema: configuration.schema, cluster: cluster,
                                          logger: logger)
    }

    /// Runs the connection pool and, if enabled, the notification listener until cancelled or shut down
    /// gracefully.
    public func run() async {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.client.run() }
                group.addTask { await self.liveness.run() }
                if self.configuration.notifications {
                    group.addTask { await self.listen() }
                }
            }
        }
    }

    /// Asks the database for `SELECT 1`, guarded against a connection that closes under it.
    /// - Throws: The error that kept the database from answering.
    public func ping() async throws {
        _ = try await client.guardedRows("SELECT 1", logger: logger)
    }

    /// Opens one connection outside the pool and closes it, so a wrong address, user, password or database is
    /// reported at once with the reason. (The pool retries a failing connection for a minute, then reports only
    /// that it gave up.) A server that is busy or starting is asked again for up to 10 seconds, since it answers
    /// that before it checks the user; one still busy after that counts as reachable, and the pool waits for it.
    /// - Throws: ``StorageError`` `database_unreachable` naming the server, user and database, and the reason.
    public func checkReachable() async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            do {
                let connection = try await PostgresConnection.connect(
                    configuration: configuration.connectionConfiguration, id: 0, logger: logger)
                try? await connection.close()
                return
            } catch let error as PSQLError where error.serverInfo.map(Self.isTransient) == true {
                guard ContinuousClock.now < deadline else { return }
                try await Task.sleep(for: .milliseconds(200))
            } catch {
                let database = configuration.database ?? configuration.username
                throw StorageError(.databaseUnreachable,
                                   "cannot connect to PostgreSQL at \(configuration.host):\(configuration.port) as "
                                   + "user '\(configuration.username)', database '\(database)': " + Self.reason(error),
                                   cause: error)
            }
        }
    }

    /// Whether the server refused the connection only for now: too many connections (class 53) or still starting
    /// or shutting down (57P03).
    private static func isTransient(_ info: PSQLError.ServerInfo) -> Bool {
        guard let state = info[.sqlState] else { return false }
        return state.hasPrefix("53") || state == "57P03"
    }

    /// Why a connection failed, in the server's or the socket's words; never the password.
    private static func reason(_ error: any Error) -> String {
        guard let error = error as? PSQLError else { return "\(error)" }
        if let message = error.serverInfo?[.message] { return message }
        if let underlying = error.underlying {
            let text = "\(underlying)"
            return text.contains("Connection refused") ? "connection refused (is PostgreSQL listening there?)" : text
        }
        return "\(error.code)"
    }

    /// Applies pending migrations (safe when many processes start at once).
    /// - Returns: The versions applied.
    @discardableResult
    public func migrate() async throws -> [Int] {
        try await Migrations.apply(on: client, schema: configuration.schema, logger: logger)
    }

    /// Listens on the schema's channel on one pinned connection, re-listening after a drop; every (re)start is
    /// announced as ``StoreNotification/resumed`` so that waiters re-check what they may have missed.
    private func listen() async {
        var delay = Duration.milliseconds(100)
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    _ = try await connection.guardedRows("SELECT set_config('application_name', \(presence.name), false)",
                                                         logger: logger)
                    defer { presence.set(connected: false) }
                    try await connection.listen(on: store.channel) { notifications in
                        presence.set(connected: true)
                        store.deliver(.resumed)
                        cluster.membershipChanged()
                        delay = .milliseconds(100)
                        for try await notification in notifications {
                            if notification.payload == "c" {
                                cluster.membershipChanged()
                            } else if let note = PostgresWorkflowStore.parse(notification.payload) {
                                store.deliver(note)
                            }
                        }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.debug("notification listener lost its connection", metadata: ["roost.error": "\(error)"])
            }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(2))
        }
    }
}

/// Runs `body` with a running storage, stopping it afterwards.
/// - Parameters:
///   - configuration: Where to connect.
///   - logger: The logger.
///   - migrate: Whether to apply pending migrations first. Defaults to true.
///   - body: The work.
/// - Returns: The body's result.
public func withPostgresStorage<Result: Sendable>(
    _ configuration: StorageConfiguration, logger: Logger, migrate: Bool = true,
    _ body: (PostgresStorage) async throws -> Result
) async throws -> Result {
    let storage = PostgresStorage(configuration: configuration, logger: logger)
    try await storage.checkReachable()
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await storage.run() }
        defer { group.cancelAll() }
        if migrate { try await storage.migrate() }
        return try await body(storage)
    }
}
