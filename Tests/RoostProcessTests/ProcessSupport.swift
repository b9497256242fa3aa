import Foundation
import PostgresNIO
import Roost
import RoostClient
import RoostExamples
import RoostPostgres
import RoostTesting
import Synchronization

/// A fresh schema shared by `roost runner` child processes and the test's own client.
final class ProcessHarness: Sendable {
    let storage: PostgresStorage
    let client: RoostClient
    private let runners = Mutex<[RunnerProcess]>([])

    init(storage: PostgresStorage, client: RoostClient) {
        self.storage = storage
        self.client = client
    }

    var environment: [String: String] {
        [
            "ROOST_DATABASE_URL": storage.configuration.url, "ROOST_SCHEMA": storage.configuration.schema,
            "ROOST_LOG_LEVEL": "debug",
            "ROOST_POLL_INTERVAL_MS": "250",
            // A development cluster on loopback; the tests of the cluster secret and of TLS set their own.
            "ROOST_CLUSTER_INSECURE": "on",
        ]
    }

    /// Starts a runner on a free port and waits until its engine has started.
    @discardableResult
    func startRunner(_ name: String, environment extra: [String: String] = [:]) async throws -> RunnerProcess {
        try await launchRunner(name, environment: extra).process
    }

    /// A runner of a cluster test and the address it registered.
    struct ClusterRunner {
        let process: RunnerProcess
        let address: String
    }

    /// Starts a runner on a free port with a short lease and rebalance interval.
    func startClusterRunner(_ name: String, leaseTTL: String = "2",
                            environment extra: [String: String] = [:]) async throws -> ClusterRunner {
        try await launchRunner(name, environment: [
            "ROOST_LEASE_TTL": leaseTTL, "ROOST_REBALANCE_INTERVAL_MS": "200",
        ].merging(extra) { $1 })
    }

    /// Starts a runner on a port that was free, and awaits its engine. Another process may take the port between
    /// the choice and the runner's bind (the whole suite runs at once): the runner then exits saying so, and
    /// another port is chosen, at most three times.
    private func launchRunner(_ name: String, environment extra: [String: String]) async throws -> ClusterRunner {
        var attempt = 0
        while true {
            attempt += 1
            let address = "127.0.0.1:\(FreePort.next())"
            let settings = environment.merging(extra) { $1 }.merging(["ROOST_RUNNER_ADDRESS": address]) { $1 }
            let runner = try RunnerProcess(name: name, environment: settings)
            runners.withLock { $0.append(runner) }
            do {
                try await runner.waitForLine(containing: "workflow engine started")
                return ClusterRunner(process: runner, address: address)
            } catch where attempt < 3 && runner.output.contains("Address already in use") {
                continue
            }
        }
    }

    /// Starts `count` runners.
    func startCluster(_ count: Int, leaseTTL: String = "2") async throws -> [ClusterRunner] {
        var runners: [ClusterRunner] = []
        for index in 1...count { runners.append(try await startClusterRunner("runner-\(index)", leaseTTL: leaseTTL)) }
        return runners
    }

