import Foundation

/// The cluster as operators see it: membership and shard ownership from the store, each live runner's answer to
/// a ping over the cluster's transport, and the executions stuck because no live runner holds their shard.
public struct ClusterReport: Sendable {
    /// Runners, settings and leases, as the store has them.
    public var status: ClusterStatus
    /// Each live runner's ping by address: its answer, or why there was none.
    public var pings: [String: Result<RunnerPing, any Error>]
    /// Executions unchanged for ``stuckAfter`` whose shard no live runner holds (at most 100).
    public var stuck: [StuckExecution]
    /// How long an execution must be unchanged to count as stuck.
    public var stuckAfter: Duration

    /// Reads the store and pings every live runner at once through `system` (one second each, twice: the first
    /// opens the connection, the second measures the round trip).
    public static func read(cluster: any ClusterStore, store: any WorkflowStore, pinging system: ClusterSystem,
                            stuckAfter: Duration) async throws -> ClusterReport {
        let status = try await cluster.status()
        let stuck = try await store.stuckExecutions(olderThan: stuckAfter, limit: 100)
        let live = status.runners.filter { $0.health == "live" }.map(\.address)
        let pings = await withTaskGroup(of: (String, Result<RunnerPing, any Error>).self) { group in
            for address in live {
                group.addTask {
                    do {
                        _ = try await system.ping(address, timeout: .seconds(1))
                        return (address, .success(try await system.ping(address, timeout: .seconds(1))))
                    } catch {
                        return (address, .failure(error))
                    }
                }
            }
            var found: [String: Result<RunnerPing, any Error>] = [:]
            for await (address, result) in group { found[address] = result }
            return found
        }
        return ClusterReport(status: status, pings: pings, stuck: stuck, stuckAfter: stuckAfter)
    }

    /// Creates a report.
    public init(status: ClusterStatus, pings: [String: Result<RunnerPing, any Error>], stuck: [StuckExecution],
                stuckAfter: Duration) {
        self.status = status
        self.pings = pings
        self.stuck = stuck
        self.stuckAfter = stuckAfter
    }

    /// The report as a JSON object, as `roost cluster status --json` and `GET /v1/cluster` show it.
    package var jsonObject: [String: Any] {
        let settings: Any = status.settings.map {
            ["shardGroups": $0.shardGroups, "shardsPerGroup": $0.shardsPerGroup] as [String: Any]
        } ?? NSNull()
        return [
            "settings": settings,
            "readAt": JSONText.date(status.readAt),
            "runners": status.runners.map { runner -> [String: Any] in
                [
                    "address": runner.address, "incarnation": runner.incarnation.uuidString.lowercased(),
                    "machineId": runner.machineId, "health": runner.health, "shards": runner.shards,
                    "startedAt": JSONText.date(runner.startedAt), "lastHeartbeat": JSONText.date(runner.heartbeatAt),
                    "expiresAt": JSONText.date(runner.expiresAt),
                    "ping": Self.json(pings[runner.address]),
                ]
            },
            "shards": status.leases.map { lease -> [String: Any] in
                [
                    "group": lease.shard.group, "index": lease.shard.index,
                    "owner": (lease.live ? lease.owner : nil) ?? NSNull(), "epoch": lease.epoch,
                    "acquiredAt": JSONText.date(lease.acquiredAt),
                ]
            },
            "unowned": status.leases.filter { !$0.live }.count,
            "stuckExecutions": stuck.map {
                ["workflow": $0.workflow, "id": $0.id, "shard": $0.shard ?? NSNull(),
                 "updatedAt": JSONText.date($0.updatedAt)] as [String: Any]
            },
        ]
    }

    private static func json(_ ping: Result<RunnerPing, any Error>?) -> Any {
        switch ping {
        case .success(let ping):
            ["ms": (ping.roundTrip.milliseconds * 1000).rounded() / 1000, "entities": ping.entities] as [String: Any]
        case .failure(let error): ["error": "\(error)"]
        case nil: NSNull()
        }
    }
}
