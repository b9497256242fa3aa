import ArgumentParser
import Foundation
import Logging
import Roost
import RoostPostgres
import Metrics
import Prometheus
import RoostHTTP
import RoostRunner
import ServiceLifecycle
import UnixSignals

/// `roost runner`: joins the cluster and hosts the registered workflows until SIGTERM or SIGINT.
struct RunnerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runner", abstract: "Join the cluster and host workflow executions until SIGTERM or SIGINT.")
    @OptionGroup var database: DatabaseOptions
    @Option(help: "Log level: trace, debug, info, notice, warning, error (default: $ROOST_LOG_LEVEL, else info).")
    var logLevel: String?
    @Option(name: .customLong("config"),
            help: "A YAML configuration file, like cluster-config/runner-1.yaml; the environment overrides it.")
    var configFile: String?
    @Flag(help: "Check the configuration, print each setting and where it came from, and exit.")
    var checkConfig = false

    func run() async throws {
        try await reportingErrors {
            let settings = try await RunnerConfiguration(file: configFile,
                                                         environment: ProcessInfo.processInfo.environment)
            let configurations = try settings.explaining { try checkedConfigurations(settings.values) }
            guard !checkConfig else {
                printCheck(settings, configurations)
                return
            }
            let metrics = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metrics))
            var logger = Logger(label: "roost.runner")
            logger.logLevel = configurations.logLevel
            logger[metadataKey: "roost.pid"] = "\(ProcessInfo.processInfo.processIdentifier)"
            logger[metadataKey: "roost.runner"] = "\(configurations.shards.address)"
            var configuration = Runner.Configuration(storage: configurations.storage, shards: configurations.shards)
            configuration.engine = configurations.engine
            configuration.entities = configurations.entities
            configuration.maintenance = configurations.maintenance
            configuration.http = configurations.http
            configuration.insecure = configurations.insecure
            let application = RoostCommand.hostedApplication(exampleSchedules: configurations.exampleSchedules)
            let runner = Runner(application: application, configuration: configuration,
                                metrics: { MetricsHelp.annotating(metrics.emitToString()) }, logger: logger)
            // The runner's own service group bounds its graceful shutdown.
            try await ServiceGroup(services: [runner], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
                .run()
        }
    }

    /// Every configuration the runner is built from.
    struct Configurations {
        var storage: StorageConfiguration
        var engine: WorkflowEngine.Configuration
        var shards: ShardManager.Configuration
        var entities: ClusterSystem.Configuration
        var maintenance: Maintenance.Configuration
        var http: RunnerHTTPAPI.Configuration?
        var logLevel: Logger.Level
        /// Whether the example schedules run (`ROOST_EXAMPLE_SCHEDULES=on`).
        var exampleSchedules: Bool
        /// Whether the runner was told it is a local development cluster (`ROOST_CLUSTER_INSECURE=on`).
        var insecure: Bool
    }

    /// Checks every setting and builds the configurations, before anything starts.
    func checkedConfigurations(_ values: [String: String]) throws -> Configurations {
        let level = logLevel ?? values["ROOST_LOG_LEVEL"] ?? "info"
        guard let parsed = Logger.Level(rawValue: level) else {
            throw ValidationError("ROOST_LOG_LEVEL '\(level)' must be one of trace, debug, info, notice, warning, error")
        }
        let entities = try RunnerSettings.entityConfiguration(values)
        return Configurations(storage: try database.storageConfiguration(environment: values),
                              engine: try RunnerSettings.engineConfiguration(values),
                              shards: try RunnerSettings.shardConfiguration(values),
                              entities: entities,
                              maintenance: try RunnerSettings.maintenanceConfiguration(values),
                              http: try Self.httpConfiguration(values),
                              logLevel: parsed,
                              exampleSchedules: try Self.exampleSchedules(values),
                              insecure: try Self.checkedClusterSecurity(values, entities))
    }

    /// Whether the runner may run with no way to tell its peers from strangers: only when told it is a local
    /// development cluster (`ROOST_CLUSTER_INSECURE=on`).
    /// - Returns: Whether it runs so.
    /// - Throws: `ValidationError` if neither a cluster secret nor mutual TLS is set and the runner is not told so.
    private static func checkedClusterSecurity(_ values: [String: String],
                                               _ entities: ClusterSystem.Configuration) throws -> Bool {
        let insecure: Bool
        switch values["ROOST_CLUSTER_INSECURE"] {
        case nil, "", "off": insecure = false
        case "on": insecure = true
        case let other?: throw ValidationError("ROOST_CLUSTER_INSECURE '\(other)' must be on or off")
        }
        if let problem = Runner.Configuration.securityProblem(entities: entities, insecure: insecure) {
            throw ValidationError(problem)
        }
        return insecure
    }

    private static func exampleSchedules(_ values: [String: String]) throws -> Bool {
        switch values["ROOST_EXAMPLE_SCHEDULES"] {
        case nil, "", "off": false
        case "on": true
        case let other?: throw ValidationError("ROOST_EXAMPLE_SCHEDULES '\(other)' must be on or off")
        }
    }

    /// Prints what `--check-config` found: each setting given, its value and its source.
    func printCheck(_ settings: RunnerConfiguration, _ configurations: Configurations) {
        var rows: [[String]] = []
        for key in RunnerConfiguration.keys {
            guard let source = settings.sources[key], let value = settings.values[key] else { continue }
            let shown = key == "ROOST_DATABASE_URL" ? configurations.storage.redactedURL
                : ["ROOST_API_TOKEN", "ROOST_CLUSTER_SECRET"].contains(key) ? "(\(value.count) characters, not shown)"
                : value
            rows.append([RunnerConfiguration.fileKey(key), key, shown, source])
        }
        if database.json {
            Output.printJSON([
                "valid": true, "files": settings.files,
                "settings": rows.map { ["key": $0[0], "environment": $0[1], "value": $0[2], "from": $0[3]] },
            ])
            return
        }
        print(Output.table(["setting", "environment", "value", "from"], rows))
        print("configuration is valid: runner \(configurations.shards.address), "
              + "lease TTL \(configurations.shards.leaseTTL), "
              + "\(configurations.shards.settings.shardsPerGroup) shards per group")
    }
}

