import Foundation
import Logging
import PostgresNIO
import Roost
import RoostPostgres

/// A database for tests: the server from `ROOST_DATABASE_URL` (or `POSTGRES_*`, else `127.0.0.1:5432`), and a
/// fresh schema per test so that tests never see each other's rows.
public enum TestDatabase {
    /// A configuration with a new, unique schema on the test server.
    /// - Parameter prefix: The schema name's prefix: lowercase letters, digits and underscores.
    public static func configuration(prefix: String = "test") throws -> StorageConfiguration {
        let suffix = UUID().uuidString.prefix(8).lowercased()
        var environment = ProcessInfo.processInfo.environment
        environment["ROOST_SCHEMA"] = "\(prefix)_\(suffix)"
        environment["ROOST_NOTIFICATIONS"] = nil
        if environment["ROOST_DATABASE_URL"] == nil, environment["POSTGRES_HOST"] == nil {
            environment["POSTGRES_HOST"] = "127.0.0.1"
        }
        return try StorageConfiguration.fromEnvironment(environment: environment)
    }

    /// Runs `body` with a running, migrated storage on a fresh schema, and drops the schema afterwards.
    /// - Parameters:
    ///   - prefix: The schema name's prefix.
    ///   - configure: Changes to the configuration (notifications off, a smaller pool, …).
    ///   - body: The test.
    public static func withStorage<Result: Sendable>(
        prefix: String = "test", configure: (inout StorageConfiguration) -> Void = { _ in },
        _ body: (PostgresStorage) async throws -> Result
    ) async throws -> Result {
        var configuration = try configuration(prefix: prefix)
        configure(&configuration)
        return try await withPostgresStorage(configuration, logger: logger) { storage in
            do {
                let result = try await body(storage)
                try await drop(storage)
                return result
            } catch {
                try? await drop(storage)
                throw error
            }
        }
    }

    /// Runs `body` with a second storage on the same database and schema, as another process would have.
    public static func withSecondStorage<Result: Sendable>(
        of storage: PostgresStorage, configure: (inout StorageConfiguration) -> Void = { _ in },
        _ body: (PostgresStorage) async throws -> Result
    ) async throws -> Result {
        var configuration = storage.configuration
        configure(&configuration)
        return try await withPostgresStorage(configuration, logger: logger, migrate: false, body)
    }

    /// Drops a test schema and everything in it.
    public static func drop(_ storage: PostgresStorage) async throws {
        try await storage.client.query(
            "DROP SCHEMA IF EXISTS \(unescaped: "\"\(storage.configuration.schema)\"") CASCADE")
    }

    /// A logger for tests: warnings and errors only, unless `ROOST_TEST_LOG_LEVEL` says otherwise.
    public static var logger: Logger {
        var logger = Logger(label: "roost.test")
        logger.logLevel = ProcessInfo.processInfo.environment["ROOST_TEST_LOG_LEVEL"]
            .flatMap(Logger.Level.init(rawValue:)) ?? .warning
        return logger
    }
}
