import Foundation
import Logging
import PostgresNIO
import Roost

/// The ``ScheduleStore`` on PostgreSQL: table `schedules` in the configured schema. Progress is written in a
/// fenced transaction (``PostgresClusterStore/withFencedTransaction(_:_:)``), so a runner that lost the
/// schedule's shard records nothing.
public final class PostgresScheduleStore: ScheduleStore {
    let client: PostgresClient
    let schema: String
    let cluster: PostgresClusterStore
    let logger: Logger

    init(client: PostgresClient, schema: String, cluster: PostgresClusterStore, logger: Logger) {
        self.client = client
        self.schema = "\"\(schema)\""
        self.cluster = cluster
        self.logger = logger
    }

    public func databaseNow() async throws -> Date {
        try await client.databaseNow(logger: logger)
    }

    public func register(_ schedule: ScheduleRecord) async throws -> Date {
        let rows = try await client.guardedRows("""
            INSERT INTO \(unescaped: schema).schedules (name, cron, time_zone, workflow, catch_up, next_tick)
            VALUES (\(schedule.name), \(schedule.cron), \(schedule.timeZone), \(schedule.workflow),
                    \(schedule.catchUp), \(schedule.nextTick))
            ON CONFLICT (name) DO UPDATE SET cron = excluded.cron, time_zone = excluded.time_zone,
                workflow = excluded.workflow, catch_up = excluded.catch_up,
                next_tick = coalesce(\(unescaped: schema).schedules.next_tick, excluded.next_tick), updated_at = now()
            RETURNING coalesce(last_tick, registered_at)
            """, logger: logger)
        guard let since = try rows.first?.decode(Date.self) else {
            throw WorkflowError(.invalidArgument, "schedule '\(schedule.name)' could not be stored")
        }
        return since
    }

    public func recordTick(schedule: String, tick: Date, next: Date?, lease: ShardLease) async throws {
        try await cluster.withFencedTransaction(lease) { connection in
            _ = try await connection.query("""
                UPDATE \(unescaped: schema).schedules SET last_tick = \(tick), next_tick = \(next), updated_at = now()
                WHERE name = \(schedule) AND (last_tick IS NULL OR last_tick < \(tick))
                """, logger: logger)
        }
    }

    public func schedules() async throws -> [ScheduleRecord] {
        try await client.guardedRows("""
            SELECT name, cron, time_zone, workflow, catch_up, last_tick, next_tick
            FROM \(unescaped: schema).schedules ORDER BY name
            """, logger: logger).map { row in
            let (name, cron, zone, workflow, catchUp, last, next) = try row.decode(
                (String, String, String, String, String, Date?, Date?).self)
            return ScheduleRecord(name: name, cron: cron, timeZone: zone, workflow: workflow, catchUp: catchUp,
                                  lastTick: last, nextTick: next)
        }
    }
}
