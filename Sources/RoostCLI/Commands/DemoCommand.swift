import ArgumentParser
import Foundation
import PostgresNIO
import Roost
import RoostClient
import RoostExamples
import RoostPostgres

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
            abstract: "Show live progress until enough executions have completed.")
        @Option(help: "Stop once this many have completed (default: all).") var until: Int?
        @Option(help: "Give up after this many seconds.") var timeout: Double = 300
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await reportingErrors {
                let deadline = ContinuousClock.now + .milliseconds(Int64(timeout * 1000))
                try await database.withClient { client in
                    while true {
                        let counts = try await DemoCounts.read(client.storage)
                        let target = until ?? counts.total
                        FileHandle.standardOutput.write(Data("\r\(counts.bar(target: target))".utf8))
                        if counts.completed >= target || ContinuousClock.now >= deadline { break }
                        try await Task.sleep(for: .milliseconds(200))
                    }
                }
                print("")
            }
        }
    }

    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Report outcomes and effects.")
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await reportingErrors {
                let healthy = try await database.withClient { client in
                    let counts = try await DemoCounts.read(client.storage)
                    let resumed = try await DemoCounts.scalar(client.storage, """
                        SELECT count(*)::int FROM executions WHERE attempt > 1
                        """)
                    let duplicated = try await DemoCounts.scalar(client.storage, """
                        SELECT count(*)::int FROM (SELECT execution_id, step FROM example_effects
                        GROUP BY execution_id, step HAVING count(*) > 1) d
                        """)
                    let expected = try await DemoCounts.scalar(client.storage, """
                        SELECT coalesce(sum(CASE workflow WHEN 'Order' THEN 3 WHEN 'Approval' THEN 2
                            WHEN 'Reminder' THEN 1 ELSE (input->>'steps')::int END), 0)::int
                        FROM executions WHERE status = 'completed'
                        """)
                    let effects = try await DemoCounts.scalar(client.storage, "SELECT count(*)::int FROM example_effects")
                    print("""

                        Report
                          executions:  \(counts.total) started, \(counts.completed) completed, \
                        \(counts.failed) failed, \(counts.unfinished) unfinished
                          resumed:     \(resumed) executions were resumed by a restarted runner (attempt > 1)
                          effects:     \(effects) activity effects recorded, \(expected) expected, \
                        \(duplicated) (execution, step) pairs recorded more than once
                        """)
                    return counts.completed == counts.total && duplicated == 0 && effects == expected
                }
                print(healthy ? "  verdict:     every execution completed and every effect happened exactly once"
                      : "  verdict:     PROBLEM — see the numbers above")
                if !healthy { throw ExitCode(1) }
            }
        }
    }
}

/// Execution counts by status for the demo.
struct DemoCounts {
    var total = 0
    var completed = 0
    var failed = 0
    var unfinished: Int { total - completed - failed }

    static func read(_ storage: PostgresStorage) async throws -> DemoCounts {
        var counts = DemoCounts()
        let schema = "\"\(storage.configuration.schema)\""
        for try await (status, count) in try await storage.client.query("""
            SELECT status, count(*)::int FROM \(unescaped: schema).executions GROUP BY status
            """).decode((String, Int).self) {
            counts.total += count
            if status == "completed" { counts.completed += count }
            if status == "failed" || status == "cancelled" { counts.failed += count }
        }
        return counts
    }

    static func scalar(_ storage: PostgresStorage, _ sql: String) async throws -> Int {
        for try await value in try await storage.client.query(PostgresQuery(unsafeSQL: sql)).decode(Int.self) {
            return value
        }
        return 0
    }

    func bar(target: Int) -> String {
        let width = 40
        let filled = target == 0 ? width : min(width, completed * width / target)
        return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            + "] \(completed)/\(total) completed, \(unfinished) in flight   "
    }
}
