import ArgumentParser
import Foundation
import PostgresNIO
import Roost
import RoostClient
import RoostExamples
import RoostPostgres
import RoostTesting

/// `roost demo …`: the steps `scripts/demo.sh` drives — start a batch of example executions, resolve the
/// approvals through the client library, show live progress, and report what happened.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo", abstract: "Drive the example workflows for scripts/demo.sh.",
        subcommands: [Reset.self, Start.self, Resolve.self, Watch.self, Report.self])

    struct Reset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Drop the demo schema and create it afresh.")
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await reportingErrors {
                let configuration = try database.storageConfiguration()
                try await withPostgresStorage(configuration, logger: Settings.quietLogger, migrate: false) { storage in
                    try await storage.client.query(
                        "DROP SCHEMA IF EXISTS \(unescaped: "\"\(configuration.schema)\"") CASCADE")
                    try await storage.migrate()
                    try await Examples.prepare(storage)
                }
            }
        }
    }

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start a batch of example executions.")
        @Option(help: "Order executions.") var orders = 200
        @Option(help: "Approval executions.") var approvals = 30
        @Option(help: "Reminder executions.") var reminders = 30
        @Option(help: "Pipeline executions.") var pipelines = 40
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await reportingErrors {
                try await database.withClient { client in
                    for index in 0..<orders {
                        _ = try await client.start(Order.self, id: "order-\(index)",
                                                   input: .init(orderId: "order-\(index)", amount: 10 + index))
                    }
                    for index in 0..<approvals {
                        _ = try await client.start(Approval.self, id: "approval-\(index)",
                                                   input: .init(requestId: "request-\(index)", coolOffMs: 500))
                    }
                    for index in 0..<reminders {
                        _ = try await client.start(Reminder.self, id: "reminder-\(index)",
                                                   input: .init(delayMs: 1_000 + 100 * index))
                    }
                    for index in 0..<pipelines {
                        _ = try await client.start(Pipeline.self, id: "pipeline-\(index)",
                                                   input: .init(steps: 4, sleepMs: 400))
                    }
                }
                print("started \(orders) orders, \(approvals) approvals, \(reminders) reminders, "
                      + "\(pipelines) pipelines")
            }
        }
    }

    struct Resolve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Resolve every approval's decision through the client library.")
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await reportingErrors {
                let resolved = try await database.withClient { client in
                    var resolved = 0
                    for record in try await client.list(ExecutionFilter(workflow: "Approval", limit: 10_000)) {
                        let outcome = try await client.resolve(
                            Approval.decision, of: Approval.self, id: record.id,
                            value: .init(approved: !record.id.hasSuffix("7"), by: "demo"))
                        if outcome.resolved { resolved += 1 }
                    }
                    return resolved
                }
                print("resolved \(resolved) approval decisions through RoostClient")
            }
        }
    }

    struct Watch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show live progress, by runner, until enough executions have finished.")
        @Option(help: "Stop once this many have finished (default: all).") var until: Int?
        @Option(help: "Give up after this many seconds.") var timeout: Double = 300
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await reportingErrors {
                let deadline = ContinuousClock.now + .milliseconds(Int64(timeout * 1000))
                let live = isatty(STDOUT_FILENO) == 1
                var lastPrinted = ContinuousClock.now - .seconds(10)
                try await database.withClient { client in
                    while true {
                        let progress = try await DemoProgress.read(client.storage)
                        let target = until ?? progress.audit.executions
                        let done = progress.audit.completed + progress.audit.failed >= target
                        let now = ContinuousClock.now
                        if live {
                            FileHandle.standardOutput.write(Data("\r\u{1B}[K\(progress.line(target: target))".utf8))
                        } else if done || now - lastPrinted >= .seconds(2) {
                            print(progress.line(target: target))
                            lastPrinted = now
                        }
                        if done || now >= deadline { break }
                        try await Task.sleep(for: .milliseconds(250))
                    }
                }
                if live { print("") }
            }
        }
    }

    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Report outcomes, moves between runners, fencing and effects; exit 1 on any problem.")
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await reportingErrors {
                let healthy = try await database.withClient { client in
                    let audit = try await ClusterAudit.read(client.storage)
                    let effects = try await ExampleEffects.read(client.storage)
                    print("""

                        Report
                          executions:  \(audit.executions) started, \(audit.completed) completed, \
                        \(audit.failed) failed, \(audit.unfinished) unfinished
                          moved:       \(audit.moved) executions ran on more than one runner process
                          fencing:     \(audit.unfencedEntries) journal entries written by a runner that did not \
                        hold the shard, \(audit.unattributedEntries) written outside the cluster
                          effects:     \(effects.recorded) activity effects recorded, \(effects.expected) expected, \
                        \(effects.duplicated) (execution, step) pairs recorded more than once, \(effects.missing) missing
                        """)
                    return audit.completed == audit.executions && audit.unfencedEntries == 0
                        && audit.unattributedEntries == 0 && effects.exactlyOnce
                }
                print(healthy ? "  verdict:     every execution completed, every journal entry was written under "
                                + "its shard's lease, and every effect happened exactly once"
                      : "  verdict:     PROBLEM — see the numbers above")
                if !healthy { throw ExitCode(1) }
            }
        }
    }
}