    /// Awaits the moment every shard has a live owner and the owners are those rendezvous hashing gives over
    /// `addresses`, reading the cluster status as `roost cluster status` does.
    /// - Parameter timeout: A guard against a hung test, not a timing assertion.
    func awaitAssignment(to addresses: [String], timeout: Duration = .seconds(60)) async throws -> ClusterStatus {
        let deadline = ContinuousClock.now + timeout
        var status = try await storage.cluster.status()
        while ContinuousClock.now < deadline {
            status = try await storage.cluster.status()
            if !status.leases.isEmpty, status.leases.allSatisfy({ lease in
                lease.live && lease.owner == Rendezvous.owner(of: lease.shard, among: addresses)
            }) {
                return status
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        let owners = Dictionary(grouping: status.leases, by: { $0.live ? $0.owner ?? "-" : "-" }).mapValues(\.count)
        throw Failed(description: "the shards did not settle on \(addresses); owners now: \(owners)")
    }

    /// The runner rendezvous hashing gives an entity's shard (in the default group).
    func owner(of entityId: String, among runners: [ClusterRunner]) -> String {
        Rendezvous.owner(of: ClusterSettings().shard(for: entityId), among: runners.map(\.address)) ?? "-"
    }

    /// Runs `body` with the client library's cluster system, which calls entities on the runners.
    func withClusterClient<Result: Sendable>(_ body: @Sendable (ClusterSystem) async throws -> Result) async throws
        -> Result {
        try await client.withEntities(body)
    }

    /// Awaits the moment every counter has reached a value.
    func awaitCounters(_ ids: [String], atLeast value: Int, timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            var reached = 0
            for try await count in try await storage.client.query("""
                SELECT count(*)::int FROM example_counters WHERE id = ANY(\(ids)) AND value >= \(value)
                """).decode(Int.self) {
                reached = count
            }
            if reached == ids.count { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw Failed(description: "the counters did not reach \(value)")
    }

    /// Awaits the moment a counting query returns at least `count`.
    /// - Parameter timeout: A guard against a hung test, not a timing assertion.
    func awaitCount(_ query: PostgresQuery, atLeast count: Int, timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await self.count(query) >= count { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw Failed(description: "\(query.sql) stayed below \(count)")
    }

    /// The integer a query returns (a count), 0 without a row.
    func count(_ query: PostgresQuery) async throws -> Int {
        for try await count in try await storage.client.query(query).decode(Int.self) { return count }
        return 0
    }

    /// Runs a `roost` command against the test's schema and returns its exit status and output.
    func roost(_ arguments: [String], environment extra: [String: String] = [:]) async throws
        -> (status: Int32, output: String) {
        let process = try RunnerProcess(name: "roost \(arguments.joined(separator: " "))", arguments: arguments,
                                        environment: environment.merging(extra) { $1 })
        let status = await process.waitForExit()
        return (status, process.output)
    }

    /// Every runner process this harness started, live or not.
    var processes: [RunnerProcess] { runners.withLock { $0 } }

    /// Every runner's output, for a failed test.
    var logs: String {
        runners.withLock { $0.map { "----- \($0.name) (pid \($0.pid)) -----\n\($0.output)" }.joined(separator: "\n") }
    }

    /// Kills every runner still alive.
    func killAll() async {
        for runner in runners.withLock({ $0 }) { await runner.kill9() }
    }

    /// How many times each step's effect was recorded for an execution.
    func effects(_ executionId: String) async throws -> [String: Int] {
        var effects: [String: Int] = [:]
        for try await (step, count) in try await storage.client.query("""
            SELECT step, count(*)::int FROM example_effects WHERE execution_id = \(executionId) GROUP BY step
            """).decode((String, Int).self) {
            effects[step] = count
        }
        return effects
    }
}

/// Runs a multi-process test on a fresh schema; on failure prints every runner's output, on success stays quiet.
func withProcesses(_ body: (ProcessHarness) async throws -> Void) async throws {
    try await TestDatabase.withStorage(prefix: "proc") { storage in
        try await withHarness(storage, body)
    }
}

/// Runs a multi-process test on a storage whose schema is ready for it.
func withHarness(_ storage: PostgresStorage, _ body: (ProcessHarness) async throws -> Void) async throws {
    try await Examples.prepare(storage)
    try await withRoostClient(storage.configuration, registry: Examples.registry,
                              logger: TestDatabase.logger) { client in
        let harness = ProcessHarness(storage: storage, client: client)
        do {
            try await body(harness)
            await harness.killAll()
        } catch {
            await harness.killAll()
            print(harness.logs)
            throw error
        }
    }
}

/// A test expectation that throws, so a multi-process test stops and prints the runners' logs.
struct Failed: Error, CustomStringConvertible {
    var description: String
}

func require(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    if !condition { throw Failed(description: message()) }
}

/// Starts `process` and returns its exit status once it has ended.
func exitStatus(of process: Process) async throws -> Int32 {
    try await withCheckedThrowingContinuation { continuation in
        process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
        do {
            try process.run()
        } catch {
            process.terminationHandler = nil
            continuation.resume(throwing: error)
        }
    }
}
