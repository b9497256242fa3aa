import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import PostgresNIO
import Roost
import RoostClient
import RoostExamples
import RoostPostgres
import RoostTesting

/// `roost bench engine`: throughput, wake-up latency, timer lateness and idle database load of one engine against
/// the configured PostgreSQL, in a schema of its own (dropped and created afresh).
struct EngineBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine", abstract: "Throughput, wake-up latency, timer lateness and idle database load.")
    @OptionGroup var database: DatabaseOptions
    @Option(help: "Concurrency levels for the Order throughput runs.") var concurrency: [Int] = [1, 16, 64]
    @Option(help: "Seconds per throughput run.") var seconds: Double = 5
    @Option(help: "Wake-up latency samples per path.") var samples = 200
    @Option(help: "Executions sleeping at once for the timer lateness run.") var sleepers = 1_000
    @Option(help: "Waiting executions for the idle load runs.") var waiting: [Int] = [10, 1_000, 10_000]
    @Option(help: "Seconds each idle load window lasts.") var window: Double = 10

    func run() async throws {
        try await reportingErrors {
            var configuration = try database.benchConfiguration(schema: "roost_bench")
            configuration.maximumConnections = max(configuration.maximumConnections, 24)
            let report = try await EngineBenchRun(options: self, configuration: configuration).run()
            try Output.printReport(report, json: database.json)
        }
    }
}

/// One run of the engine benchmark.
struct EngineBenchRun {
    let options: EngineBench
    let configuration: StorageConfiguration
    let logger = Settings.quietLogger

    /// Runs every part and returns the report as JSON.
    func run() async throws -> Data {
        try await withPostgresStorage(configuration, logger: logger, migrate: false) { storage in
            let schema = "\"\(configuration.schema)\""
            try await storage.client.query("DROP SCHEMA IF EXISTS \(unescaped: schema) CASCADE")
            try await storage.migrate()
            try await Examples.prepare(storage)
            _ = try? await storage.client.query(
                "CREATE EXTENSION IF NOT EXISTS pg_stat_statements SCHEMA \(unescaped: schema)")
            let engine = WorkflowEngine(store: storage.store, registry: BenchRegistry.registry, logger: logger)
            let events = EngineEvents(engine)
            return try await withRunningEngine(engine) { engine in
                var report: [String: Any] = [:]
                let orders = try await throughput(of: Order.self, engine, storage)
                report["throughput"] = orders
                report["commitCeiling"] = try await commitCeiling(against: orders)
                report["throughputWithBodies"] = try await throughput(of: OrderWithBodies.self, engine, storage)
                log("wake-up latency")
                report["wakeLatencyMs"] = [
                    "sameProcess": try await sameProcessWake(engine, events),
                    "crossProcess": try await crossProcessWake(engine, events),
                ]
                log("timer lateness")
                report["timerLatenessMs"] = try await timerLateness(engine)
                report["idleLoad"] = try await idleLoad(engine, events, storage)
                report["database"] = configuration.redactedURL
                return try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
            }
        }
    }

    private func log(_ message: String) {
        FileHandle.standardError.write(Data("bench: \(message)\n".utf8))
    }

    // MARK: Throughput

    /// Executions of an order workflow per second at each concurrency level: each worker starts one and awaits
    /// its result, again and again.
    private func throughput<W: Workflow>(of workflow: W.Type, _ engine: WorkflowEngine,
                                         _ storage: PostgresStorage) async throws -> [[String: Any]]
    where W.Input == Order.Input {
        var results: [[String: Any]] = []
        for level in options.concurrency {
            log("\(W.name) throughput at concurrency \(level)")
            let before = try await DatabaseCounters.read(storage)
            let started = ContinuousClock.now
            let deadline = started + .milliseconds(Int64(options.seconds * 1000))
            let completed = try await withThrowingTaskGroup(of: Int.self) { group in
                for worker in 0..<level {
                    group.addTask {
                        var count = 0
                        while ContinuousClock.now < deadline {
                            let id = "\(W.name)-c\(level)-w\(worker)-\(count)"
                            _ = try await engine.executions.start(W.self, id: id, input: .init(orderId: id, amount: 1))
                            _ = try await engine.executions.result(of: W.self, id: id)
                            count += 1
                        }
                        return count
                    }
                }
                return try await group.reduce(0, +)
            }
            let elapsed = (ContinuousClock.now - started).seconds
            let after = try await DatabaseCounters.read(storage)
            let writes = Double(after.nextTransactionId - before.nextTransactionId - 1)
            results.append([
                "concurrency": level,
                "executions": completed,
                "executionsPerSecond": Percentiles.rounded(Double(completed) / elapsed),
                "activitiesPerSecond": Percentiles.rounded(Double(completed * 3) / elapsed),
                "commitsPerExecution": Percentiles.rounded(writes / Double(max(completed, 1))),
            ])
        }
        return results
    }

