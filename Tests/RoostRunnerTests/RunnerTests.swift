import Foundation
import Logging
import PostgresNIO
import Roost
import RoostPostgres
import RoostRunner
import RoostTesting
import ServiceLifecycle
import Testing

/// A workflow of an application of the test's own: one activity on a table its before-join hook creates.
struct Greet: Workflow {
    func run(_ input: String, context: WorkflowContext) async throws -> String {
        try await context.activity("greet") { tx in
            try await tx.query("INSERT INTO greetings (name) VALUES (\(input))")
        }
        return "hello \(input)"
    }
}

@Suite("A Runner built in code from an application")
struct RunnerTests {
    /// A runner of an application that greets, on the storage's schema, with a table of its own.
    static func greetingRunner(_ storage: PostgresStorage) -> Runner {
        var application = RoostApplication()
        application.register(Greet())
        application.beforeJoining { storage in
            try await storage.client.query("CREATE TABLE IF NOT EXISTS greetings (name text NOT NULL)")
        }
        var configuration = Runner.Configuration(storage: storage.configuration,
                                                 shards: .init(address: "127.0.0.1:\(FreePort.next())"))
        configuration.insecure = true
        return Runner(application: application, configuration: configuration, logger: TestDatabase.logger)
    }

    @Test("""
        hosts the application: its before-join hook's table, its workflow run to the end, its shards released on \
        graceful shutdown
        """)
    func hostsAnApplication() async throws {
        try await TestDatabase.withStorage { (storage: PostgresStorage) async throws in
            let runner = Self.greetingRunner(storage)
            let group = ServiceGroup(services: [runner], logger: TestDatabase.logger)
            let executions = Executions(store: storage.store, placement: ExecutionPlacement(settings: ClusterSettings()))
            let token = storage.store.addNotificationHandler { executions.receive($0) }
            defer { storage.store.removeNotificationHandler(token) }
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                _ = try await executions.start(Greet.self, id: "ada", input: "ada")
                let greeting = try await executions.result(of: Greet.self, id: "ada", timeout: .seconds(60))
                #expect(greeting == "hello ada")
                #expect(try await storage.count("SELECT count(*)::int FROM greetings WHERE name = 'ada'") == 1)
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
            let status = try await storage.cluster.status()
            #expect(status.leases.allSatisfy { !$0.live }, "every shard was released")
            // A runner so starved that its heartbeat missed its lease registers again as a new incarnation: the
            // last one left the cluster, and none is live.
            #expect(status.runners.max { $0.startedAt < $1.startedAt }?.health == "stopped",
                    "\(status.runners.map(\.health))")
            #expect(status.runners.allSatisfy { $0.health != "live" })
        }
    }

    @Test("withRunning hands its body the runner's parts once it has joined, and leaves the cluster after the body")
    func withRunning() async throws {
        try await TestDatabase.withStorage { (storage: PostgresStorage) async throws in
            let runner = Self.greetingRunner(storage)
            let greeting = try await runner.withRunning { parts in
                #expect(try await storage.cluster.liveRunners() == [parts.address])
                _ = try await parts.executions.start(Greet.self, id: "grace", input: "grace")
                return try await parts.executions.result(of: Greet.self, id: "grace", timeout: .seconds(60))
            }
            #expect(greeting == "hello grace")
            #expect(try await storage.cluster.liveRunners().isEmpty, "the runner left the cluster")
        }
    }

    @Test("""
        refuses to start with neither a cluster secret nor mutual TLS unless told it is insecure, before it touches \
        the database
        """)
    func refusesAnOpenTransport() async throws {
        let storage = try StorageConfiguration(url: "postgres://nobody@127.0.0.1:1/none", schema: "unused")
        let runner = Runner(application: RoostApplication(),
                            configuration: .init(storage: storage, shards: .init(address: "127.0.0.1:1")),
                            logger: TestDatabase.logger)
        let error = await #expect(throws: WorkflowError.self) { try await runner.run() }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("ROOST_CLUSTER_SECRET") == true)
        #expect("\(runner)" == "Runner(127.0.0.1:1, schema unused)", "a service group logs no secret of it")
    }
}

extension PostgresStorage {
    fileprivate func count(_ query: PostgresQuery) async throws -> Int {
        for try await count in try await client.query(query).decode(Int.self) { return count }
        return 0
    }
}
