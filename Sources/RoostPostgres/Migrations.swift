import Foundation
import Logging
import PostgresNIO

/// Roost's versioned schema migrations. Each runs once per schema, in its own transaction, in version order.
///
/// `{schema}` in the SQL stands for the configured schema's quoted name.
public enum Migrations {
    /// One migration.
    public struct Migration: Sendable {
        /// The version; migrations run in ascending order.
        public var version: Int
        /// A short name.
        public var name: String
        /// The SQL, with `{schema}` for the schema.
        public var sql: String
    }

    /// Every migration, in version order.
    public static let all: [Migration] = [
        Migration(version: 1, name: "executions, journal and deferreds", sql: """
            CREATE TABLE {schema}.executions (
                key bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                workflow text NOT NULL,
                id text NOT NULL,
                status text NOT NULL
                    CHECK (status IN ('pending', 'running', 'waiting', 'completed', 'failed', 'cancelled')),
                input jsonb NOT NULL,
                output jsonb,
                error jsonb,
                attempt integer NOT NULL DEFAULT 0,
                wake_pending boolean NOT NULL DEFAULT false,
                watched boolean NOT NULL DEFAULT false,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                finished_at timestamptz,
                UNIQUE (workflow, id)
            );
            CREATE INDEX executions_unfinished ON {schema}.executions (key)
                WHERE status IN ('pending', 'running', 'waiting');
            CREATE INDEX executions_wake_pending ON {schema}.executions (key) WHERE wake_pending;
            CREATE INDEX executions_by_status ON {schema}.executions (status, key);

            CREATE TABLE {schema}.journal (
                execution bigint NOT NULL,
                position integer NOT NULL,
                kind text NOT NULL,
                name text NOT NULL,
                state text NOT NULL CHECK (state IN ('completed', 'failed', 'waiting', 'retrying')),
                attempts integer NOT NULL DEFAULT 0,
                result jsonb,
                error jsonb,
                due_at timestamptz,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (execution, position)
            );

            CREATE TABLE {schema}.deferreds (
                execution bigint NOT NULL,
                name text NOT NULL,
                value jsonb NOT NULL,
                resolved_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (execution, name)
            );
            """),
        Migration(version: 2, name: "cluster settings, runners and shard leases", sql: """
            CREATE TABLE {schema}.cluster_settings (
                name text PRIMARY KEY,
                value text NOT NULL,
                stored_at timestamptz NOT NULL DEFAULT now()
            );

            CREATE TABLE {schema}.runners (
                incarnation uuid PRIMARY KEY,
                address text NOT NULL,
                machine_id integer NOT NULL,
                lease_ttl_ms integer NOT NULL CHECK (lease_ttl_ms > 0),
                started_at timestamptz NOT NULL DEFAULT now(),
                heartbeat_at timestamptz NOT NULL DEFAULT now(),
                expires_at timestamptz NOT NULL,
                stopped_at timestamptz
            );
            CREATE INDEX runners_live ON {schema}.runners (expires_at);
            CREATE INDEX runners_by_address ON {schema}.runners (address);

            CREATE TABLE {schema}.shard_leases (
                shard_group text NOT NULL,
                shard integer NOT NULL,
                owner uuid,
                epoch bigint NOT NULL DEFAULT 0,
                acquired_at timestamptz,
                PRIMARY KEY (shard_group, shard)
            );
            CREATE INDEX shard_leases_by_owner ON {schema}.shard_leases (owner);
            """),
        Migration(version: 3, name: "lease fence and persisted entity calls", sql: """
            CREATE FUNCTION {schema}.hold_lease(shard_group text, shard bigint, epoch bigint) RETURNS boolean
            LANGUAGE sql VOLATILE AS $$
                SELECT EXISTS (
                    SELECT 1 FROM {schema}.shard_leases l
                    WHERE l.shard_group = $1 AND l.shard = $2 AND l.epoch = $3
                      AND EXISTS (SELECT 1 FROM {schema}.runners r
                                  WHERE r.incarnation = l.owner AND r.expires_at > now())
                    FOR SHARE OF l)
            $$;
            COMMENT ON FUNCTION {schema}.hold_lease(text, bigint, bigint) IS
                'Whether the shard is held at the epoch by a live runner; share-locks the lease row until the '
                'transaction ends, so an acquisition waits for the fenced write and a lost lease fences it.';
            CREATE TABLE {schema}.entity_messages (
                seq bigint GENERATED ALWAYS AS IDENTITY,
                entity_type text NOT NULL,
                entity_id text NOT NULL,
                request_id text NOT NULL,
                shard_group text NOT NULL,
                shard integer NOT NULL,
                target text NOT NULL,
                generics text[] NOT NULL,
                arguments text[] NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                completed_at timestamptz,
                reply_value text,
                reply_error_code text,
                reply_error_message text,
                PRIMARY KEY (entity_type, entity_id, request_id)
            );
            CREATE INDEX entity_messages_pending ON {schema}.entity_messages (shard_group, shard, seq)
                WHERE completed_at IS NULL;
            CREATE INDEX entity_messages_completed ON {schema}.entity_messages (completed_at)
                WHERE completed_at IS NOT NULL;
            """),
        Migration(version: 4, name: "executions on shards and runner sessions", sql: """
            ALTER TABLE {schema}.executions ADD COLUMN shard integer;
            ALTER TABLE {schema}.runners ADD COLUMN session text;
            CREATE INDEX executions_unfinished_by_shard ON {schema}.executions (shard, key)
                WHERE status IN ('pending', 'running', 'waiting');
            CREATE INDEX executions_unplaced ON {schema}.executions (key)
                WHERE shard IS NULL AND status IN ('pending', 'running', 'waiting');
            """),
        Migration(version: 5, name: "lease history, journal writers and activity durations", sql: """
            CREATE TABLE {schema}.shard_lease_history (
                shard_group text NOT NULL,
                shard integer NOT NULL,
                epoch bigint NOT NULL,
                owner uuid NOT NULL,
                acquired_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (shard_group, shard, epoch)
            );
            ALTER TABLE {schema}.journal ADD COLUMN written_by text, ADD COLUMN written_epoch bigint,
                ADD COLUMN duration_ms double precision;
            CREATE OR REPLACE FUNCTION {schema}.hold_lease(shard_group text, shard bigint, epoch bigint)
            RETURNS boolean LANGUAGE sql VOLATILE AS $$
                SELECT EXISTS (
                    SELECT 1 FROM {schema}.shard_leases l
                    JOIN {schema}.runners r ON r.incarnation = l.owner AND r.expires_at > now()
                    WHERE l.shard_group = $1 AND l.shard = $2 AND l.epoch = $3
                      AND set_config('idle_in_transaction_session_timeout', r.lease_ttl_ms::text, true) IS NOT NULL
                    FOR SHARE OF l)
            $$;
            COMMENT ON FUNCTION {schema}.hold_lease(text, bigint, bigint) IS
                'Whether the shard is held at the epoch by a live runner; share-locks the lease row until the '
                'transaction ends, so no one acquires the shard before the fenced write ends and a lost lease '
                'fences it. The transaction may then stay idle for at most the owner''s lease TTL: a paused '
                'writer loses its session rather than keep the shard from moving.';
            """),
        Migration(version: 6, name: "who resolved a deferred, the trace of a start, cron schedules", sql: """
            CREATE TABLE {schema}.schedules (
                name text PRIMARY KEY,
                cron text NOT NULL,
                time_zone text NOT NULL,
                workflow text NOT NULL,
                catch_up text NOT NULL,
                last_tick timestamptz,
                next_tick timestamptz,
                registered_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now()
            );
            COMMENT ON COLUMN {schema}.schedules.last_tick IS
                'The last tick whose execution was started; the next owner continues after it';
            ALTER TABLE {schema}.executions ADD COLUMN trace_context jsonb;
            COMMENT ON COLUMN {schema}.executions.trace_context IS
                'The tracing context of the start (W3C traceparent and tracestate, as the instrument injects them), '
                'which the execution''s runs continue on whichever runner runs them';
            CREATE FUNCTION {schema}.execution_shard_group() RETURNS text LANGUAGE sql STABLE AS $$
                SELECT split_part(value, ',', 1) FROM {schema}.cluster_settings WHERE name = 'shard_groups'
            $$;
            COMMENT ON FUNCTION {schema}.execution_shard_group() IS
                'The shard group executions are placed in: the first of the cluster''s groups';
            ALTER TABLE {schema}.deferreds ADD COLUMN resolved_by text;
            COMMENT ON COLUMN {schema}.deferreds.resolved_by IS
                'Who resolved the deferred, as the resolver said (a name given to the CLI or the API), else the way '
                'in: cli, http, client';
            """),
        Migration(version: 7, name: "journal writes as functions, for statement activities", sql: """
            CREATE FUNCTION {schema}.write_journal(target bigint, entries text, writer text, shard_epoch bigint)
            RETURNS void LANGUAGE plpgsql VOLATILE AS $$
            BEGIN
                INSERT INTO {schema}.journal AS j (execution, position, kind, name, state, attempts, result, error,
                                                   due_at, duration_ms, written_by, written_epoch)
                SELECT target, r.position, r.kind, r.name, r.state, r.attempts, r.result::jsonb, r.error, r.due_at,
                       r.duration_ms, writer, shard_epoch
                FROM jsonb_to_recordset(entries::jsonb) AS r(
                    position int, kind text, name text, state text, attempts int, result text, error jsonb,
                    due_at timestamptz, duration_ms float8)
                ON CONFLICT (execution, position) DO UPDATE
                SET state = excluded.state, attempts = excluded.attempts, result = excluded.result,
                    error = excluded.error, duration_ms = excluded.duration_ms, updated_at = now(),
                    due_at = CASE WHEN j.kind IN ('sleep', 'deferred') THEN j.due_at ELSE excluded.due_at END,
                    written_by = excluded.written_by, written_epoch = excluded.written_epoch
                WHERE j.state NOT IN ('completed', 'failed');
            END
            $$;
            COMMENT ON FUNCTION {schema}.write_journal(bigint, text, text, bigint) IS
                'Upserts journal rows from a JSON array. A completed or failed entry is never overwritten; a '
                'sleep''s or a deferred wait''s due time is stored once. Each row keeps who wrote it last (the '
                'writing process''s session name) and the epoch of the execution''s shard lease when it was '
                'written, read from the lease row by the caller, so an audit can compare them with the lease history';
            CREATE FUNCTION {schema}.write_activity(target bigint, entries text, new_status text, lease_group text,
                                                    lease_epoch bigint, writer text) RETURNS void
            LANGUAGE plpgsql VOLATILE AS $$
            DECLARE
                shard_epoch bigint;
            BEGIN
                -- Four statements rather than one with "lease_epoch IS NULL OR ...": PostgreSQL reuses a generic
                -- plan only when no parameter value makes a custom plan look cheaper.
                IF lease_epoch IS NULL AND new_status IS NULL THEN
                    PERFORM FROM {schema}.executions e
                    WHERE e.key = target AND e.status IN ('running', 'waiting') FOR SHARE OF e;
                ELSIF lease_epoch IS NULL THEN
                    UPDATE {schema}.executions e SET status = new_status, updated_at = now()
                    WHERE e.key = target AND e.status IN ('running', 'waiting');
                ELSIF new_status IS NULL THEN
                    SELECT (SELECT l.epoch FROM {schema}.shard_leases l
                            WHERE l.shard_group = lease_group AND l.shard = e.shard)
                    INTO shard_epoch FROM {schema}.executions e
                    WHERE e.key = target AND e.status IN ('running', 'waiting')
                      AND {schema}.hold_lease(lease_group, e.shard, lease_epoch)
                    FOR SHARE OF e;
                ELSE
                    UPDATE {schema}.executions e SET status = new_status, updated_at = now()
                    WHERE e.key = target AND e.status IN ('running', 'waiting')
                      AND {schema}.hold_lease(lease_group, e.shard, lease_epoch)
                    RETURNING (SELECT l.epoch FROM {schema}.shard_leases l
                               WHERE l.shard_group = lease_group AND l.shard = e.shard)
                    INTO shard_epoch;
                END IF;
                IF NOT FOUND THEN
                    RAISE EXCEPTION 'execution % is not running or waiting, or its shard lease is lost', target
                        USING ERRCODE = 'RF001';
                END IF;
                PERFORM {schema}.write_journal(target, entries, writer, shard_epoch);
            END
            $$;
            COMMENT ON FUNCTION {schema}.write_activity(bigint, text, text, text, bigint, text) IS
                'Every journal write of a run but its outcome: writes the entries (and the status, if given) if '
                'the execution is running or waiting and the lease, if given, is held, share-locking the '
                'execution so a concurrent cancel waits for the commit; otherwise raises RF001. A statement '
                'activity calls it in its own statement, which the error undoes with it. Its plans are cached '
                'for the session, so the statement around it is cheap to plan.';
            """),
        Migration(version: 8, name: "the lease fence in PL/pgSQL", sql: """
            CREATE OR REPLACE FUNCTION {schema}.hold_lease(shard_group text, shard bigint, epoch bigint)
            RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
            BEGIN
                RETURN EXISTS (
                    SELECT 1 FROM {schema}.shard_leases l
                    JOIN {schema}.runners r ON r.incarnation = l.owner AND r.expires_at > now()
                    WHERE l.shard_group = $1 AND l.shard = $2 AND l.epoch = $3
                      AND set_config('idle_in_transaction_session_timeout', r.lease_ttl_ms::text, true) IS NOT NULL
                    FOR SHARE OF l);
            END
            $$;
            COMMENT ON FUNCTION {schema}.hold_lease(text, bigint, bigint) IS
                'Whether the shard is held at the epoch by a live runner; share-locks the lease row until the '
                'transaction ends, so no one acquires the shard before the fenced write ends and a lost lease '
                'fences it. The transaction may then stay idle for at most the owner''s lease TTL: a paused '
                'writer loses its session rather than keep the shard from moving. In PL/pgSQL, its query is '
                'planned once per session rather than on every call, as a SQL function''s is.';
            """),
        Migration(version: 9, name: "every journal write's trace", sql: """
            ALTER TABLE {schema}.journal ADD COLUMN earlier_writes jsonb;
            COMMENT ON COLUMN {schema}.journal.earlier_writes IS
                'The writers and epochs of the row''s earlier versions, oldest first, as [{"by", "epoch"}]: an '
                'entry rewritten (a wait completed, a retry recorded) keeps the trace of every write for an audit';
            CREATE OR REPLACE FUNCTION {schema}.write_journal(target bigint, entries text, writer text,
                                                              shard_epoch bigint)
            RETURNS void LANGUAGE plpgsql VOLATILE AS $$
            BEGIN
                INSERT INTO {schema}.journal AS j (execution, position, kind, name, state, attempts, result, error,
                                                   due_at, duration_ms, written_by, written_epoch)
                SELECT target, r.position, r.kind, r.name, r.state, r.attempts, r.result::jsonb, r.error, r.due_at,
                       r.duration_ms, writer, shard_epoch
                FROM jsonb_to_recordset(entries::jsonb) AS r(
                    position int, kind text, name text, state text, attempts int, result text, error jsonb,
                    due_at timestamptz, duration_ms float8)
                ON CONFLICT (execution, position) DO UPDATE
                SET state = excluded.state, attempts = excluded.attempts, result = excluded.result,
                    error = excluded.error, duration_ms = excluded.duration_ms, updated_at = now(),
                    due_at = CASE WHEN j.kind IN ('sleep', 'deferred') THEN j.due_at ELSE excluded.due_at END,
                    written_by = excluded.written_by, written_epoch = excluded.written_epoch,
                    earlier_writes = coalesce(j.earlier_writes, '[]'::jsonb)
                        || jsonb_build_array(jsonb_build_object('by', j.written_by, 'epoch', j.written_epoch))
                WHERE j.state NOT IN ('completed', 'failed');
            END
            $$;
            """),
        Migration(version: 10, name: "a waiting execution's due time on its row", sql: """
            ALTER TABLE {schema}.executions ADD COLUMN due_at timestamptz;
            COMMENT ON COLUMN {schema}.executions.due_at IS
                'While the execution is waiting: when its wait is due (a sleep''s due time, a deferred''s timeout, '
                'an activity''s next attempt), NULL for a wait with no due time. Written with the waiting journal '
                'entry, so due work is found by an index range, without replaying anything';
            UPDATE {schema}.executions e SET due_at = (
                SELECT j.due_at FROM {schema}.journal j
                WHERE j.execution = e.key AND j.state IN ('waiting', 'retrying')
                ORDER BY j.position DESC LIMIT 1)
            WHERE e.status = 'waiting';
            CREATE INDEX executions_due ON {schema}.executions (due_at)
                WHERE status = 'waiting' AND due_at IS NOT NULL;
            DROP INDEX {schema}.executions_unfinished_by_shard;
            CREATE INDEX executions_unfinished_by_shard ON {schema}.executions (shard, updated_at)
                WHERE status IN ('pending', 'running', 'waiting');
            COMMENT ON INDEX {schema}.executions_unfinished_by_shard IS
                'A shard''s unfinished executions, least recently changed first: the stuck check reads only the '
                'shards no live runner holds';
            DROP FUNCTION {schema}.write_activity(bigint, text, text, text, bigint, text);
            CREATE FUNCTION {schema}.write_activity(target bigint, entries text, new_status text, lease_group text,
                                                    lease_epoch bigint, writer text,
                                                    new_due timestamptz DEFAULT NULL) RETURNS void
            LANGUAGE plpgsql VOLATILE AS $$
            DECLARE
                shard_epoch bigint;
            BEGIN
                -- Four statements rather than one with "lease_epoch IS NULL OR ...": PostgreSQL reuses a generic
                -- plan only when no parameter value makes a custom plan look cheaper.
                IF lease_epoch IS NULL AND new_status IS NULL THEN
                    PERFORM FROM {schema}.executions e
                    WHERE e.key = target AND e.status IN ('running', 'waiting') FOR SHARE OF e;
                ELSIF lease_epoch IS NULL THEN
                    UPDATE {schema}.executions e
                    SET status = new_status, updated_at = now(),
                        due_at = CASE WHEN new_status = 'waiting' THEN new_due END
                    WHERE e.key = target AND e.status IN ('running', 'waiting');
                ELSIF new_status IS NULL THEN
                    SELECT (SELECT l.epoch FROM {schema}.shard_leases l
                            WHERE l.shard_group = lease_group AND l.shard = e.shard)
                    INTO shard_epoch FROM {schema}.executions e
                    WHERE e.key = target AND e.status IN ('running', 'waiting')
                      AND {schema}.hold_lease(lease_group, e.shard, lease_epoch)
                    FOR SHARE OF e;
                ELSE
                    UPDATE {schema}.executions e
                    SET status = new_status, updated_at = now(),
                        due_at = CASE WHEN new_status = 'waiting' THEN new_due END
                    WHERE e.key = target AND e.status IN ('running', 'waiting')
                      AND {schema}.hold_lease(lease_group, e.shard, lease_epoch)
                    RETURNING (SELECT l.epoch FROM {schema}.shard_leases l
                               WHERE l.shard_group = lease_group AND l.shard = e.shard)
                    INTO shard_epoch;
                END IF;
                IF NOT FOUND THEN
                    RAISE EXCEPTION 'execution % is not running or waiting, or its shard lease is lost', target
                        USING ERRCODE = 'RF001';
                END IF;
                PERFORM {schema}.write_journal(target, entries, writer, shard_epoch);
            END
            $$;
            COMMENT ON FUNCTION {schema}.write_activity(bigint, text, text, text, bigint, text, timestamptz) IS
                'Every journal write of a run but its outcome: writes the entries (and the status, if given) if '
                'the execution is running or waiting and the lease, if given, is held, share-locking the '
                'execution so a concurrent cancel waits for the commit; otherwise raises RF001. A change to '
                'waiting stores new_due as the execution''s due time; any other change of status clears it. A '
                'statement activity calls it in its own statement, which the error undoes with it. Its plans are '
                'cached for the session, so the statement around it is cheap to plan.';
            """),
        wakeUpsThatOutliveTheirRunner,
        leanExecutionIndexes,
        publishedWorkflows,
    ]