/// Runner settings read from the environment.
enum RunnerSettings {
    static func engineConfiguration(_ environment: [String: String]) throws -> WorkflowEngine.Configuration {
        var configuration = WorkflowEngine.Configuration()
        if let text = environment["ROOST_POLL_INTERVAL_MS"] {
            guard let value = Int(text), value > 0 else {
                throw ValidationError("ROOST_POLL_INTERVAL_MS '\(text)' must be a positive number of milliseconds")
            }
            configuration.pollInterval = .milliseconds(value)
        }
        if let text = environment["ROOST_PARK_AFTER_MS"] {
            guard let value = Int(text), value >= 0 else {
                throw ValidationError("ROOST_PARK_AFTER_MS '\(text)' must be a number of milliseconds (0 never parks)")
            }
            configuration.parkAfter = value == 0 ? nil : .milliseconds(value)
        }
        configuration.maximumPayloadBytes = try Settings.maximumPayloadBytes(environment)
        return configuration
    }

    /// How the runner hosts and calls entities.
    static func entityConfiguration(_ environment: [String: String]) throws -> ClusterSystem.Configuration {
        var configuration = ClusterSystem.Configuration()
        if let value = try positive("ROOST_CALL_TIMEOUT_MS", environment) {
            configuration.callTimeout = .milliseconds(value)
        }
        if let value = try positive("ROOST_MAILBOX_CAPACITY", environment) { configuration.mailboxCapacity = value }
        if let value = try positive("ROOST_ENTITY_IDLE_MS", environment) {
            configuration.idleTimeout = .milliseconds(value)
        }
        if let value = try positive("ROOST_REDELIVERY_INTERVAL_MS", environment) {
            configuration.redeliveryInterval = .milliseconds(value)
        }
        if let secret = environment["ROOST_CLUSTER_SECRET"], !secret.isEmpty {
            guard secret.count >= 16 else {
                throw ValidationError("ROOST_CLUSTER_SECRET must be at least 16 characters (it has \(secret.count))")
            }
            configuration.clusterSecret = secret
        }
        configuration.tls = try clusterTLS(environment)
        return configuration
    }

