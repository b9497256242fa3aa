import Foundation
import Logging
import PostgresNIO
import Roost
import RoostPostgres

/// A database for tests: the server from `ROOST_DATABASE_URL` (or `POSTGRES_*`, else `127.0.0.1:5432`), and a
/// fresh schema per test so that tests never see each other's rows.
public enum TestDatabase {
    /// A configuration with a new, unique schema on the test server.
    /// - Parameter prefix: The schema name's prefix.
    public static func configuration(prefix: String = "test") throws -> StorageConfiguration {
        let suffix = UUID().uuidString.prefix(8).lowercased()
        var environment = ProcessInfo.processInfo.environment
        environment["ROOST_SCHEMA"] = "\(prefix)_\(suffix)"
        if environment["ROOST_DATABASE_URL"] == nil, environment["POSTGRES_HOST"] == nil {
            environment["POSTGRES_HOST"] = "127.0.0.1"
        }
        return try StorageConfiguration.fromEnvironment(environment: environment)
    }

    /// Drops a test schema and everything in it.
    public static func drop(_ storage: PostgresStorage) async throws {
        try await storage.client.query("DROP SCHEMA IF EXISTS \(unescaped: "\"\(storage.configuration.schema)\"") CASCADE")
    }
}
