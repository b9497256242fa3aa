import ArgumentParser
import Foundation
import Logging
import PostgresNIO
import Roost
import RoostExamples
import RoostPostgres
import RoostTesting

/// `roost bench scale`: a cluster full of waiting executions. At each level of `Approval` executions waiting on
/// their deferred: the single start rate through the database path, the database's bytes per waiting execution,
/// the runners' resident memory and the idle load with one runner and then two, and after a `kill -9` of one of
/// the two: the time until every shard is held again, resolves of moved executions awaited to their results,
/// detaches and stuck warnings, and the database's load meanwhile; at the largest level, timer lateness.
struct ScaleBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale",
        abstract: "Waiting executions at scale: storage, memory, idle load and a kill -9 fail-over at each level.")
    @OptionGroup var database: DatabaseOptions
    @Option(parsing: .upToNextOption, help: "Levels of waiting executions.") var waiting: [Int] = [10_000, 100_000]
    @Option(help: "Executions started one by one (through the database path) at each level.") var starts = 1_000
    @Option(help: "Executions started in batches of 10,000 (through the database path) at each level.")
    var batchStarts = 5_000
    @Option(help: "Resolves of moved executions timed after the kill (fewer if fewer waited on moved shards).")
    var samples = 100
    @Option(help: "Sleepers whose timer lateness is measured at the largest level.") var sleepers = 1_000
    @Option(name: .customLong("lease-ttl"), help: "The runners' lease TTL in seconds.") var leaseTTL: Double = 10

    func validate() throws {
        guard !waiting.isEmpty, waiting.allSatisfy({ $0 >= 10 }) else {
            throw ValidationError("--waiting takes levels of at least 10 executions, such as 10000 100000")
        }
        guard starts > 0, batchStarts > 0, starts + batchStarts <= waiting.min()!, samples > 0, sleepers > 0 else {
            throw ValidationError("--starts and --batch-starts (together at most the smallest level), --samples and "
                                  + "--sleepers must be positive")
        }
    }

    func run() async throws {
        try await reportingErrors {
            let configuration = try database.benchConfiguration(schema: "roost_bench_scale")
            var levels: [[String: Any]] = []
            let sorted = waiting.sorted()
            for level in sorted {
                let run = ScaleBenchLevel(options: self, configuration: configuration, waiting: level)
                let data = try await run.run(measuringLateness: level == sorted.last)
                levels.append(try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:])
            }
            let report: [String: Any] = ["levels": levels, "leaseTTLSeconds": leaseTTL,
                                         "database": configuration.redactedURL]
            try Output.printReport(try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys]),
                                   json: database.json)
        }
    }
}

/// One level of the scale benchmark, on a fresh schema.
struct ScaleBenchLevel {
    let options: ScaleBench
    let configuration: StorageConfiguration
    let waiting: Int
    let logger = Settings.quietLogger

    /// Runs the level and returns its report as JSON.
    func run(measuringLateness: Bool) async throws -> Data {
        try await withPostgresStorage(configuration, logger: logger, migrate: false) { storage in
            try await storage.client.query(
                "DROP SCHEMA IF EXISTS \(unescaped: "\"\(configuration.schema)\"") CASCADE")
            try await storage.migrate()
            try await Examples.prepare(storage)
            var report: [String: Any] = ["waiting": waiting]
            var runners = try await BenchRunners.start(1, url: configuration.url, schema: configuration.schema,
                                                       leaseTTL: options.leaseTTL)
            defer { for runner in runners { runner.process.signal(SIGKILL) } }
            try await BenchRunners.settle(storage, runners: runners.map(\.address))
            let executions = Executions(store: storage.store,
                                        placement: ExecutionPlacement(settings: ClusterSettings()))
            // Results are announced: a result awaited hears of its execution's end at once, as RoostClient's does.
            let token = storage.store.addNotificationHandler { executions.receive($0) }
            defer { storage.store.removeNotificationHandler(token) }
            log("level \(waiting): \(options.starts) single starts")
            report["singleStarts"] = try await singleStarts(executions, storage: storage)
            log("level \(waiting): \(options.batchStarts) batch starts")
            report["batchStarts"] = try await batchStarts(executions, storage: storage)
            log("level \(waiting): seeding the other waiting executions")
            report["seededPerSecond"] = try await seed(waiting - options.starts - options.batchStarts,
                                                       storage: storage)
            try await storage.client.query("VACUUM ANALYZE executions, journal, deferreds")
            report["bytesPerWaitingExecution"] = try await bytesPerExecution(storage)
            log("level \(waiting): idle with one runner")
            report["oneRunner"] = try await idle(storage, runners: runners)
            runners += try await BenchRunners.start(1, url: configuration.url, schema: configuration.schema,
                                                    leaseTTL: options.leaseTTL, numbered: 2)
            try await BenchRunners.settle(storage, runners: runners.map(\.address))
            log("level \(waiting): idle with two runners")
            report["twoRunners"] = try await idle(storage, runners: runners)
            log("level \(waiting): kill -9 of one of two runners")
            report["failover"] = try await failover(executions, storage: storage, victim: runners[0],
                                                    survivor: runners[1])
            if measuringLateness {
                log("level \(waiting): timer lateness of \(options.sleepers) sleepers")
                report["timerLatenessMs"] = try await lateness(executions, storage: storage)
            }
            return try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
        }
    }