    /// What the maintenance singleton deletes, and how often it looks.
    static func maintenanceConfiguration(_ environment: [String: String]) throws -> Maintenance.Configuration {
        var configuration = Maintenance.Configuration()
        if let value = try positive("ROOST_RETENTION_S", environment) { configuration.retention = .seconds(value) }
        if let value = try positive("ROOST_MESSAGE_RETENTION_S", environment) {
            configuration.messageRetention = .seconds(value)
        }
        if let value = try positive("ROOST_MAINTENANCE_INTERVAL_MS", environment) {
            configuration.interval = .milliseconds(value)
        }
        return configuration
    }

    /// Mutual TLS between runners: all three files, or none.
    private static func clusterTLS(_ environment: [String: String]) throws -> ClusterTLS? {
        let keys = ["ROOST_CLUSTER_TLS_CERTIFICATE", "ROOST_CLUSTER_TLS_KEY", "ROOST_CLUSTER_TLS_CA"]
        let paths = keys.map { environment[$0].flatMap { $0.isEmpty ? nil : $0 } }
        if paths.allSatisfy({ $0 == nil }) { return nil }
        let missing = zip(keys, paths).filter { $0.1 == nil }.map(\.0)
        guard missing.isEmpty else {
            throw ValidationError("mutual TLS between runners needs \(keys.joined(separator: ", ")); "
                                  + "\(missing.joined(separator: " and ")) \(missing.count == 1 ? "is" : "are") not set")
        }
        do {
            return try ClusterTLS(certificateChain: paths[0]!, privateKey: paths[1]!, authority: paths[2]!)
        } catch let error as WorkflowError {
            throw ValidationError(error.message)
        }
    }

    private static func positive(_ key: String, _ environment: [String: String]) throws -> Int? {
        guard let text = environment[key] else { return nil }
        guard let value = Int(text), value > 0 else { throw ValidationError("\(key) '\(text)' must be a positive number") }
        return value
    }

    /// The runner's address, lease TTL, rebalance interval and cluster settings.
    static func shardConfiguration(_ environment: [String: String]) throws -> ShardManager.Configuration {
        let address = try Settings.checked("ROOST_RUNNER_ADDRESS") {
            try RunnerAddress(parsing: environment["ROOST_RUNNER_ADDRESS"] ?? "127.0.0.1:7420")
        }
        var configuration = ShardManager.Configuration(address: address.description)
        if let text = environment["ROOST_LEASE_TTL"] {
            guard let seconds = Double(text), seconds >= 0.3, seconds <= 3_600 else {
                throw ValidationError("ROOST_LEASE_TTL '\(text)' must be a number of seconds from 0.3 to 3600")
            }
            configuration.leaseTTL = .milliseconds(Int64(seconds * 1000))
        }
        if let text = environment["ROOST_REBALANCE_INTERVAL_MS"] {
            guard let value = Int(text), value > 0 else {
                throw ValidationError("ROOST_REBALANCE_INTERVAL_MS '\(text)' must be a positive number of milliseconds")
            }
            configuration.rebalanceInterval = .milliseconds(value)
        }
        if let text = environment["ROOST_SHARDS_PER_GROUP"] {
            guard let value = Int(text) else {
                throw ValidationError("ROOST_SHARDS_PER_GROUP '\(text)' must be a whole number")
            }
            configuration.settings.shardsPerGroup = value
        }
        if let text = environment["ROOST_SHARD_GROUPS"] {
            configuration.settings.shardGroups = text.components(separatedBy: ",")
                .map { $0.trimmingCharacters(in: .whitespaces) }
        }
        try Settings.checked("the cluster settings") { try configuration.validate() }
        return configuration
    }
}