    /// pgbench's single-row commit rate on the same database, what it allows for the commits an `Order` takes at
    /// the best measured level, and how the engine's rate there compares with half of that (the target); then the
    /// rate PostgreSQL alone reaches for `Order`'s own statements, and how the engine's rate compares with that.
    private func commitCeiling(against throughput: [[String: Any]]) async throws -> [String: Any] {
        log("commit ceiling (pgbench)")
        let rate = { (level: [String: Any]) in level["executionsPerSecond"] as? Double ?? 0 }
        let best = throughput.max { rate($0) < rate($1) } ?? [:]
        var report: [String: Any] = ["concurrency": best["concurrency"] ?? 0, "executionsPerSecond": rate(best),
                                     "pgbenchClients": CommitCeiling.clients]
        switch try await CommitCeiling.measure(configuration) {
        case .failure(let unavailable):
            report["measured"] = false
            report["reason"] = unavailable.reason
        case .success(let commitsPerSecond):
            let commits = best["commitsPerExecution"] as? Double ?? 0
            let allowed = commits > 0 ? commitsPerSecond / commits : 0
            report["measured"] = true
            report["pgbenchCommitsPerSecond"] = Percentiles.rounded(commitsPerSecond)
            report["commitsPerExecution"] = commits
            report["executionsPerSecondAllowed"] = Percentiles.rounded(allowed)
            report["targetExecutionsPerSecond"] = Percentiles.rounded(allowed / 2)
            report["ofTarget"] = Percentiles.rounded(allowed > 0 ? rate(best) / (allowed / 2) : 0)
        }
        log("Order's statements without the engine (pgbench)")
        switch try await CommitCeiling.measureOrders(configuration) {
        case .failure(let unavailable):
            report["databaseOnly"] = ["measured": false, "reason": unavailable.reason]
        case .success(let ordersPerSecond):
            var databaseOnly: [String: Any] = [
                "measured": true,
                "executionsPerSecond": Percentiles.rounded(ordersPerSecond),
                "commitsPerExecution": OrderScript.commitsPerOrder,
                "engineShare": Percentiles.rounded(ordersPerSecond > 0 ? rate(best) / ordersPerSecond : 0),
            ]
            if let target = report["targetExecutionsPerSecond"] as? Double, target > 0 {
                databaseOnly["ofTarget"] = Percentiles.rounded(ordersPerSecond / target)
            }
            report["databaseOnly"] = databaseOnly
        }
        return report
    }

    // MARK: Wake-up latency

    private func sameProcessWake(_ engine: WorkflowEngine, _ events: EngineEvents) async throws -> [String: Any] {
        var latencies: [Double] = []
        for index in 0..<options.samples {
            let id = "wake-same-\(index)"
            let key = try await engine.executions.start(BenchWait.self, id: id, input: 0).record.key
            try await events.suspended(key)
            let resolvedAt = Date()
            _ = try await engine.executions.resolve(BenchWait.go, of: BenchWait.self, id: id, value: true)
            let resumedAt = try await engine.executions.result(of: BenchWait.self, id: id)
            latencies.append(resumedAt.timeIntervalSince(resolvedAt) * 1000)
        }
        return Percentiles.summary(latencies)
    }

    private func crossProcessWake(_ engine: WorkflowEngine, _ events: EngineEvents) async throws -> [String: Any] {
        let resolver = try ResolverProcess(configuration: configuration)
        defer { resolver.stop() }
        var latencies: [Double] = []
        for index in 0..<options.samples {
            let id = "wake-cross-\(index)"
            let key = try await engine.executions.start(BenchWait.self, id: id, input: 0).record.key
            try await events.suspended(key)
            let resolvedAt = try await resolver.resolve(id)
            let resumedAt = try await engine.executions.result(of: BenchWait.self, id: id)
            latencies.append(resumedAt.timeIntervalSince(resolvedAt) * 1000)
        }
        return Percentiles.summary(latencies)
    }

