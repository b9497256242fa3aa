import Foundation
import PostgresNIO
import Roost
import RoostPostgres
import RoostRunner

/// The application's own tables, created by every runner before it joins.
public enum HelloTables {
    /// Creates `hello_effects` and `hello_visits` in the runner's schema if they do not exist, one runner at a time
    /// (runners starting together would otherwise race on `CREATE TABLE IF NOT EXISTS`).
    public static func create(_ storage: PostgresStorage) async throws {
        try await storage.client.query("""
            DO $$ BEGIN
                PERFORM pg_advisory_xact_lock(hashtext('hello-roost tables'));
                CREATE TABLE IF NOT EXISTS hello_effects (execution_id text NOT NULL, step text NOT NULL);
                CREATE TABLE IF NOT EXISTS hello_visits (page text PRIMARY KEY, count bigint NOT NULL);
            END $$
            """, logger: storage.logger)
    }

    /// Records an activity's effect in its transaction.
    static func effect(_ transaction: ActivityTransaction, step: String) async throws {
        try await transaction.query("""
            INSERT INTO hello_effects (execution_id, step) VALUES (\(transaction.context.executionId), \(step))
            """)
    }
}

extension RoostApplication {
    /// Everything hello-roost's runners host.
    public static var hello: RoostApplication {
        var application = RoostApplication()
        application.register(Greeting())
        application.register(Chime())
        application.registerEntities { system, storage in
            system.register(Visits.self) { Visits(actorSystem: $0, storage: storage) }
        }
        application.beforeJoining { storage in try await HelloTables.create(storage) }
        // The expression is a constant known to be valid: a chime every second.
        application.register(try! Schedule("chime", cron: "* * * * * *", starting: Chime.self) { $0 })
        return application
    }
}
