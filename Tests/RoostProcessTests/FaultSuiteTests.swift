import Foundation
import PostgresNIO
import Roost
import RoostClient
import RoostExamples
import RoostPostgres
import RoostTesting
import Testing

/// Faults injected into a three-runner cluster while a few hundred executions run. After each fault every
/// execution completes, none completes twice, every activity's effect appears exactly once, and no journal entry
/// was written by a runner that did not hold the execution's shard.
@Suite("Fault suite: three runners, a few hundred executions, and a fault", .serialized)
struct FaultSuiteTests {
    /// Orders (three activities), pipelines (activities between durable sleeps) and approvals (a deferred resolved
    /// through the client library, then a sleep).
    struct Workload {
        var orders = (0..<100).map { "order-\($0)" }
        var pipelines = (0..<60).map { "pipeline-\($0)" }
        var approvals = (0..<40).map { "approval-\($0)" }

        var count: Int { orders.count + pipelines.count + approvals.count }

        func start(_ client: RoostClient) async throws {
            for id in pipelines {
                _ = try await client.start(Pipeline.self, id: id, input: .init(steps: 3, sleepMs: 400))
            }
            for id in approvals {
                _ = try await client.start(Approval.self, id: id, input: .init(requestId: id, coolOffMs: 300))
            }
            for id in orders { _ = try await client.start(Order.self, id: id, input: .init(orderId: id, amount: 1)) }
        }

        func resolveApprovals(_ client: RoostClient) async throws {
            for id in approvals {
                try await client.resolve(Approval.decision, of: Approval.self, id: id,
                                         value: .init(approved: true, by: "fault-suite"))
            }
        }

        /// Awaits every execution's result; each must complete.
        func awaitAll(_ client: RoostClient) async throws {
            for id in orders { _ = try await client.result(of: Order.self, id: id, timeout: .seconds(120)) }
            for id in pipelines { _ = try await client.result(of: Pipeline.self, id: id, timeout: .seconds(120)) }
            for id in approvals { _ = try await client.result(of: Approval.self, id: id, timeout: .seconds(120)) }
        }
    }

    /// Awaits the moment at least `count` executions have finished: the cluster made progress.
    private func awaitFinished(_ harness: ProcessHarness, atLeast count: Int) async throws {
        try await harness.awaitCount("""
            SELECT count(*)::int FROM executions WHERE status IN ('completed', 'failed', 'cancelled')
            """, atLeast: count)
    }

    /// The checks every scenario ends with.
    @discardableResult
    private func verify(_ harness: ProcessHarness, _ workload: Workload) async throws -> ClusterAudit {
        try await workload.awaitAll(harness.client)
        let audit = try await ClusterAudit.read(harness.storage)
        try require(audit.executions == workload.count && audit.completed == workload.count, "\(audit)")
        try require(audit.unfencedEntries == 0, "journal entries written without the shard's lease: \(audit)")
        try require(audit.unattributedEntries == 0, "journal entries written outside the cluster: \(audit)")
        let effects = try await ExampleEffects.read(harness.storage)
        try require(effects.exactlyOnce, "effects: \(effects)")

        // Completed at most once: a runner logs "execution finished" only after its outcome was stored under the
        // guard that the execution is still running or waiting, so two lines for one execution would be two
        // completions. A line can be missing (a kill -9 right after the commit, a reply lost to a PostgreSQL
        // restart), never repeated. Stopped gracefully, every runner has printed all it will print.
        for process in harness.processes {
            process.signal(SIGCONT)
            process.signal(SIGTERM)
            _ = await process.waitForExit()
        }
        var finishes: [String: Int] = [:]
        for process in harness.processes {
            for line in process.output.split(separator: "\n") where line.contains("execution finished") {
                guard let id = line.split(separator: " ").first(where: { $0.hasPrefix("roost.execution=") })?
                    .dropFirst("roost.execution=".count) else { continue }
                finishes[String(id), default: 0] += 1
            }
        }
        let twice = finishes.filter { $0.value > 1 }
        try require(twice.isEmpty, "executions completed more than once: \(twice)")
        try require(finishes.count > workload.count / 2, "runners reported finishing \(finishes.count) executions")
        return audit
    }

