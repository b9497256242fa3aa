import Foundation
import PostgresNIO
import Roost

/// The statements of the hot path, prepared once per connection so the server plans them once.
///
/// Their SQL names tables without a schema: every connection's `search_path` is the configured schema
/// (`StorageConfiguration`), which is what makes one static SQL text serve every schema.
enum Statements {
    static let recordColumns = """
        key, workflow, id, status, input::text, output::text, error::text, attempt, created_at, updated_at, finished_at
        """

    /// The SQLSTATE `write_activity` raises when the execution is no longer running or waiting, or the lease is
    /// lost; whatever else its statement did is undone with it.
    static let notWritableState = "RF001"

    /// Journal entries, with a change of status if given, through `write_activity`: written only while the
    /// execution is running or waiting and the lease, if given, is held; otherwise it raises
    /// ``notWritableState``. It share-locks the execution, so a concurrent cancel waits for this
    /// commit and a committed cancel makes it write nothing. A change to `waiting` stores `due` on the execution's
    /// row; any other change of status clears it.
    struct WriteJournal: PostgresPreparedStatement {
        static let sql = "SELECT write_activity($1, $2, $3, $4, $5, $6, $7::timestamptz)"
        static let bindingDataTypes: [PostgresDataType] = [.int8, .text, .text, .text, .int8, .text, .text]
        var key: ExecutionKey
        var entries: String
        var status: String?
        var due: Date?
        var lease: ShardLease?
        var writer: String

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 7)
            bindings.append(key)
            bindings.append(entries)
            bindings.append(status)
            bindings.append(lease?.shard.group)
            bindings.append(lease?.epoch)
            bindings.append(writer)
            // As the journal's JSON has it, so that the row's due time and the entry's are the same instant.
            bindings.append(due.map(Timestamp.format))
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws {}
    }

    /// Executions' outcomes with their last journal entries, each written only while its execution is running or
    /// waiting and its lease, if given, is held; announces each completion someone watches, and returns the
    /// executions it finished. `$1` is a JSON array of ``FinishRequest/json``.
    ///
    /// Each execution is looked up by key: the keys are also given as an array, which PostgreSQL looks up in the
    /// primary key, and the guard names the statuses it excludes rather than the two it accepts (the same set, by
    /// the table's check), which no index matches. Otherwise PostgreSQL, joining with the batch alone (which it
    /// estimates at 100 rows), read the whole table while it was small, or every running and waiting execution
    /// through the status indexes, including each one's dead index entries, for each batch.
    struct FinishBatch: PostgresPreparedStatement {
        static let sql = """
            WITH batch AS (
                SELECT * FROM jsonb_to_recordset($1::jsonb) AS b(key bigint, entries text, status text, output text,
                                                                 error text, lease_group text, lease_epoch bigint)
            ), guard AS (
                UPDATE executions e
                SET status = b.status, output = b.output::jsonb, error = b.error::jsonb, updated_at = now(),
                    finished_at = now(), wake_pending = false
                FROM batch b
                WHERE e.key = b.key AND e.key = ANY (ARRAY(SELECT key FROM batch))
                  AND e.status NOT IN ('pending', 'completed', 'failed', 'cancelled')
                  AND (b.lease_epoch IS NULL OR hold_lease(b.lease_group, e.shard, b.lease_epoch))
                RETURNING e.key, e.workflow, e.id, e.status, e.input::text AS input, e.output::text AS output,
                          e.error::text AS error, e.attempt, e.created_at, e.updated_at, e.finished_at, e.watched,
                          b.entries,
                          (SELECT l.epoch FROM shard_leases l
                           WHERE l.shard_group = b.lease_group AND l.shard = e.shard) AS epoch
            ), written AS (
                SELECT write_journal(key, entries, $2, epoch) FROM guard WHERE entries <> '[]'
            ), notified AS (
                SELECT pg_notify($3, 'f' || key) FROM guard WHERE watched
            )
            SELECT key, workflow, id, status, input, output, error, attempt, created_at, updated_at, finished_at
            FROM guard WHERE (SELECT count(*) FROM written) + (SELECT count(*) FROM notified) >= 0
            """
        static let bindingDataTypes: [PostgresDataType] = [.text, .text, .text]
        var requests: String
        var writer: String
        var channel: String

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 3)
            bindings.append(requests)
            bindings.append(writer)
            bindings.append(channel)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> ExecutionRecord { try PostgresWorkflowStore.record(row) }
    }

    /// A new execution, unless its id exists; a `pending` one is announced to runners. The `notified` CTE must be
    /// used by the query's result: PostgreSQL never runs a `SELECT` CTE that nothing reads, and removes a `LEFT
    /// JOIN` whose columns nothing uses.
    struct InsertExecution: PostgresPreparedStatement {
        static let sql = """
            WITH inserted AS (
                INSERT INTO executions (workflow, id, status, input, attempt, wake_pending, shard, trace_context)
                VALUES ($1, $2, $3, $4::jsonb, $5, $6, $8, $9::jsonb)
                ON CONFLICT (workflow, id) DO NOTHING
                RETURNING \(recordColumns)
            ), notified AS (
                SELECT pg_notify($7, 'w' || key || coalesce(':' || $8::int, '')) FROM inserted WHERE $6
            )
            SELECT inserted.* FROM inserted WHERE (SELECT count(*) FROM notified) >= 0
            """
        static let bindingDataTypes: [PostgresDataType] = [.text, .text, .text, .text, .int4, .bool, .text, .int4,
                                                           .text]
        var workflow: String
        var id: String
        var status: String
        var input: String
        var attempt: Int32
        var pending: Bool
        var channel: String
        var shard: Int32?
        var traceContext: String?

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 9)
            bindings.append(workflow)
            bindings.append(id)
            bindings.append(status)
            bindings.append(input)
            bindings.append(attempt)
            bindings.append(pending)
            bindings.append(channel)
            bindings.append(shard)
            bindings.append(traceContext)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> ExecutionRecord { try PostgresWorkflowStore.record(row) }
    }

    /// An execution by key.
    struct ExecutionByKey: PostgresPreparedStatement {
        static let sql = "SELECT \(recordColumns) FROM executions WHERE key = $1"
        static let bindingDataTypes: [PostgresDataType] = [.int8]
        var key: ExecutionKey

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 1)
            bindings.append(key)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> ExecutionRecord { try PostgresWorkflowStore.record(row) }
    }

    /// An execution by workflow and id.
    struct ExecutionById: PostgresPreparedStatement {
        static let sql = "SELECT \(recordColumns) FROM executions WHERE workflow = $1 AND id = $2"
        static let bindingDataTypes: [PostgresDataType] = [.text, .text]
        var workflow: String
        var id: String

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 2)
            bindings.append(workflow)
            bindings.append(id)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> ExecutionRecord { try PostgresWorkflowStore.record(row) }
    }

    /// What a waiting execution re-reads: its status, the awaited deferred's value and its wake-up mark.
    struct WaitState: PostgresPreparedStatement {
        static let sql = """
            SELECT e.status, d.value::text, d.resolved_at, e.wake_seq, e.wake_pending FROM executions e
            LEFT JOIN deferreds d ON d.execution = e.key AND d.name = $2
            WHERE e.key = $1
            """
        static let bindingDataTypes: [PostgresDataType] = [.int8, .text]
        var key: ExecutionKey
        var deferred: String?

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 2)
            bindings.append(key)
            bindings.append(deferred)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> (String, String?, Date?, Int, Bool) {
            try row.decode((String, String?, Date?, Int, Bool).self)
        }
    }

    /// A deferred's value unless one is stored. The execution is flagged in any case, and with `announce` notified:
    /// a resolve its own process hands to the run in memory still leaves the flag for a next owner, should that
    /// process die before the run goes on. The execution is key-share-locked, so that a deletion either waits for
    /// the value and deletes it too, or comes first and the resolve finds no execution.
    struct Resolve: PostgresPreparedStatement {
        static let sql = """
            WITH target AS (
                SELECT key FROM executions WHERE workflow = $1 AND id = $2 FOR KEY SHARE
            ), inserted AS (
                INSERT INTO deferreds (execution, name, value, resolved_by)
                SELECT key, $3, $4::jsonb, $7 FROM target
                ON CONFLICT (execution, name) DO NOTHING
                RETURNING execution
            ), flagged AS (
                UPDATE executions e SET wake_pending = true, wake_seq = e.wake_seq + 1
                FROM inserted WHERE e.key = inserted.execution AND e.status IN ('pending', 'running', 'waiting')
                RETURNING e.key, e.shard
            ), notified AS (
                SELECT pg_notify($6, 'w' || key || coalesce(':' || shard, '')) FROM flagged WHERE $5
            )
            SELECT target.key, (SELECT count(*) FROM inserted) + 0 * (SELECT count(*) FROM notified) FROM target
            """
        static let bindingDataTypes: [PostgresDataType] = [.text, .text, .text, .text, .bool, .text, .text]
        var workflow: String
        var id: String
        var name: String
        var value: String
        var announce: Bool
        var channel: String
        var resolvedBy: String?

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 7)
            bindings.append(workflow)
            bindings.append(id)
            bindings.append(name)
            bindings.append(value)
            bindings.append(announce)
            bindings.append(channel)
            bindings.append(resolvedBy)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> (ExecutionKey, Int) { try row.decode((ExecutionKey, Int).self) }
    }
}
