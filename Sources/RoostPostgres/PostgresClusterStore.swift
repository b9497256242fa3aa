import Foundation
import Logging
import PostgresNIO
import Roost

/// The ``ClusterStore`` on PostgreSQL: tables `cluster_settings`, `runners` and `shard_leases` in the configured
/// schema. A lease row names its owner's incarnation; it is valid while that runner's `expires_at` is in the future
/// by the database's clock, so one heartbeat renews every lease a runner holds.
public final class PostgresClusterStore: ClusterStore {
    let client: PostgresClient
    /// The pool of membership and lease statements, apart from every other query's.
    let liveness: PostgresClient
    let schema: String
    let logger: Logger
    /// The schema's `LISTEN`/`NOTIFY` channel, shared with the workflow store.
    let channel: String
    /// The name this process's listening connection carries; `nil` without a listener (notifications off).
    let presence: SessionPresence?
    private let membershipHandlers = Subscribers<Void>()

    /// How long after a PostgreSQL restart no runner is declared dead for lack of a session: every runner's
    /// listener needs a moment to reconnect.
    static let restartGrace = "10 seconds"

    init(client: PostgresClient, liveness: PostgresClient, schema: String, channel: String,
         presence: SessionPresence?, logger: Logger) {
        self.client = client
        self.liveness = liveness
        self.schema = "\"\(schema)\""
        self.channel = channel
        self.presence = presence
        self.logger = logger
    }

    // MARK: Notifications

    public func addMembershipHandler(_ handler: @escaping @Sendable () -> Void) -> Int {
        membershipHandlers.add { handler() }
    }

    public func removeMembershipHandler(_ token: Int) {
        membershipHandlers.remove(token)
    }

    /// Called by the storage's listener when a runner joined or left, or when notifications may have been missed.
    func membershipChanged() {
        membershipHandlers.publish(())
    }

    // MARK: Settings

    public func settings(proposing settings: ClusterSettings) async throws -> ClusterSettings {
        _ = try await client.guardedRows("""
            INSERT INTO \(unescaped: schema).cluster_settings (name, value)
            VALUES ('shard_groups', \(settings.shardGroups.joined(separator: ","))),
                   ('shards_per_group', \(String(settings.shardsPerGroup)))
            ON CONFLICT (name) DO NOTHING
            """, logger: logger)
        guard let cluster = try await storedSettings() else {
            throw StorageError(.invalidConfiguration, "the cluster settings in \(schema).cluster_settings are incomplete")
        }
        if cluster == settings {
            let count = cluster.shardsPerGroup
            _ = try await client.guardedRows("""
                INSERT INTO \(unescaped: schema).shard_leases (shard_group, shard)
                SELECT g, s FROM unnest(\(cluster.shardGroups)::text[]) AS g, generate_series(0, \(count) - 1) AS s
                ON CONFLICT DO NOTHING
                """, logger: logger)
        }
        return cluster
    }

    public func storedSettings() async throws -> ClusterSettings? {
        var stored: [String: String] = [:]
        for row in try await client.guardedRows(
            "SELECT name, value FROM \(unescaped: schema).cluster_settings", logger: logger
        ) {
            let (name, value) = try row.decode((String, String).self)
            stored[name] = value
        }
        guard let groups = stored["shard_groups"], let count = stored["shards_per_group"].flatMap({ Int($0) }) else {
            return nil
        }
        return ClusterSettings(shardGroups: groups.components(separatedBy: ","), shardsPerGroup: count)
    }

    // MARK: Membership

