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
            if stuckAfter < 0 { throw ValidationError("--stuck-after must be 0 or more seconds") }
        }

        /// What pinging a live runner found: its answer, or why there was none.
        typealias Pings = [String: Result<RunnerPing, any Error>]

        func run() async throws {
            try await reportingErrors {
                let (status, pings, stuck) = try await withPostgresStorage(try database.storageConfiguration(),
                                                                           logger: Settings.quietLogger) { storage in
                    let status = try await storage.cluster.status()
                    let stuck = try await storage.store.stuckExecutions(olderThan: .seconds(stuckAfter), limit: 100)
                    return (status, await Self.ping(status, storage: storage), stuck)
                }
                if database.json {
                    Output.printJSON(Self.json(status, pings: pings).merging(["stuckExecutions": stuck.map {
                        ["workflow": $0.workflow, "id": $0.id, "shard": $0.shard ?? NSNull(),
                         "updatedAt": Output.date($0.updatedAt)] as [String: Any]
                    }]) { $1 })
                } else {
                    print(Self.text(status, pings: pings))
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

        /// Pings every live runner at once through a client cluster system.
        static func ping(_ status: ClusterStatus, storage: PostgresStorage) async -> Pings {
            let live = status.runners.filter { $0.health == "live" }.map(\.address)
            guard let settings = status.settings, !live.isEmpty else { return [:] }
            let system = ClusterSystem(clientOf: storage.cluster, settings: settings, logger: Settings.quietLogger)
            return await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await system.run() }
                // A connection to a paused runner would hold a graceful shutdown open: cancel it.
                defer {
                    system.shutdown()
                    group.cancelAll()
                }
                return await withTaskGroup(of: (String, Result<RunnerPing, any Error>).self) { pings in
                    for address in live {
                        pings.addTask {
                            do {
                                // The first ping opens the connection; the second measures the round trip.
                                _ = try await system.ping(address, timeout: .seconds(1))
                                return (address, .success(try await system.ping(address, timeout: .seconds(1))))
                            } catch {
                                return (address, .failure(error))
                            }
                        }
                    }
                    var found: Pings = [:]
                    for await (address, result) in pings { found[address] = result }
                    return found
                }
            }
        }

        static func json(_ status: ClusterStatus, pings: Pings) -> [String: Any] {
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
                        "ping": Self.json(pings[runner.address]),
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

        private static func json(_ ping: Result<RunnerPing, any Error>?) -> Any {
            switch ping {
            case .success(let ping):
                ["ms": Percentiles.rounded(ping.roundTrip.milliseconds), "entities": ping.entities] as [String: Any]
            case .failure(let error): ["error": "\(error)"]
            case nil: NSNull()
            }
        }

        private static func text(_ ping: Result<RunnerPing, any Error>?) -> String {
            switch ping {
            case .success(let ping): String(format: "%.2f ms", ping.roundTrip.milliseconds)
            case .failure: "unreachable"
            case nil: "-"
            }
        }

        static func text(_ status: ClusterStatus, pings: Pings) -> String {
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
