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
            abstract: "List runners (address, health, last heartbeat, shards) and which runner holds each shard.")
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await reportingErrors {
                let status = try await withPostgresStorage(try database.storageConfiguration(),
                                                           logger: Settings.quietLogger) { storage in
                    try await storage.cluster.status()
                }
                if database.json {
                    Output.printJSON(Self.json(status))
                } else {
                    print(Self.text(status))
                }
            }
        }

        static func json(_ status: ClusterStatus) -> [String: Any] {
            let settings: Any = status.settings.map {
                ["shardGroups": $0.shardGroups, "shardsPerGroup": $0.shardsPerGroup] as [String: Any]
            } ?? NSNull()
            return [
                "settings": settings,
                "readAt": Output.date(status.readAt),
                "runners": status.runners.map { runner -> [String: Any] in
                    [
                        "address": runner.address, "incarnation": runner.incarnation.uuidString.lowercased(),
                        "machineId": runner.machineId, "health": runner.health, "shards": runner.shards,
                        "startedAt": Output.date(runner.startedAt), "lastHeartbeat": Output.date(runner.heartbeatAt),
                        "expiresAt": Output.date(runner.expiresAt),
                    ]
                },
                "shards": status.leases.map { lease -> [String: Any] in
                    [
                        "group": lease.shard.group, "index": lease.shard.index,
                        "owner": (lease.live ? lease.owner : nil) ?? NSNull(), "epoch": lease.epoch,
                        "acquiredAt": Output.date(lease.acquiredAt),
                    ]
                },
                "unowned": status.leases.filter { !$0.live }.count,
            ]
        }

        static func text(_ status: ClusterStatus) -> String {
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
                ["RUNNER", "HEALTH", "MACHINE", "LAST HEARTBEAT", "SHARDS"],
                status.runners.map { [$0.address, $0.health, "\($0.machineId)", seconds($0.heartbeatAt), "\($0.shards)"] }))
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