    /// A migration's statements: its SQL split at each `;` that ends a line outside a `$$`-quoted function body.
    static func statements(of sql: String) -> [String] {
        var statements: [String] = []
        var current = ""
        for piece in sql.components(separatedBy: ";\n") {
            current += current.isEmpty ? piece : ";\n" + piece
            let insideBody = current.components(separatedBy: "$$").count.isMultiple(of: 2)
            if insideBody { continue }
            if !current.allSatisfy(\.isWhitespace) { statements.append(current) }
            current = ""
        }
        if !current.allSatisfy(\.isWhitespace) { statements.append(current) }
        return statements
    }

    /// Applies every migration the schema lacks, under a session advisory lock so that processes starting at once
    /// apply each migration exactly once.
    /// - Returns: The versions applied by this call.
    /// - Throws: ``StorageError`` `migration_failed` if a migration fails or the schema is newer than this build.
    @discardableResult
    static func apply(on client: PostgresClient, schema: String, logger: Logger) async throws -> [Int] {
        let quoted = "\"\(schema)\""
        let lockKey = "roost.migrations.\(schema)"
        return try await client.withConnection { connection in
            try await connection.query("SELECT pg_advisory_lock(hashtext(\(lockKey)))", logger: logger)
            do {
                let applied = try await applyLocked(on: connection, quoted: quoted, logger: logger)
                try await connection.query("SELECT pg_advisory_unlock(hashtext(\(lockKey)))", logger: logger)
                return applied
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(hashtext(\(lockKey)))", logger: logger)
                throw error
            }
        }
    }

