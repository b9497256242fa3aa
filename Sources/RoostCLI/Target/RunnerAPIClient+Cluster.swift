import Foundation
import Roost

extension RunnerAPIClient {
    /// The stored cron schedules, as `GET /v1/schedules` gives them.
    func schedules() async throws -> [ScheduleRecord] {
        let reply = try await send("GET", "/v1/schedules")
        return (reply["schedules"] as? [[String: Any]] ?? []).map {
            ScheduleRecord(name: $0["name"] as? String ?? "", cron: $0["cron"] as? String ?? "",
                           timeZone: $0["timeZone"] as? String ?? "", workflow: $0["workflow"] as? String ?? "",
                           catchUp: $0["catchUp"] as? String ?? "", lastTick: Self.date($0["lastTick"]),
                           nextTick: Self.date($0["nextTick"]), runner: $0["runner"] as? String)
        }
    }

    /// The cluster report, as `GET /v1/cluster` gives it: membership, leases, pings from that runner, stuck
    /// executions.
    func clusterReport(stuckAfter: Duration) async throws -> ClusterReport {
        let reply = try await send("GET", "/v1/cluster?stuckAfter=\(Int(stuckAfter.seconds))")
        let settings = (reply["settings"] as? [String: Any]).map {
            ClusterSettings(shardGroups: $0["shardGroups"] as? [String] ?? [ClusterSettings.defaultGroup],
                            shardsPerGroup: $0["shardsPerGroup"] as? Int ?? 300)
        }
        var pings: [String: Result<RunnerPing, any Error>] = [:]
        let runners = (reply["runners"] as? [[String: Any]] ?? []).map { runner -> ClusterStatus.Runner in
            let address = runner["address"] as? String ?? ""
            let shards = runner["shards"] as? Int ?? 0
            if let ping = runner["ping"] as? [String: Any] {
                if let error = ping["error"] as? String {
                    pings[address] = .failure(WorkflowError(.storageUnavailable, error))
                } else {
                    let milliseconds = ping["ms"] as? Double ?? 0
                    pings[address] = .success(RunnerPing(address: address, shards: shards,
                                                         entities: ping["entities"] as? Int ?? 0,
                                                         roundTrip: .microseconds(Int64(milliseconds * 1000))))
                }
            }
            return ClusterStatus.Runner(
                address: address, incarnation: UUID(uuidString: runner["incarnation"] as? String ?? "") ?? UUID(),
                machineId: runner["machineId"] as? Int ?? 0, health: runner["health"] as? String ?? "",
                startedAt: Self.date(runner["startedAt"]) ?? Date(),
                heartbeatAt: Self.date(runner["lastHeartbeat"]) ?? Date(),
                expiresAt: Self.date(runner["expiresAt"]) ?? Date(), shards: shards)
        }
        let leases = (reply["shards"] as? [[String: Any]] ?? []).map { lease -> ClusterStatus.Lease in
            let owner = lease["owner"] as? String
            return ClusterStatus.Lease(
                shard: ShardID(group: lease["group"] as? String ?? "", index: lease["index"] as? Int ?? 0),
                owner: owner, incarnation: nil, live: owner != nil, epoch: Int64(lease["epoch"] as? Int ?? 0),
                acquiredAt: Self.date(lease["acquiredAt"]))
        }
        let stuck = (reply["stuckExecutions"] as? [[String: Any]] ?? []).map {
            StuckExecution(workflow: $0["workflow"] as? String ?? "", id: $0["id"] as? String ?? "",
                           shard: $0["shard"] as? Int, updatedAt: Self.date($0["updatedAt"]) ?? Date())
        }
        let status = ClusterStatus(settings: settings, runners: runners, leases: leases,
                                   readAt: Self.date(reply["readAt"]) ?? Date())
        return ClusterReport(status: status, pings: pings, stuck: stuck, stuckAfter: stuckAfter)
    }
}
