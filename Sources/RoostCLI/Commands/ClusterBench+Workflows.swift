import Foundation
import PostgresNIO
import Roost
import RoostClient
import RoostExamples
import RoostPostgres
import RoostTesting

/// The workflow parts of `roost bench cluster`: execution throughput with one and with three `roost runner`
/// processes, and deferred wake-up latency when the resolve enters through a runner that does not host the
/// execution, or through `RoostClient`.
extension ClusterBenchRun {
    /// Executions per second with one runner, then three, on a schema of their own: `concurrency` clients each
    /// start an `Order` through `RoostClient` and await its result, for `seconds`.
    func workflowThroughput() async throws -> [String: Any] {
        var workflows = configuration
        workflows.schema = configuration.schema + "_workflows"
        let runs = try await withPostgresStorage(workflows, logger: logger, migrate: false) { storage in
            try await storage.client.query("DROP SCHEMA IF EXISTS \(unescaped: "\"\(workflows.schema)\"") CASCADE")
            try await storage.migrate()
            try await Examples.prepare(storage)
            var runners: [(process: RunnerProcess, address: String)] = []
            defer { for runner in runners { runner.process.signal(SIGKILL) } }
            return try await withRoostClient(workflows, registry: Examples.registry, logger: logger) { client in
                var runs: [ClosedLoopRun] = []
                for count in [1, 3] {
                    runners += try await startRunners(count - runners.count, schema: workflows.schema,
                                                      numbered: runners.count + 1)
                    try await settle(storage, runners: runners.map(\.address))
                    log("workflow throughput with \(count) runner(s)")
                    runs.append(try await closedLoop(client, prefix: "runners-\(count)"))
                }
                return runs
            }
        }
        return ["workflow": "Order", "concurrency": options.concurrency,
                "oneRunner": runs[0].report, "threeRunners": runs[1].report]
    }

    /// What a closed loop of clients measured.
    struct ClosedLoopRun: Sendable {
        var executionsPerSecond: Double
        var startToResultMs: [Double]

        var report: [String: Any] {
            ["executionsPerSecond": Percentiles.rounded(executionsPerSecond),
             "startToResultMs": Percentiles.summary(startToResultMs)]
        }
    }

    /// Executions per second, and the median time from start to result, of a closed loop of clients.
    private func closedLoop(_ client: RoostClient, prefix: String) async throws -> ClosedLoopRun {
        let started = ContinuousClock.now
        let deadline = started + .milliseconds(Int64(options.seconds * 1000))
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            for worker in 0..<options.concurrency {
                group.addTask {
                    var latencies: [Double] = []
                    while ContinuousClock.now < deadline {
                        let id = "\(prefix)-w\(worker)-\(latencies.count)"
                        let began = ContinuousClock.now
                        _ = try await client.start(Order.self, id: id, input: .init(orderId: id, amount: 1))
                        _ = try await client.result(of: Order.self, id: id, timeout: .seconds(60))
                        latencies.append((ContinuousClock.now - began).milliseconds)
                    }
                    return latencies
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        let elapsed = (ContinuousClock.now - started).seconds
        return ClosedLoopRun(executionsPerSecond: Double(latencies.count) / elapsed, startToResultMs: latencies)
    }

    /// The time from a deferred's resolve to the next step of the execution waiting for it, on a runner other than
    /// the one the resolve enters through: `Approval` executions (cool-off 0) hosted by `host`, resolved one at a
    /// time through this process's runner (which does not host them), then through `RoostClient`. Measured on the
    /// database's clock, from the deferred's `resolved_at` to the `apply` activity's effect row.
    func deferredWake(_ executions: Executions, host: String, runners: [String],
                      storage: PostgresStorage) async throws -> [String: Any] {
        var result: [String: Any] = ["samples": options.wakeSamples, "hostedBy": host]
        try await withRoostClient(configuration, registry: Examples.registry, logger: logger) { client in
            let paths: [(String, @Sendable (String) async throws -> Void)] = [
                ("throughNonHostingRunner", { id in
                    _ = try await executions.resolve(Approval.decision, of: Approval.self, id: id,
                                                     value: .init(approved: true, by: "bench"))
                }),
                ("throughRoostClient", { id in
                    _ = try await client.resolve(Approval.decision, of: Approval.self, id: id,
                                                 value: .init(approved: true, by: "bench"))
                }),
            ]
            for (name, resolve) in paths {
                log("deferred wake-up \(name)")
                let ids = ids(ownedBy: host, true, runners: runners, count: options.wakeSamples, prefix: "wake-\(name)")
                for id in ids {
                    _ = try await client.start(Approval.self, id: id, input: .init(requestId: id, coolOffMs: 0))
                }
                while try await count(storage, """
                    SELECT count(*)::int FROM executions WHERE id = ANY(\(ids)) AND status = 'waiting'
                    """) < ids.count {
                    try await Task.sleep(for: .milliseconds(20))
                }
                for id in ids {
                    try await resolve(id)
                    _ = try await client.result(of: Approval.self, id: id, timeout: .seconds(60))
                }
                var latencies: [Double] = []
                for try await latency in try await storage.client.query("""
                    SELECT (extract(epoch FROM x.recorded_at - d.resolved_at) * 1000)::float8
                    FROM executions e JOIN deferreds d ON d.execution = e.key
                    JOIN example_effects x ON x.execution_id = e.id AND x.step = 'apply'
                    WHERE e.id = ANY(\(ids))
                    """).decode(Double.self) {
                    latencies.append(latency)
                }
                result[name] = Percentiles.summary(latencies)
            }
        }
        return result
    }
}
