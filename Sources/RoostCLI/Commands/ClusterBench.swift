import ArgumentParser
import Foundation
import Logging
import PostgresNIO
import Roost
import RoostExamples
import RoostPostgres
import RoostRunner
import RoostTesting

/// `roost bench cluster`: workflow throughput with one and three `roost runner` processes; then, with three
/// runners (two `roost runner` processes and this process), entity call latency (owner local and remote), call
/// throughput (reads, best-effort and persisted increments), deferred wake-up latency across runners, and the time
/// from a runner's kill -9 to the first successful call on one of its shards and to the results of its waiting
/// executions, resolved after the kill.
struct ClusterBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Workflow throughput with 1 and 3 runners; entity calls, wake-ups and fail-over with three runners.")
    @OptionGroup var database: DatabaseOptions
    @Option(help: "Sequential calls per latency sample set.") var samples = 500
    @Option(help: "Seconds per throughput run.") var seconds: Double = 5
    @Option(help: "Concurrent callers in the throughput runs.") var concurrency = 64
    @Option(name: .customLong("lease-ttl"), help: "The runners' lease TTL in seconds.") var leaseTTL: Double = 10
    @Option(help: "Deferred wake-up samples per path.") var wakeSamples = 100

    func run() async throws {
        try await reportingErrors {
            let configuration = try database.benchConfiguration(schema: "roost_bench_cluster")
            let report = try await ClusterBenchRun(options: self, configuration: configuration).run()
            try Output.printReport(report, json: database.json)
        }
    }
}

/// One run of the cluster benchmark.
struct ClusterBenchRun {
    let options: ClusterBench
    let configuration: StorageConfiguration
    let logger = Settings.quietLogger

    /// Runs every part and returns the report as JSON.
    func run() async throws -> Data {
        try await withPostgresStorage(configuration, logger: logger, migrate: false) { storage in
            try await storage.client.query(
                "DROP SCHEMA IF EXISTS \(unescaped: "\"\(configuration.schema)\"") CASCADE")
            try await storage.migrate()
            try await Examples.prepare(storage)
            let ttl = Duration.milliseconds(Int64(options.leaseTTL * 1000))
            let workflowThroughput = try await workflowThroughput()
            let children = try await startRunners(2, schema: configuration.schema)
            defer { for child in children { child.process.signal(SIGKILL) } }

            // The benchmark's own runner, configured as the runners are, from the environment they inherit (a
            // cluster secret, mutual TLS), on loopback.
            var shardConfiguration = ShardManager.Configuration(address: "127.0.0.1:\(FreePort.next())")
            shardConfiguration.leaseTTL = ttl
            shardConfiguration.rebalanceInterval = .milliseconds(500)
            var runnerConfiguration = Runner.Configuration(storage: configuration, shards: shardConfiguration)
            runnerConfiguration.entities = try RunnerSettings.entityConfiguration(ProcessInfo.processInfo.environment)
            runnerConfiguration.insecure = true
            let runner = Runner(application: .examples(), configuration: runnerConfiguration, logger: logger)
            return try await runner.withRunning { parts in
                let address = parts.address
                let system = parts.system
                let runners = [address] + children.map(\.address)
                try await settle(storage, runners: runners)
                var report: [String: Any] = ["runners": runners.count, "leaseTTLSeconds": options.leaseTTL,
                                             "workflowThroughput": workflowThroughput]
                log("entity call latency")
                report["callLatencyMs"] = try await latency(system, local: address, runners: runners)
                log("entity call throughput")
                report["throughput"] = try await throughput(system)
                report["deferredWakeMs"] = try await deferredWake(parts.executions, host: children[1].address,
                                                                  runners: runners, storage: storage)
                log("fail-over after kill -9")
                report["failover"] = try await failover(system, storage: storage, victim: children[0],
                                                        runners: runners)
                report["database"] = configuration.redactedURL
                return try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
            }
        }
    }

    func log(_ message: String) {
        FileHandle.standardError.write(Data("bench: \(message)\n".utf8))
    }

    /// Starts `count` `roost runner` processes on a schema, numbered from `numbered`, each once it has joined.
    func startRunners(_ count: Int, schema: String, numbered first: Int = 1) async throws
        -> [(process: RunnerProcess, address: String)] {
        try await BenchRunners.start(count, url: configuration.url, schema: schema, leaseTTL: options.leaseTTL,
                                     numbered: first)
    }

    /// Waits until every shard is held by its rendezvous target.
    func settle(_ storage: PostgresStorage, runners: [String]) async throws {
        try await BenchRunners.settle(storage, runners: runners)
    }