    // MARK: Timers

    private func timerLateness(_ engine: WorkflowEngine) async throws -> [String: Any] {
        let first = Date().addingTimeInterval(3)
        let spread = 2.0
        var dues: [String: Date] = [:]
        for index in 0..<options.sleepers {
            let id = "sleeper-\(index)"
            let due = first.addingTimeInterval(spread * Double(index) / Double(options.sleepers))
            dues[id] = due
            _ = try await engine.executions.start(BenchSleep.self, id: id, input: due)
        }
        var lateness: [Double] = []
        for (id, due) in dues {
            let firedAt = try await engine.executions.result(of: BenchSleep.self, id: id)
            lateness.append(firedAt.timeIntervalSince(due) * 1000)
        }
        var result = Percentiles.summary(lateness)
        result["sleepers"] = options.sleepers
        result["early"] = lateness.filter { $0 < 0 }.count
        return result
    }

    // MARK: Idle load

    private func idleLoad(_ engine: WorkflowEngine, _ events: EngineEvents,
                          _ storage: PostgresStorage) async throws -> [[String: Any]] {
        var results: [[String: Any]] = []
        var started = 0
        for level in options.waiting.sorted() {
            log("idle load with \(level) waiting executions")
            while started < level {
                let batch = min(level - started, 500)
                let keys = try await withThrowingTaskGroup(of: ExecutionKey.self) { group in
                    for index in started..<(started + batch) {
                        group.addTask {
                            try await engine.executions.start(BenchWait.self, id: "idle-\(index)", input: 0).record.key
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                for key in keys { try await events.suspended(key) }
                started += batch
            }
            // Backends flush their pg_stat_database counts when idle for 10 s: let the start-up's counts land
            // before the window opens, and let parkAfter pass so the window sees the steady state.
            try await Task.sleep(for: .seconds(11))
            let before = try await DatabaseCounters.read(storage)
            let clock = ContinuousClock.now
            try await Task.sleep(for: .milliseconds(Int64(options.window * 1000)))
            let after = try await DatabaseCounters.read(storage)
            let elapsed = (ContinuousClock.now - clock).seconds
            // The two counter reads are the benchmark's own transactions.
            let transactions = Double(after.transactions - before.transactions - 2) / elapsed
            let writes = Double(after.nextTransactionId - before.nextTransactionId - 1) / elapsed
            Self.returnFreeMemory()
            var entry: [String: Any] = [
                "waiting": level,
                "parked": engine.parkedCount,
                "transactionsPerSecond": Percentiles.rounded(max(0, transactions)),
                "writeTransactionsPerSecond": Percentiles.rounded(max(0, writes)),
                "runnerRSSBytes": Self.residentBytes(),
            ]
            if let first = before.statements, let last = after.statements {
                entry["statementsPerSecond"] = Percentiles.rounded(Double(last - first) / elapsed)
            }
            results.append(entry)
        }
        // Between the two largest levels: the smallest one still carries the throughput runs' leftovers.
        if results.count >= 2, let low = results.dropLast().last, let high = results.last,
           let lowRSS = low["runnerRSSBytes"] as? Int, let highRSS = high["runnerRSSBytes"] as? Int,
           let lowCount = low["waiting"] as? Int, let highCount = high["waiting"] as? Int, highCount > lowCount {
            results.append(["residentBytesPerWaitingExecution": (highRSS - lowRSS) / (highCount - lowCount)])
        }
        return results
    }

    /// Hands freed heap pages back to the system (glibc's `malloc_trim`), so resident memory shows what is in use
    /// rather than the high-water mark of the start-up.
    static func returnFreeMemory() {
        #if canImport(Glibc)
        typealias Trim = @convention(c) (Int) -> Int32
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") {
            _ = unsafeBitCast(symbol, to: Trim.self)(0)
        }
        #endif
    }

    static func residentBytes() -> Int {
        BenchRunners.residentBytes(pid: getpid())
    }
}
