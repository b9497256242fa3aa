import ArgumentParser
import Foundation
import Roost
import RoostPostgres

/// `roost cluster …`: the cluster as the database sees it.
struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster", abstract: "Inspect the cluster.", subcommands: [Status.self])

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List runners (address, health, last heartbeat, shards, ping) and which runner holds each shard.",
            discussion: "Every live runner is pinged over the cluster's transport (PING is the round trip on an "
                + "open connection); one that does not answer within a second is shown as unreachable.")
        @Option(help: "Flag executions no live runner has run for this many seconds (their shard has no owner).")
        var stuckAfter = 60
        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            if stuckAfter < 0 || stuckAfter > StuckExecution.longestAgeSeconds {
                throw ValidationError("--stuck-after must be a number of seconds from 0 to "
                                      + "\(StuckExecution.longestAgeSeconds)")
            }
        }

        func run() async throws {
            try await reportingErrors {
                let report = if let runner = try database.runnerClient() {
                    try await runner.clusterReport(stuckAfter: .seconds(stuckAfter))
                } else {
                    try await withPostgresStorage(try database.storageConfiguration(),
                                                  logger: Settings.quietLogger) { storage in
                        try await Self.report(storage: storage, stuckAfter: .seconds(stuckAfter))
                    }
                }
                if database.json {
                    Output.printJSON(report.jsonObject)
                } else {
                    print(Self.text(report.status, pings: report.pings))
                    let stuck = report.stuck
                    print("stuck executions (no live runner holds their shard for \(stuckAfter) s): \(stuck.count)"
                          + (stuck.count == 100 ? "+" : ""))
                    for execution in stuck.prefix(5) {
                        print("  \(execution.workflow)/\(execution.id): shard "
                              + "\(execution.shard.map(String.init) ?? "(none yet)"), "
                              + "unchanged since \(Output.date(execution.updatedAt))")
                    }
                }
            }
        }

        /// Reads the report, pinging the live runners through a client cluster system.
        static func report(storage: PostgresStorage, stuckAfter: Duration) async throws -> ClusterReport {
            let settings = try await storage.cluster.storedSettings() ?? ClusterSettings()
            let system = ClusterSystem(clientOf: storage.cluster, settings: settings,
                                       configuration: try RunnerSettings.entityConfiguration(
                                           ProcessInfo.processInfo.environment),
                                       logger: Settings.quietLogger)
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try? await system.run() }
                // A connection to a paused runner would hold a graceful shutdown open: cancel it.
                defer {
                    system.shutdown()
                    group.cancelAll()
                }
                return try await ClusterReport.read(cluster: storage.cluster, store: storage.store, pinging: system,
                                                    stuckAfter: stuckAfter)
            }
        }

        private static func text(_ ping: Result<RunnerPing, any Error>?) -> String {
            switch ping {
            case .success(let ping): String(format: "%.2f ms", ping.roundTrip.milliseconds)
            case .failure: "unreachable"
            case nil: "-"
            }
        }

        static func text(_ status: ClusterStatus, pings: [String: Result<RunnerPing, any Error>]) -> String {
            var lines: [String] = []
            if let settings = status.settings {
                lines.append("shard groups: \(settings.shardGroups.joined(separator: ", ")); "
                             + "\(settings.shardsPerGroup) shards per group")
            } else {
                lines.append("no runner has joined this cluster yet")
            }
            let seconds = { (date: Date) in String(format: "%.1fs ago", status.readAt.timeIntervalSince(date)) }
            lines.append("")
            lines.append(Output.table(
                ["RUNNER", "HEALTH", "MACHINE", "LAST HEARTBEAT", "SHARDS", "PING"],
                status.runners.map {
                    [$0.address, $0.health, "\($0.machineId)", seconds($0.heartbeatAt), "\($0.shards)",
                     text(pings[$0.address])]
                }))
            let owned = Dictionary(grouping: status.leases.filter(\.live)) { $0.owner ?? "" }
            lines.append("")
            for (owner, leases) in owned.sorted(by: { $0.key < $1.key }) {
                lines.append("\(owner): \(leases.count) shards \(ShardRanges(leases.map(\.shard)))")
            }
            let unowned = status.leases.filter { !$0.live }.map(\.shard)
            lines.append("unowned: \(unowned.count)\(unowned.isEmpty ? "" : " \(ShardRanges(unowned))")")
            return lines.joined(separator: "\n")
        }
    }
}