    public func register(address: String, incarnation: UUID, leaseTTL: Duration) async throws -> Int {
        let ttl = leaseTTL.wholeMilliseconds
        let lockKey = "roost.runners.\(schema)"
        // A runner registered with its session is declared dead as soon as the session ends; without one (no
        // listener, or it could not connect yet), only its TTL counts.
        var session: String?
        if let presence, await presence.awaitConnected(timeout: .seconds(5)) { session = presence.name }
        return try await liveness.withConnection { connection in
            try await connection.inTransaction(logger: logger) {
                _ = try await connection.guardedRows("SELECT pg_advisory_xact_lock(hashtext(\(lockKey)))", logger: logger)
                _ = try await connection.guardedRows("""
                    UPDATE \(unescaped: schema).runners SET expires_at = now()
                    WHERE address = \(address) AND expires_at > now()
                    """, logger: logger)
                var machineId: Int?
                for row in try await connection.guardedRows("""
                    INSERT INTO \(unescaped: schema).runners
                        (incarnation, address, machine_id, lease_ttl_ms, expires_at, session)
                    SELECT \(incarnation), \(address), m, \(ttl), now() + \(ttl) * interval '1 millisecond',
                           \(session)
                    FROM generate_series(0, 1023) AS m
                    WHERE NOT EXISTS (SELECT 1 FROM \(unescaped: schema).runners
                                      WHERE machine_id = m AND expires_at > now())
                    ORDER BY m LIMIT 1
                    RETURNING machine_id
                    """, logger: logger) {
                    let id = try row.decode(Int.self)
                    machineId = id
                }
                guard let machineId else {
                    throw StorageError(.clusterFull, "1024 runners are live: no machine id is free for \(address)")
                }
                _ = try await connection.guardedRows("SELECT pg_notify(\(channel), 'c')", logger: logger)
                return machineId
            }
        }
    }

    public func heartbeat(incarnation: UUID, leaseTTL: Duration) async throws -> HeartbeatOutcome {
        let ttl = leaseTTL.wholeMilliseconds
        var alive = false
        var runners: [String] = []
        var held: [ShardLease] = []
        // Runners whose session has ended are dead (kill -9, a crash): they expire now and everyone rebalances at
        // once. A paused or cut-off runner keeps its session and its lease until its TTL runs out.
        let rows = try await liveness.guardedRows("""
            WITH me AS (
                UPDATE \(unescaped: schema).runners
                SET heartbeat_at = now(), expires_at = now() + \(ttl) * interval '1 millisecond'
                WHERE incarnation = \(incarnation) AND expires_at > now()
                RETURNING incarnation
            ), reaped AS (
                UPDATE \(unescaped: schema).runners r SET expires_at = now()
                WHERE r.expires_at > now() AND r.incarnation <> \(incarnation) AND r.session IS NOT NULL
                  AND pg_postmaster_start_time() < now() - interval '\(unescaped: Self.restartGrace)'
                  AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.application_name = r.session)
                RETURNING pg_notify(\(channel), 'c')
            )
            SELECT 'm', NULL::text, NULL::integer, NULL::bigint FROM me
            UNION ALL
            SELECT 'r', address, NULL, NULL FROM \(unescaped: schema).runners
            WHERE expires_at > now() AND EXISTS (SELECT 1 FROM me)
            UNION ALL
            SELECT 'l', shard_group, shard, epoch FROM \(unescaped: schema).shard_leases
            WHERE owner = \(incarnation) AND EXISTS (SELECT 1 FROM me)
            """, logger: logger)
        for row in rows {
            let (kind, text, shard, epoch) = try row.decode((String, String?, Int?, Int64?).self)
            switch kind {
            case "m": alive = true
            case "r": if let text { runners.append(text) }
            default:
                if let text, let shard, let epoch { held.append(ShardLease(shard: ShardID(group: text, index: shard),
                                                                           epoch: epoch)) }
            }
        }
        if alive { return .alive(ClusterView(liveRunners: runners, held: held)) }
        let replaced = try await liveness.guardedRows("""
            SELECT 1 FROM \(unescaped: schema).runners mine JOIN \(unescaped: schema).runners other
                ON other.address = mine.address AND other.started_at > mine.started_at
            WHERE mine.incarnation = \(incarnation)
            """, logger: logger)
        return replaced.isEmpty ? .expired : .replaced
    }