    func log(_ message: String) {
        FileHandle.standardError.write(Data("bench: \(message)\n".utf8))
    }

    /// Starts executions one at a time through the database path (a `pending` insert the owner picks up) and
    /// waits until each has run to its wait.
    private func singleStarts(_ executions: Executions, storage: PostgresStorage) async throws -> [String: Any] {
        let ids = (0..<options.starts).map { "started-\($0)" }
        let began = ContinuousClock.now
        for id in ids {
            _ = try await executions.start(Approval.self, id: id, input: .init(requestId: id, coolOffMs: 0))
        }
        let inserted = ContinuousClock.now - began
        return try await rates(ids, began: began, inserted: inserted, storage: storage)
    }

    /// Starts executions in batches of ``Executions/maximumBatchSize`` and waits until each has run to its wait.
    private func batchStarts(_ executions: Executions, storage: PostgresStorage) async throws -> [String: Any] {
        let ids = (0..<options.batchStarts).map { "batched-\($0)" }
        let began = ContinuousClock.now
        for chunk in stride(from: 0, to: ids.count, by: Executions.maximumBatchSize) {
            let members = ids[chunk..<min(ids.count, chunk + Executions.maximumBatchSize)].map {
                (id: $0, input: Approval.Input(requestId: $0, coolOffMs: 0))
            }
            for result in try await executions.start(Approval.self, members) { _ = try result.get() }
        }
        let inserted = ContinuousClock.now - began
        return try await rates(ids, began: began, inserted: inserted, storage: storage)
    }

    /// Waits until every execution has run to its wait; the rates of their inserts and of their runs to their waits.
    private func rates(_ ids: [String], began: ContinuousClock.Instant, inserted: Duration,
                       storage: PostgresStorage) async throws -> [String: Any] {
        while try await count(storage, """
            SELECT count(*)::int FROM executions WHERE id = ANY(\(ids)) AND status = 'waiting'
            """) < ids.count {
            try await Task.sleep(for: .milliseconds(20))
        }
        let waitingAfter = ContinuousClock.now - began
        return ["startsPerSecond": Percentiles.rounded(Double(ids.count) / inserted.seconds),
                "runToWaitingPerSecond": Percentiles.rounded(Double(ids.count) / waitingAfter.seconds)]
    }

    /// Stores waiting `Approval` executions as a run leaves them at their wait (the `submit` activity journaled,
    /// the `decision` deferred awaited with its one-day deadline as the due time), 10,000 per statement.
    private func seed(_ total: Int, storage: PostgresStorage) async throws -> Double {
        let settings = ClusterSettings()
        let began = ContinuousClock.now
        var next = 0
        while next < total {
            let ids = (next..<min(total, next + 10_000)).map { "waiting-\($0)" }
            let shards = ids.map { settings.shard(for: $0).index }
            try await storage.client.query("""
                WITH seeded AS (
                    INSERT INTO executions (workflow, id, status, input, attempt, shard, due_at)
                    SELECT 'Approval', s.id, 'waiting', jsonb_build_object('requestId', s.id, 'coolOffMs', 0), 1,
                           s.shard, now() + interval '1 day'
                    FROM unnest(\(ids)::text[], \(shards)::int[]) AS s(id, shard)
                    RETURNING key, due_at
                )
                INSERT INTO journal (execution, position, kind, name, state, attempts, result, due_at, written_by)
                SELECT key, 0, 'activity', 'submit', 'completed', 1, 'true'::jsonb, NULL, 'bench' FROM seeded
                UNION ALL
                SELECT key, 1, 'deferred', 'decision', 'waiting', 0, NULL, due_at, 'bench' FROM seeded
                """)
            next += ids.count
        }
        return Percentiles.rounded(Double(total) / (ContinuousClock.now - began).seconds)
    }

    /// The database's bytes (tables, indexes and TOAST) per waiting execution, and by table.
    private func bytesPerExecution(_ storage: PostgresStorage) async throws -> [String: Any] {
        var result: [String: Any] = [:]
        var total = 0
        for table in ["executions", "journal", "deferreds"] {
            let bytes = try await count(storage, "SELECT pg_total_relation_size(\(table)::regclass)::bigint")
            result[table] = Percentiles.rounded(Double(bytes) / Double(waiting))
            total += bytes
        }
        result["total"] = Percentiles.rounded(Double(total) / Double(waiting))
        return result
    }