    @Test("repeated kill -9 of random runners, each replaced by a new one")
    func repeatedKills() async throws {
        try await withProcesses { harness in
            var runners = try await harness.startCluster(3)
            _ = try await harness.awaitAssignment(to: runners.map(\.address))
            let workload = Workload()
            try await workload.start(harness.client)
            for round in 1...3 {
                // Approvals wait for their decision, resolved after the first kill: 120 can finish before.
                try await awaitFinished(harness, atLeast: 40 * round)
                let victim = Int.random(in: 0..<runners.count)
                await runners[victim].process.kill9()
                runners.remove(at: victim)
                _ = try await harness.awaitAssignment(to: runners.map(\.address))
                if round == 1 { try await workload.resolveApprovals(harness.client) }
                runners.append(try await harness.startClusterRunner("runner-\(3 + round)"))
                _ = try await harness.awaitAssignment(to: runners.map(\.address))
            }
            let audit = try await verify(harness, workload)
            try require(audit.moved > 0, "the killed runners' executions moved: \(audit)")
        }
    }

    @Test("SIGSTOP of a runner past its lease, then SIGCONT: it rejoins without writing under a lost lease")
    func pauseAndResume() async throws {
        try await withProcesses { harness in
            let runners = try await harness.startCluster(3, leaseTTL: "1")
            _ = try await harness.awaitAssignment(to: runners.map(\.address))
            let workload = Workload()
            try await workload.start(harness.client)
            let paused = runners[0]
            try await paused.process.waitForLine(containing: "execution suspended", count: 10)
            paused.process.signal(SIGSTOP)
            _ = try await harness.awaitAssignment(to: runners.dropFirst().map(\.address))
            try await workload.resolveApprovals(harness.client)
            try await awaitFinished(harness, atLeast: 100)
            paused.process.signal(SIGCONT)
            try await paused.process.waitForLine(containing: "runner joined the cluster", count: 2)
            _ = try await harness.awaitAssignment(to: runners.map(\.address))
            try await verify(harness, workload)
        }
    }

    @Test("scale 3 → 2 → 3: a runner leaves gracefully and a new one joins while executions run")
    func scaleDownAndUp() async throws {
        try await withProcesses { harness in
            var runners = try await harness.startCluster(3)
            _ = try await harness.awaitAssignment(to: runners.map(\.address))
            let workload = Workload()
            try await workload.start(harness.client)
            try await awaitFinished(harness, atLeast: 20)
            let leaving = runners.removeLast()
            leaving.process.signal(SIGTERM)
            try require(await leaving.process.waitForExit() == 0, "a graceful leave exits 0")
            _ = try await harness.awaitAssignment(to: runners.map(\.address))
            try await workload.resolveApprovals(harness.client)
            try await awaitFinished(harness, atLeast: 40)
            runners.append(try await harness.startClusterRunner("runner-4"))
            _ = try await harness.awaitAssignment(to: runners.map(\.address))
            try await verify(harness, workload)
        }
    }

    @Test("a PostgreSQL restart under three runners")
    func postgresRestart() async throws {
        let server = try await ThrowawayPostgres.start()
        do {
            let configuration = try StorageConfiguration(url: server.url, schema: "faults")
            try await withPostgresStorage(configuration, logger: TestDatabase.logger) { storage in
                try await withHarness(storage) { harness in
                    let runners = try await harness.startCluster(3)
                    _ = try await harness.awaitAssignment(to: runners.map(\.address))
                    let workload = Workload()
                    try await workload.start(harness.client)
                    for runner in runners {
                        try await runner.process.waitForLine(containing: "execution suspended", count: 5)
                    }
                    try await server.restart()
                    try await workload.resolveApprovals(harness.client)
                    try await verify(harness, workload)
                }
            }
            try await server.destroy()
        } catch {
            try? await server.destroy()
            throw error
        }
    }
}