    // MARK: Leases

    public func acquire(_ shards: [ShardID], incarnation: UUID) async throws -> [ShardLease] {
        guard !shards.isEmpty else { return [] }
        // Repeatable read: a lease another runner changed since this statement's snapshot is a serialization
        // failure, not a steal decided on a stale view of who is live. A lease row that a fenced write still
        // share-locks is skipped, not waited for: the write may belong to a paused process, and waiting would stop
        // this runner's heartbeats; the next rebalance tries that shard again.
        do {
            return try await liveness.withConnection { connection in
                try await connection.inTransaction(begin: "BEGIN ISOLATION LEVEL REPEATABLE READ", logger: logger) {
                    var acquired: [ShardLease] = []
                    for row in try await connection.guardedRows("""
                        WITH candidates AS (
                            SELECT l.shard_group, l.shard FROM \(unescaped: schema).shard_leases l
                            JOIN unnest(\(shards.map(\.group))::text[], \(shards.map(\.index))::int[])
                                AS w(shard_group, shard) ON l.shard_group = w.shard_group AND l.shard = w.shard
                            WHERE EXISTS (SELECT 1 FROM \(unescaped: schema).runners
                                          WHERE incarnation = \(incarnation) AND expires_at > now())
                              AND (l.owner IS NULL OR l.owner = \(incarnation)
                                   OR NOT EXISTS (SELECT 1 FROM \(unescaped: schema).runners r
                                                  WHERE r.incarnation = l.owner AND r.expires_at > now()))
                            FOR UPDATE OF l SKIP LOCKED
                        ), acquired AS (
                            UPDATE \(unescaped: schema).shard_leases l
                            SET owner = \(incarnation), epoch = l.epoch + 1, acquired_at = now()
                            FROM candidates c WHERE l.shard_group = c.shard_group AND l.shard = c.shard
                            RETURNING l.shard_group, l.shard, l.epoch
                        ), recorded AS (
                            INSERT INTO \(unescaped: schema).shard_lease_history (shard_group, shard, epoch, owner)
                            SELECT shard_group, shard, epoch, \(incarnation) FROM acquired
                        )
                        SELECT shard_group, shard, epoch FROM acquired
                        """, logger: logger) {
                        let (group, shard, epoch) = try row.decode((String, Int, Int64).self)
                        acquired.append(ShardLease(shard: ShardID(group: group, index: shard), epoch: epoch))
                    }
                    return acquired
                }
            }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "40001" {
            return []
        }
    }

    public func release(_ shards: [ShardID], incarnation: UUID) async throws {
        guard !shards.isEmpty else { return }
        _ = try await liveness.guardedRows("""
            UPDATE \(unescaped: schema).shard_leases l SET owner = NULL
            FROM unnest(\(shards.map(\.group))::text[], \(shards.map(\.index))::int[]) AS w(shard_group, shard)
            WHERE l.shard_group = w.shard_group AND l.shard = w.shard AND l.owner = \(incarnation)
            """, logger: logger)
    }

    public func deregister(incarnation: UUID) async throws {
        _ = try await liveness.guardedRows("""
            WITH released AS (
                UPDATE \(unescaped: schema).shard_leases SET owner = NULL WHERE owner = \(incarnation) RETURNING 1
            ), gone AS (
                UPDATE \(unescaped: schema).runners SET expires_at = least(expires_at, now()), stopped_at = now()
                WHERE incarnation = \(incarnation) RETURNING 1
            )
            SELECT pg_notify(\(channel), 'c'), (SELECT count(*) FROM released), (SELECT count(*) FROM gone)
            """, logger: logger)
    }

    // MARK: Status

    public func leftGracefully(address: String) async throws -> Bool {
        try await client.guardedRows("""
            SELECT stopped_at IS NOT NULL FROM \(unescaped: schema).runners WHERE address = \(address)
            ORDER BY started_at DESC LIMIT 1
            """, logger: logger).first?.decode(Bool.self) ?? false
    }

    public func liveRunners() async throws -> [String] {
        var runners: [String] = []
        for row in try await client.guardedRows(
            "SELECT address FROM \(unescaped: schema).runners WHERE expires_at > now() ORDER BY address",
            logger: logger
        ) {
            let address = try row.decode(String.self)
            runners.append(address)
        }
        return runners
    }

    public func forgetHistory(olderThan age: Duration, limit: Int) async throws -> Int {
        let rows = try await client.guardedRows("""
            WITH cutoff AS (
                SELECT now() - \(age.wholeMilliseconds) * interval '1 millisecond' AS at
            ), acquisitions AS (
                DELETE FROM \(unescaped: schema).shard_lease_history
                WHERE (shard_group, shard, epoch) IN (
                    SELECT shard_group, shard, epoch FROM \(unescaped: schema).shard_lease_history
                    WHERE acquired_at < (SELECT at FROM cutoff) LIMIT \(limit))
                RETURNING 1
            ), registrations AS (
                DELETE FROM \(unescaped: schema).runners
                WHERE incarnation IN (
                    SELECT r.incarnation FROM \(unescaped: schema).runners r
                    WHERE r.expires_at < (SELECT at FROM cutoff) AND NOT EXISTS (
                        SELECT 1 FROM \(unescaped: schema).shard_leases l WHERE l.owner = r.incarnation)
                    LIMIT \(limit))
                RETURNING 1
            )
            SELECT ((SELECT count(*) FROM acquisitions) + (SELECT count(*) FROM registrations))::int
            """, logger: logger)
        return try rows.first?.decode(Int.self) ?? 0
    }

    public func status() async throws -> ClusterStatus {
        let clusterSettings = try await storedSettings()
        var readAt = Date()
        for row in try await client.guardedRows("SELECT now()", logger: logger) { readAt = try row.decode(Date.self) }
        var runners: [ClusterStatus.Runner] = []
        for row in try await client.guardedRows("""
            SELECT address, incarnation, machine_id,
                   CASE WHEN expires_at > now() THEN 'live' WHEN stopped_at IS NOT NULL THEN 'stopped'
                        ELSE 'expired' END,
                   started_at, heartbeat_at, expires_at,
                   (SELECT count(*)::int FROM \(unescaped: schema).shard_leases l WHERE l.owner = r.incarnation)
            FROM \(unescaped: schema).runners r
            ORDER BY expires_at > now() DESC, started_at DESC, address
            LIMIT 100
            """, logger: logger) {
            let row = try row.decode((String, UUID, Int, String, Date, Date, Date, Int).self)
            runners.append(ClusterStatus.Runner(address: row.0, incarnation: row.1, machineId: row.2, health: row.3,
                                                startedAt: row.4, heartbeatAt: row.5, expiresAt: row.6,
                                                shards: row.7))
        }
        var leases: [ClusterStatus.Lease] = []
        for row in try await client.guardedRows("""
            SELECT l.shard_group, l.shard, r.address, l.owner, coalesce(r.expires_at > now(), false), l.epoch,
                   l.acquired_at
            FROM \(unescaped: schema).shard_leases l LEFT JOIN \(unescaped: schema).runners r ON r.incarnation = l.owner
            ORDER BY l.shard_group, l.shard
            """, logger: logger) {
            let row = try row.decode((String, Int, String?, UUID?, Bool, Int64, Date?).self)
            leases.append(ClusterStatus.Lease(shard: ShardID(group: row.0, index: row.1), owner: row.2,
                                              incarnation: row.3, live: row.4, epoch: row.5, acquiredAt: row.6))
        }
        return ClusterStatus(settings: clusterSettings, runners: runners, leases: leases, readAt: readAt)
    }
}
