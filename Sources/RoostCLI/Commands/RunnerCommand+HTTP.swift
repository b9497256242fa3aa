import ArgumentParser
import Logging
import PostgresNIO
import Prometheus
import Roost
import RoostHTTP
import RoostPostgres
import ServiceLifecycle

extension RunnerCommand {
    /// The HTTP API's configuration: `nil` without `ROOST_HTTP_ADDRESS`.
    static func httpConfiguration(_ values: [String: String]) throws -> RunnerHTTPAPI.Configuration? {
        guard let text = values["ROOST_HTTP_ADDRESS"], !text.isEmpty else { return nil }
        let address = try Settings.checked("ROOST_HTTP_ADDRESS") { try RunnerAddress(parsing: text) }
        var configuration = RunnerHTTPAPI.Configuration(address: address)
        if let token = values["ROOST_API_TOKEN"], !token.isEmpty {
            guard token.count >= 16 else {
                throw ValidationError("ROOST_API_TOKEN must be at least 16 characters (it has \(token.count))")
            }
            configuration.token = token
        }
        configuration.maximumBodyBytes = try Settings.maximumPayloadBytes(values) + (64 << 10)
        return configuration
    }

    /// The HTTP API over the runner's executions; ready once the runner has joined, holds shards and its last
    /// heartbeat renewed its leases.
    static func httpService(_ configuration: RunnerHTTPAPI.Configuration, engine: WorkflowEngine,
                            system: ClusterSystem, shards: ShardManager, storage: PostgresStorage,
                            metrics: PrometheusCollectorRegistry, logger: Logger) -> any Service {
        if configuration.token == nil {
            logger.warning("the HTTP API has no token (ROOST_API_TOKEN): it serves only /health, /ready and /metrics",
                           metadata: ["roost.http.address": "\(configuration.address)"])
        } else {
            logger.info("HTTP API listening", metadata: ["roost.http.address": "\(configuration.address)"])
        }
        let api = RunnerHTTPAPI(configuration: configuration, executions: engine.executions, readiness: {
            guard await shards.machineId != nil else { return .init(ready: false, reason: "not joined to the cluster") }
            guard await !shards.leases.isEmpty else { return .init(ready: false, reason: "holds no shards yet") }
            // From what the runner keeps, never a query: a flood of /ready must not take connections from work.
            guard await shards.leasesRenewed else {
                return .init(ready: false, reason: "the database did not answer the last heartbeat in time")
            }
            return .init(ready: true)
        }, metrics: { MetricsHelp.annotating(metrics.emitToString()) }, cluster: { stuckAfter in
            try await ClusterReport.read(cluster: storage.cluster, store: storage.store, pinging: system,
                                         stuckAfter: stuckAfter)
        }, schedules: { try await ScheduleRecord.read(from: storage.schedules, cluster: storage.cluster) },
        logger: logger)
        return api.application()
    }
}
