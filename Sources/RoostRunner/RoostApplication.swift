import Roost
import RoostPostgres

/// Everything a runner hosts: workflows, entity types with their factories, singletons, cron schedules, and hooks
/// that prepare the application's own tables. A plain value: build one in `main` or in a test, and hand it to a
/// ``Runner``.
///
/// ```swift
/// var application = RoostApplication()
/// application.register(Approval())
/// application.registerEntities { system, storage in
///     system.register(Counter.self) { Counter(actorSystem: $0, storage: storage) }
/// }
/// application.beforeJoining { storage in
///     try await storage.client.query("CREATE TABLE IF NOT EXISTS requests (id text PRIMARY KEY)")
/// }
/// ```
public struct RoostApplication: Sendable {
    /// The workflows the application's runners run, by name.
    public var workflows = WorkflowRegistry()
    /// The cron schedules; each runs as a singleton on one runner of the cluster.
    public var schedules: [Schedule] = []
    private(set) var entityRegistrations: [@Sendable (ClusterSystem, PostgresStorage) -> Void] = []
    private(set) var singletonFactories: [@Sendable (PostgresStorage) -> Singleton] = []
    private(set) var preparations: [@Sendable (PostgresStorage) async throws -> Void] = []

    /// An application that hosts nothing yet.
    public init() {}

    /// Registers a workflow under its ``Workflow/name``, replacing any registered under the same name.
    public mutating func register<W: Workflow>(_ workflow: W) {
        workflows.register(workflow)
    }

    /// Registers entity types on each runner's cluster system, with factories that may use the runner's storage.
    /// - Parameter registration: Calls `ClusterSystem.register(_:factory:)` for each entity type.
    public mutating func registerEntities(
        _ registration: @escaping @Sendable (ClusterSystem, PostgresStorage) -> Void
    ) {
        entityRegistrations.append(registration)
    }

    /// Registers a singleton, made for each runner from its storage; it runs on one runner of the cluster at a time.
    public mutating func registerSingleton(_ singleton: @escaping @Sendable (PostgresStorage) -> Singleton) {
        singletonFactories.append(singleton)
    }

    /// Registers a cron schedule.
    public mutating func register(_ schedule: Schedule) {
        schedules.append(schedule)
    }

    /// Adds a hook that runs on each runner after Roost's migrations and before the runner joins the cluster: the
    /// place to create the application's own tables (idempotently: every runner runs it).
    public mutating func beforeJoining(_ hook: @escaping @Sendable (PostgresStorage) async throws -> Void) {
        preparations.append(hook)
    }
}