    private static func applyLocked(on connection: PostgresConnection, quoted: String,
                                    logger: Logger) async throws -> [Int] {
        try await connection.query("CREATE SCHEMA IF NOT EXISTS \(unescaped: quoted)", logger: logger)
        try await connection.query("""
            CREATE TABLE IF NOT EXISTS \(unescaped: quoted).schema_migrations (
                version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
            """, logger: logger)
        var current = 0
        for try await version in try await connection.query(
            "SELECT coalesce(max(version), 0) FROM \(unescaped: quoted).schema_migrations", logger: logger
        ).decode(Int.self) {
            current = version
        }
        let latest = all.last?.version ?? 0
        guard current <= latest else {
            throw StorageError(.migrationFailed,
                               "schema \(quoted) is at version \(current), newer than this build's \(latest): "
                               + "run a newer roost")
        }
        var applied: [Int] = []
        for migration in all where migration.version > current {
            let sql = migration.sql.replacingOccurrences(of: "{schema}", with: quoted)
            do {
                try await connection.inTransaction(logger: logger) {
                    for statement in statements(of: sql) {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await connection.query("""
                        INSERT INTO \(unescaped: quoted).schema_migrations (version, name)
                        VALUES (\(migration.version), \(migration.name))
                        """, logger: logger)
                }
            } catch {
                throw StorageError(.migrationFailed,
                                   "migration \(migration.version) (\(migration.name)) failed: "
                                   + "\(String(reflecting: error))", cause: error)
            }
            logger.info("applied migration", metadata: ["roost.migration": "\(migration.version)"])
            applied.append(migration.version)
        }
        return applied
    }
}