    /// Entity ids (`prefix-N`) whose shard `owner` holds (or does not hold).
    func ids(ownedBy owner: String, _ owned: Bool, runners: [String], count: Int,
                     prefix: String = "bench") -> [String] {
        let settings = ClusterSettings()
        var ids: [String] = []
        var next = 0
        while ids.count < count {
            let id = "\(prefix)-\(next)"
            if (Rendezvous.owner(of: settings.shard(for: id), among: runners) == owner) == owned { ids.append(id) }
            next += 1
        }
        return ids
    }

    private func latency(_ system: ClusterSystem, local: String, runners: [String]) async throws -> [String: Any] {
        var result: [String: Any] = [:]
        for (name, owned) in [("local", true), ("remote", false)] {
            let counters = try ids(ownedBy: local, owned, runners: runners, count: 20)
                .map { try system.entity(Counter.self, id: $0) }
            for counter in counters { _ = try await counter.value() }
            var samples: [Double] = []
            for index in 0..<options.samples {
                let started = ContinuousClock.now
                _ = try await counters[index % counters.count].value()
                samples.append((ContinuousClock.now - started).milliseconds)
            }
            result[name] = Percentiles.summary(samples)
        }
        return result
    }

    private func throughput(_ system: ClusterSystem) async throws -> [String: Any] {
        let counters = try (0..<200).map { try system.entity(Counter.self, id: "bench-\($0)") }
        var result: [String: Any] = ["concurrency": options.concurrency]
        let runs: [(String, Delivery?)] = [
            ("callsPerSecond", nil), ("incrementsPerSecond", .bestEffort), ("persistedIncrementsPerSecond", .persisted),
        ]
        for (name, delivery) in runs {
            let started = ContinuousClock.now
            let deadline = started + .milliseconds(Int64(options.seconds * 1000))
            let calls = try await withThrowingTaskGroup(of: Int.self) { group in
                for worker in 0..<options.concurrency {
                    group.addTask {
                        var count = 0
                        while ContinuousClock.now < deadline {
                            let counter = counters[(worker * 7 + count) % counters.count]
                            if let delivery {
                                _ = try await withDelivery(delivery) { try await counter.increment(by: 1) }
                            } else {
                                _ = try await counter.value()
                            }
                            count += 1
                        }
                        return count
                    }
                }
                return try await group.reduce(0, +)
            }
            result[name] = Percentiles.rounded(Double(calls) / (ContinuousClock.now - started).seconds)
        }
        return result
    }

    /// Kills a runner hosting a counter and 50 executions waiting on a deferred; measures the time to the first
    /// call that reaches the counter's new owner, and from the kill to each execution's result, resolved at once
    /// after the kill, on the runner that took its shard over.
    private func failover(_ system: ClusterSystem, storage: PostgresStorage,
                          victim: (process: RunnerProcess, address: String),
                          runners: [String]) async throws -> [String: Any] {
        let counter = try system.entity(Counter.self,
                                        id: ids(ownedBy: victim.address, true, runners: runners, count: 1)[0])
        _ = try await counter.value()
        let waiting = ids(ownedBy: victim.address, true, runners: runners, count: 50, prefix: "approval")
        let executions = Executions(store: storage.store, placement: ExecutionPlacement(settings: ClusterSettings()))
        // Results are announced: a result awaited hears of its execution's end at once, as RoostClient's does.
        let token = storage.store.addNotificationHandler { executions.receive($0) }
        defer { storage.store.removeNotificationHandler(token) }
        for id in waiting {
            _ = try await executions.start(Approval.self, id: id, input: .init(requestId: id, coolOffMs: 0))
        }
        while try await count(storage, """
            SELECT count(*)::int FROM executions WHERE id = ANY(\(waiting)) AND status = 'waiting'
            """) < waiting.count {
            try await Task.sleep(for: .milliseconds(20))
        }
        let killed = ContinuousClock.now
        await victim.process.kill9()
        _ = try await counter.value()
        let firstCall = (ContinuousClock.now - killed).milliseconds
        let completed = try await withThrowingTaskGroup(of: Double.self) { group in
            for id in waiting {
                group.addTask {
                    _ = try await executions.resolve(Approval.decision, of: Approval.self, id: id,
                                                     value: .init(approved: true, by: "bench"))
                    _ = try await executions.result(of: Approval.self, id: id)
                    return (ContinuousClock.now - killed).milliseconds
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        return ["killToFirstCallMs": Percentiles.rounded(firstCall), "leaseTTLSeconds": options.leaseTTL,
                "killToResolvedResultMs": Percentiles.summary(completed)]
    }

    func count(_ storage: PostgresStorage, _ query: PostgresQuery) async throws -> Int {
        for try await value in try await storage.client.query(query).decode(Int.self) { return value }
        return 0
    }
}