/// The demo's live view: the audit's counts, and each live runner's shards and executions in flight.
struct DemoProgress {
    var audit: ClusterAudit
    /// Live runners by address: shards held and unfinished executions on them.
    var runners: [(address: String, shards: Int, inFlight: Int)]
    /// Unfinished executions on shards no live runner holds.
    var unowned: Int

    static func read(_ storage: PostgresStorage) async throws -> DemoProgress {
        let schema = "\"\(storage.configuration.schema)\""
        var runners: [(address: String, shards: Int, inFlight: Int)] = []
        var unowned = 0
        for try await (address, shards, inFlight) in try await storage.client.query("""
            WITH live AS (
                SELECT incarnation, address FROM \(unescaped: schema).runners
                WHERE expires_at > now() AND stopped_at IS NULL
            ), held AS (
                SELECT l.shard, live.address FROM \(unescaped: schema).shard_leases l JOIN live ON live.incarnation = l.owner
                WHERE l.shard_group = \(unescaped: schema).execution_shard_group()
            ), flying AS (
                SELECT coalesce(held.address, '') AS address, count(*)::int AS n
                FROM \(unescaped: schema).executions e LEFT JOIN held ON held.shard = e.shard
                WHERE e.status IN ('pending', 'running', 'waiting') GROUP BY 1
            )
            SELECT a.address, (SELECT count(*)::int FROM held WHERE held.address = a.address),
                   coalesce((SELECT n FROM flying WHERE flying.address = a.address), 0)
            FROM (SELECT DISTINCT address FROM live UNION SELECT '' ) a ORDER BY a.address
            """, logger: storage.logger).decode((String, Int, Int).self) {
            if address.isEmpty { unowned = inFlight } else { runners.append((address, shards, inFlight)) }
        }
        return DemoProgress(audit: try await ClusterAudit.read(storage), runners: runners, unowned: unowned)
    }

    /// One line: a bar of finished executions, then each runner's executions in flight and the moves so far.
    func line(target: Int) -> String {
        let width = 30
        let finished = audit.completed + audit.failed
        let filled = target == 0 ? width : min(width, finished * width / target)
        let bar = "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]"
        let perRunner = runners.map { "\($0.address) \($0.inFlight) (\($0.shards) shards)" }
            + (unowned > 0 ? ["no runner \(unowned)"] : [])
        return "\(bar) \(finished)/\(audit.executions) finished | in flight: "
            + perRunner.joined(separator: ", ") + " | moved \(audit.moved)"
    }
}
