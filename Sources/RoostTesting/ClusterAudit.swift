import PostgresNIO
import Roost
import RoostPostgres

/// What a cluster's stored history says about its executions, read after the fact: how they ended, how many ran
/// on more than one runner process, and whether every journal entry was written by the runner that held the
/// execution's shard.
///
/// Each journal row records the process that wrote it and the epoch of the execution's shard at that moment, read
/// from the lease row itself, and keeps those of its earlier versions; every acquisition of a shard is kept with its
/// epoch and owner. A write is **unfenced** when the owner of that epoch is not the process that made it.
public struct ClusterAudit: Sendable, CustomStringConvertible {
    /// Executions in the schema.
    public var executions = 0
    /// Executions that completed.
    public var completed = 0
    /// Executions that failed or were cancelled.
    public var failed = 0
    /// Executions that ran on more than one runner process: their journal was written by several.
    public var moved = 0
    /// Journal writes (a row and each of its earlier versions) made by a process that did not hold the execution's
    /// shard at the time.
    public var unfencedEntries = 0
    /// Journal entries written outside a cluster (no shard lease): none are expected from runners.
    public var unattributedEntries = 0

    /// Executions neither completed, failed nor cancelled.
    public var unfinished: Int { executions - completed - failed }

    /// Reads the audit from a storage's schema.
    public static func read(_ storage: PostgresStorage) async throws -> ClusterAudit {
        var audit = ClusterAudit()
        let schema = "\"\(storage.configuration.schema)\""
        for try await (status, count) in try await storage.client.query("""
            SELECT status, count(*)::int FROM \(unescaped: schema).executions GROUP BY status
            """, logger: storage.logger).decode((String, Int).self) {
            audit.executions += count
            if status == "completed" { audit.completed += count }
            if status == "failed" || status == "cancelled" { audit.failed += count }
        }
        for try await (moved, unfenced, unattributed) in try await storage.client.query("""
            WITH writes AS (
                SELECT execution, written_by, written_epoch FROM \(unescaped: schema).journal
                UNION ALL
                SELECT j.execution, w ->> 'by', (w ->> 'epoch')::bigint
                FROM \(unescaped: schema).journal j, jsonb_array_elements(j.earlier_writes) w
            ), entries AS (
                SELECT j.execution, j.written_by, j.written_epoch, r.session AS holder
                FROM writes j
                JOIN \(unescaped: schema).executions e ON e.key = j.execution
                LEFT JOIN \(unescaped: schema).shard_lease_history h
                    ON h.shard_group = \(unescaped: schema).execution_shard_group() AND h.shard = e.shard
                   AND h.epoch = j.written_epoch
                LEFT JOIN \(unescaped: schema).runners r ON r.incarnation = h.owner
            )
            SELECT
                (SELECT count(*)::int FROM (SELECT execution FROM entries GROUP BY execution
                                            HAVING count(DISTINCT written_by) > 1) m),
                (SELECT count(*)::int FROM entries
                 WHERE written_epoch IS NOT NULL AND holder IS DISTINCT FROM written_by),
                (SELECT count(*)::int FROM entries WHERE written_epoch IS NULL)
            """, logger: storage.logger).decode((Int, Int, Int).self) {
            (audit.moved, audit.unfencedEntries, audit.unattributedEntries) = (moved, unfenced, unattributed)
        }
        return audit
    }

    public var description: String {
        "\(executions) executions: \(completed) completed, \(failed) failed or cancelled, \(unfinished) unfinished; "
            + "\(moved) moved between runners; \(unfencedEntries) journal entries written without the shard's lease, "
            + "\(unattributedEntries) written outside a cluster"
    }
}
