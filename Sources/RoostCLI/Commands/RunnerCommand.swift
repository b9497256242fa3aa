import ArgumentParser
import Foundation
import Logging
import Roost
import RoostExamples
import RoostPostgres
import ServiceLifecycle
import UnixSignals

/// `roost runner`: hosts the registered workflows until SIGTERM or SIGINT.
struct RunnerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runner", abstract: "Host workflow executions until SIGTERM or SIGINT.")
    @OptionGroup var database: DatabaseOptions
    @Option(help: "Log level: trace, debug, info, notice, warning, error (default: $ROOST_LOG_LEVEL, else info).")
    var logLevel: String?

    func run() async throws {
        try await reportingErrors {
            let environment = ProcessInfo.processInfo.environment
            let storageConfiguration = try database.storageConfiguration()
            let engineConfiguration = try RunnerSettings.engineConfiguration(environment)
            var logger = Logger(label: "roost.runner")
            let level = logLevel ?? environment["ROOST_LOG_LEVEL"] ?? "info"
            guard let parsed = Logger.Level(rawValue: level) else {
                throw ValidationError("log level '\(level)' must be one of trace, debug, info, notice, warning, error")
            }
            logger.logLevel = parsed
            logger[metadataKey: "roost.runner"] = "\(ProcessInfo.processInfo.processIdentifier)"

            let storage = PostgresStorage(configuration: storageConfiguration, logger: logger)
            let engine = WorkflowEngine(store: storage.store, registry: Examples.registry,
                                        configuration: engineConfiguration, logger: logger)
            let group = ServiceGroup(configuration: .init(
                services: [
                    .init(service: Runner(storage: storage, engine: engine, logger: logger),
                          successTerminationBehavior: .gracefullyShutdownGroup,
                          failureTerminationBehavior: .gracefullyShutdownGroup),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
            try await group.run()
        }
    }

    /// Runs the storage; migrates, prepares the examples' table, then runs the engine until graceful shutdown;
    /// stops the storage once the engine has stopped.
    struct Runner: Service {
        let storage: PostgresStorage
        let engine: WorkflowEngine
        let logger: Logger

        func run() async throws {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await storage.run() }
                defer { group.cancelAll() }
                try await runEngine()
            }
        }

        private func runEngine() async throws {
            await Task.yield()
            try await storage.migrate()
            try await Examples.prepare(storage)
            logger.info("runner ready", metadata: [
                "roost.database": "\(storage.configuration.redactedURL)",
                "roost.schema": "\(storage.configuration.schema)",
                "roost.notifications": "\(storage.configuration.notifications ? "on" : "off")",
            ])
            try await engine.run()
        }
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
}
