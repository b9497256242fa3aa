import Logging
import Roost
import RoostHTTP
import RoostPostgres
import ServiceLifecycle

extension Runner {
    /// The HTTP API over the runner's executions; ready once the runner has joined, holds shards and its last
    /// heartbeat renewed its leases.
    func httpService(_ http: RunnerHTTPAPI.Configuration, engine: WorkflowEngine, system: ClusterSystem,
                     shards: ShardManager, storage: PostgresStorage) -> any Service {
        if http.token == nil {
            logger.warning("the HTTP API has no token (ROOST_API_TOKEN): it serves only /health, /ready and /metrics",
                           metadata: ["roost.http.address": "\(http.address)"])
        } else {
            logger.info("HTTP API listening", metadata: ["roost.http.address": "\(http.address)"])
        }
        let api = RunnerHTTPAPI(configuration: http, executions: engine.executions, readiness: {
            guard await shards.machineId != nil else { return .init(ready: false, reason: "not joined to the cluster") }
            guard await !shards.leases.isEmpty else { return .init(ready: false, reason: "holds no shards yet") }
            // From what the runner keeps, never a query: a flood of /ready must not take connections from work.
            guard await shards.leasesRenewed else {
                return .init(ready: false, reason: "the database did not answer the last heartbeat in time")
            }
            return .init(ready: true)
        }, metrics: metrics, cluster: { stuckAfter in
            try await ClusterReport.read(cluster: storage.cluster, store: storage.store, pinging: system,
                                         stuckAfter: stuckAfter)
        }, schedules: { try await ScheduleRecord.read(from: storage.schedules, cluster: storage.cluster) },
        logger: logger)
        return api.application()
    }
}