    /// Each runner's resident memory and the database's transactions per second over 10 s at rest, 15 s after the
    /// last change.
    private func idle(_ storage: PostgresStorage,
                      runners: [(process: RunnerProcess, address: String)]) async throws -> [String: Any] {
        try await Task.sleep(for: .seconds(15))
        let before = try await DatabaseCounters.read(storage)
        let began = ContinuousClock.now
        try await Task.sleep(for: .seconds(10))
        let after = try await DatabaseCounters.read(storage)
        let elapsed = (ContinuousClock.now - began).seconds
        return [
            "runnerRSSBytes": runners.map { BenchRunners.residentBytes(pid: $0.process.pid) },
            "transactionsPerSecond": Percentiles.rounded(Double(after.transactions - before.transactions) / elapsed),
            "writeTransactionsPerSecond": Percentiles.rounded(
                Double(after.nextTransactionId - before.nextTransactionId) / elapsed),
        ]
    }

    /// Kills `victim`; measures the time until `survivor` holds every shard, then resolves executions that were
    /// waiting on the victim's shards one at a time, each awaited to its result; then the load, detaches and stuck
    /// warnings over the 30 s after the kill.
    private func failover(_ executions: Executions, storage: PostgresStorage,
                          victim: (process: RunnerProcess, address: String),
                          survivor: (process: RunnerProcess, address: String)) async throws -> [String: Any] {
        let settings = ClusterSettings()
        let owned = Set(try await storage.cluster.status().leases.filter { $0.owner == victim.address }
            .map(\.shard.index))
        var moved: [String] = []
        var next = 0
        while moved.count < options.samples, next < waiting - options.starts - options.batchStarts {
            let id = "waiting-\(next)"
            if owned.contains(settings.shard(for: id).index) { moved.append(id) }
            next += 1
        }
        let before = try await DatabaseCounters.read(storage)
        let killed = ContinuousClock.now
        await victim.process.kill9()
        while true {
            let leases = try await storage.cluster.status().leases
            if leases.count == settings.shardsPerGroup, leases.allSatisfy({ $0.live && $0.owner == survivor.address }) {
                break
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        let heldAgain = ContinuousClock.now - killed
        var latencies: [Double] = []
        for id in moved {
            let began = ContinuousClock.now
            _ = try await executions.resolve(Approval.decision, of: Approval.self, id: id,
                                             value: .init(approved: true, by: "bench"))
            _ = try await executions.result(of: Approval.self, id: id)
            latencies.append((ContinuousClock.now - began).milliseconds)
        }
        let lastResult = ContinuousClock.now - killed
        try await Task.sleep(until: killed + .seconds(30))
        let after = try await DatabaseCounters.read(storage)
        let output = survivor.process.output
        let lines = { (text: String) in output.split(separator: "\n").filter { $0.contains(text) }.count }
        return [
            "movedShards": owned.count,
            "everyShardHeldAgainMs": Percentiles.rounded(heldAgain.milliseconds),
            "resolveToResultMs": Percentiles.summary(latencies),
            "killToLastResultMs": Percentiles.rounded(lastResult.milliseconds),
            "transactionsIn30s": after.transactions - before.transactions,
            "detaches": lines("runner detached from its shards"),
            "stuckWarnings": lines("executions are stuck"),
            "survivorRSSBytes": BenchRunners.residentBytes(pid: survivor.process.pid),
        ]
    }

    /// Starts sleepers due 5 s later and reads how late each fired, from its journal (fire time against due time,
    /// both on the database's clock).
    private func lateness(_ executions: Executions, storage: PostgresStorage) async throws -> [String: Any] {
        let ids = (0..<options.sleepers).map { "sleeper-\($0)" }
        for id in ids { _ = try await executions.start(Reminder.self, id: id, input: .init(delayMs: 5_000)) }
        for id in ids { _ = try await executions.result(of: Reminder.self, id: id) }
        var late: [Double] = []
        for try await value in try await storage.client.query("""
            SELECT (extract(epoch FROM (j.result #>> '{}')::timestamptz - j.due_at) * 1000)::float8
            FROM journal j JOIN executions e ON e.key = j.execution
            WHERE e.id = ANY(\(ids)) AND j.kind = 'sleep' AND j.state = 'completed'
            """).decode(Double.self) {
            late.append(value)
        }
        return Percentiles.summary(late)
    }

    private func count(_ storage: PostgresStorage, _ query: PostgresQuery) async throws -> Int {
        for try await value in try await storage.client.query(query).decode(Int.self) { return value }
        return 0
    }
}
