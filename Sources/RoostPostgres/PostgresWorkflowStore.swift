import Foundation
import Logging
import PostgresNIO
import Roost

/// The ``WorkflowStore`` on PostgreSQL: executions, journal and deferreds in the configured schema.
///
/// Every write on behalf of an execution is guarded in the same statement by the execution still being running or
/// waiting; resolves, cancels and client starts flag the execution for the batched wake-up poll and `NOTIFY` the
/// schema's channel.
public final class PostgresWorkflowStore: WorkflowStore {
    let client: PostgresClient
    let schema: String
    /// This process's session name, recorded on every journal row it writes.
    let writer: String
    let logger: Logger
    /// The `LISTEN`/`NOTIFY` channel: one per schema.
    let channel: String
    private let handlers = Subscribers<StoreNotification>()
    /// Outcomes of executions ending at about the same time share one statement.
    let finishes: StatementBatcher<FinishRequest, ExecutionRecord?>

    init(client: PostgresClient, schema: String, writer: String, logger: Logger) {
        self.client = client
        self.writer = writer
        self.schema = "\"\(schema)\""
        self.logger = logger
        channel = "\(schema)_events"
        finishes = Self.finishBatcher(client: client, writer: writer, channel: channel, logger: logger)
    }

    // MARK: Notifications

    public func addNotificationHandler(_ handler: @escaping @Sendable (StoreNotification) -> Void) -> Int {
        handlers.add(handler)
    }

    public func removeNotificationHandler(_ token: Int) {
        handlers.remove(token)
    }

    func deliver(_ note: StoreNotification) {
        handlers.publish(note)
    }

    /// Reads a payload: `w<key>[:<shard>]` (wake), `f<key>` (finished) or `p` (wake-ups flagged in bulk).
    static func parse(_ payload: String) -> StoreNotification? {
        if payload == "p" { return .wakeUpsFlagged }
        guard let kind = payload.first else { return nil }
        let parts = payload.dropFirst().split(separator: ":", maxSplits: 1)
        guard let first = parts.first, let key = ExecutionKey(first) else { return nil }
        switch kind {
        case "w": return .wake(key, shard: parts.count == 2 ? Int(parts[1]) : nil)
        case "f": return .finished(key)
        default: return nil
        }
    }

    // MARK: Reading


    public func execution(workflow: String, id: String) async throws -> ExecutionRecord? {
        try await first(Statements.ExecutionById(workflow: workflow, id: id))
    }

    public func execution(key: ExecutionKey) async throws -> ExecutionRecord? {
        try await first(Statements.ExecutionByKey(key: key))
    }

    public func listExecutions(_ filter: ExecutionFilter) async throws -> [ExecutionRecord] {
        try await records("""
            SELECT \(unescaped: Statements.recordColumns) FROM \(unescaped: schema).executions
            WHERE (\(filter.workflow)::text IS NULL OR workflow = \(filter.workflow))
              AND (\(filter.status?.rawValue)::text IS NULL OR status = \(filter.status?.rawValue))
              AND (\(filter.before)::bigint IS NULL OR key < \(filter.before))
            ORDER BY key DESC LIMIT \(filter.limit)
            """)
    }

    public func journal(key: ExecutionKey) async throws -> [JournalEntry] {
        try await journal(key: key, on: nil)
    }

    public func stuckExecutions(olderThan age: Duration, limit: Int) async throws -> [StuckExecution] {
        // Only the shards no live runner holds are read, each through the index of its unfinished executions by
        // age, and the executions without a shard through theirs: the cost is that of what is stuck, not of every
        // unfinished execution. Executions without a shard have never run, so their order by key is their order by
        // age, which their index gives.
        try await rows("""
            WITH cutoff AS (
                SELECT now() - \(age.wholeMilliseconds) * interval '1 millisecond' AS at
            ), orphaned AS (
                SELECT s.shard FROM \(unescaped: schema).cluster_settings c,
                     generate_series(0, c.value::int - 1) AS s(shard)
                WHERE c.name = 'shards_per_group' AND NOT EXISTS (
                    SELECT 1 FROM \(unescaped: schema).shard_leases l
                    JOIN \(unescaped: schema).runners r ON r.incarnation = l.owner AND r.expires_at > now()
                    WHERE l.shard_group = \(ClusterSettings.defaultGroup) AND l.shard = s.shard)
            ), stuck AS (
                SELECT x.* FROM orphaned o CROSS JOIN LATERAL (
                    SELECT e.workflow, e.id, e.shard, e.updated_at FROM \(unescaped: schema).executions e
                    WHERE e.shard = o.shard AND e.status IN ('pending', 'running', 'waiting')
                      AND e.updated_at < (SELECT at FROM cutoff)
                    ORDER BY e.updated_at LIMIT \(limit)) x
                UNION ALL
                (SELECT e.workflow, e.id, e.shard, e.updated_at FROM \(unescaped: schema).executions e
                 WHERE e.shard IS NULL AND e.status IN ('pending', 'running', 'waiting')
                   AND e.updated_at < (SELECT at FROM cutoff)
                 ORDER BY e.key LIMIT \(limit))
            )
            SELECT workflow, id, shard, updated_at FROM stuck ORDER BY updated_at LIMIT \(limit)
            """, on: nil).map { row in
            let (workflow, id, shard, updated) = try row.decode((String, String, Int?, Date).self)
            return StuckExecution(workflow: workflow, id: id, shard: shard, updatedAt: updated)
        }
    }

    public func placeUnplacedExecutions(shardOf: @Sendable (String) -> Int) async throws -> Int {
        var placed = 0
        while true {
            let unplaced = try await rows("""
                SELECT key, id FROM \(unescaped: schema).executions
                WHERE shard IS NULL AND status IN ('pending', 'running', 'waiting') ORDER BY key LIMIT 1000
                """, on: nil).map { try $0.decode((ExecutionKey, String).self) }
            guard !unplaced.isEmpty else { return placed }
            _ = try await rows("""
                UPDATE \(unescaped: schema).executions e SET shard = p.shard
                FROM unnest(\(unplaced.map(\.0))::bigint[], \(unplaced.map { shardOf($0.1) })::int[]) AS p(key, shard)
                WHERE e.key = p.key AND e.shard IS NULL
                """, on: nil)
            placed += unplaced.count
        }
    }

    public func waitState(key: ExecutionKey, deferred: String?) async throws -> WaitState {
        guard let (status, value, resolvedAt, sequence, flagged)
            = try await first(Statements.WaitState(key: key, deferred: deferred)) else {
            return WaitState(status: nil, value: nil)
        }
        return WaitState(status: ExecutionStatus(status), value: value, resolvedAt: resolvedAt,
                         wakeMark: WakeMark(sequence: sequence, flagged: flagged))
    }

    // MARK: Starting and hosting

    public func insertExecution(_ execution: NewExecution) async throws -> InsertOutcome {
        let pending = execution.status == .pending
        let statement = Statements.InsertExecution(workflow: execution.workflow, id: execution.id,
                                                   status: execution.status.rawValue, input: execution.input,
                                                   attempt: pending ? 0 : 1, pending: pending, channel: channel,
                                                   shard: execution.shard.map { Int32($0) },
                                                   traceContext: execution.traceContext)
        let inserted = try await payloadErrors { try await first(statement) }
        if let record = inserted { return .inserted(record) }
        let rows = try await self.rows("""
            SELECT \(unescaped: Statements.recordColumns), input = \(execution.input)::jsonb
            FROM \(unescaped: schema).executions WHERE workflow = \(execution.workflow) AND id = \(execution.id)
            """, on: nil)
        if let row = rows.first {
            let sameInput = try row.makeRandomAccess()[11].decode(Bool.self, context: .default)
            return .existing(try Self.record(row), sameInput: sameInput)
        }
        throw WorkflowError(.notAllowed, "execution '\(execution.id)' of \(execution.workflow) vanished while starting")
    }

    public func claimExecution(key: ExecutionKey, workflows: [String],
                               shards: [ShardLease]?) async throws -> ClaimedExecution? {
        let indices = shards?.map(\.shard.index)
        let epochs = shards?.map(\.epoch)
        let group = shards?.first?.shard.group ?? ClusterSettings.defaultGroup
        return try await client.withConnection { connection in
            let claimed = try await rows("""
                UPDATE \(unescaped: schema).executions e
                SET status = CASE WHEN status = 'pending' THEN 'running' ELSE status END,
                    attempt = attempt + CASE WHEN status = 'waiting' THEN 0 ELSE 1 END, updated_at = now(),
                    -- A waiting execution's flag stays until its run acts on it: this runner may die first.
                    wake_pending = status = 'waiting' AND wake_pending
                WHERE key = \(key) AND status IN ('pending', 'running', 'waiting') AND workflow = ANY(\(workflows))
                  AND (\(indices)::int[] IS NULL OR EXISTS (
                      SELECT 1 FROM unnest(\(indices)::int[], \(epochs)::bigint[]) AS h(shard, epoch)
                      WHERE h.shard = e.shard AND \(unescaped: schema).hold_lease(\(group), h.shard, h.epoch)))
                RETURNING \(unescaped: Statements.recordColumns), trace_context::text, wake_seq, wake_pending,
                          EXISTS (SELECT 1 FROM \(unescaped: schema).journal j WHERE j.execution = e.key) AS journaled
                """, on: connection)
            guard let row = claimed.first else { return nil }
            // The record's columns come first; the start's tracing context and whether it has a journal follow.
            let columns = PostgresRandomAccessRow(row)
            let trace = try columns["trace_context"].decode(String?.self)
            let mark = WakeMark(sequence: try columns["wake_seq"].decode(Int.self),
                                flagged: try columns["wake_pending"].decode(Bool.self))
            // A new execution has no journal to read: no second round trip for it.
            let journal = try columns["journaled"].decode(Bool.self) ? try await journal(key: key, on: connection) : []
            return ClaimedExecution(record: try Self.record(row), journal: journal, traceContext: trace,
                                    wakeMark: mark)
        }
    }

    public func takeWakeUps(workflows: [String], leases: [ShardLease]?) async throws -> [ExecutionKey] {
        let indices = leases?.map(\.shard.index)
        let epochs = leases?.map(\.epoch)
        let group = leases?.first?.shard.group ?? ClusterSettings.defaultGroup
        // Waiting executions are only read: their flags stay until their runs act on them. The others' flags are
        // cleared, skipping rows a run is writing (left for the next poll rather than waited for: the poll would
        // otherwise hold every flagged row it had locked while it waits, and the runs writing those rows would
        // wait for it).
        let take: PostgresQuery = """
            WITH flagged AS (
                SELECT x.key, x.status FROM \(unescaped: schema).executions x
                WHERE x.wake_pending AND x.workflow = ANY(\(workflows)) AND (\(indices)::int[] IS NULL OR EXISTS (
                    SELECT 1 FROM unnest(\(indices)::int[], \(epochs)::bigint[]) AS h(shard, epoch)
                    JOIN \(unescaped: schema).shard_leases l
                      ON l.shard_group = \(group) AND l.shard = h.shard AND l.epoch = h.epoch
                    JOIN \(unescaped: schema).runners r ON r.incarnation = l.owner AND r.expires_at > now()
                    WHERE h.shard = x.shard))
            ), cleared AS (
                UPDATE \(unescaped: schema).executions e SET wake_pending = false
                WHERE e.key IN (
                    SELECT y.key FROM \(unescaped: schema).executions y
                    WHERE y.key = ANY(ARRAY(SELECT key FROM flagged WHERE status <> 'waiting'))
                      AND y.wake_pending AND y.status <> 'waiting'
                    FOR UPDATE OF y SKIP LOCKED)
                RETURNING e.key
            )
            SELECT key FROM flagged WHERE (SELECT count(*) FROM cleared) >= 0
            """
        // The flags are cleared by the COMMIT, sent once the keys have arrived: a connection lost before that
        // rolls the clearing back. Once the keys are here they are returned even if the COMMIT's answer is lost,
        // since waking an execution twice is harmless and not waking it is not.
        return try await client.withConnection { connection in
            _ = try await connection.guardedRows("BEGIN", logger: logger)
            let keys: [ExecutionKey]
            do {
                keys = try await connection.guardedRows(take, logger: logger).map { try $0.decode(ExecutionKey.self) }
            } catch {
                await connection.abandonTransaction(logger: logger)
                throw error
            }
            do {
                _ = try await connection.guardedRows("COMMIT", logger: logger)
            } catch {
                await connection.abandonTransaction(logger: logger)
            }
            return keys
        }
    }

    public func runnableExecutions(workflows: [String], shards: [Int]?) async throws -> [ExecutionKey] {
        try await collect("""
            SELECT key FROM \(unescaped: schema).executions
            WHERE status IN ('pending', 'running') AND workflow = ANY(\(workflows))
              AND (\(shards)::int[] IS NULL OR shard = ANY(\(shards)::int[]))
            ORDER BY key
            """, as: ExecutionKey.self)
    }

    public func dueExecutions(workflows: [String], shards: [Int]?, before limit: Date,
                              count: Int) async throws -> [DueExecution] {
        try await rows("""
            SELECT key, due_at, shard FROM \(unescaped: schema).executions
            WHERE status = 'waiting' AND due_at IS NOT NULL AND due_at < \(limit) AND workflow = ANY(\(workflows))
              AND (\(shards)::int[] IS NULL OR shard = ANY(\(shards)::int[]))
            ORDER BY due_at LIMIT \(count)
            """, on: nil).map { row in
            let (key, due, shard) = try row.decode((ExecutionKey, Date, Int?).self)
            return DueExecution(key: key, due: due, shard: shard)
        }
    }

    public func settleWakeUp(key: ExecutionKey, seen: WakeMark) async throws {
        _ = try await rows("""
            UPDATE \(unescaped: schema).executions SET wake_pending = false
            WHERE key = \(key) AND wake_pending AND wake_seq = \(seen.sequence) AND status = 'waiting'
            """, on: nil)
    }

    public func databaseNow() async throws -> Date {
        try await client.databaseNow(logger: logger)
    }

    public func publish(_ workflows: [PublishedWorkflow]) async throws {
        guard !workflows.isEmpty else { return }
        let deferreds = try workflows.map { String(decoding: try JSONEncoder().encode($0.deferreds), as: UTF8.self) }
        _ = try await rows("""
            INSERT INTO \(unescaped: schema).published_workflows (name, deferreds, published_by)
            SELECT p.name, p.deferreds::jsonb, p.published_by
            FROM unnest(\(workflows.map(\.name))::text[], \(deferreds)::text[],
                        \(workflows.map(\.publishedBy))::text[]) AS p(name, deferreds, published_by)
            ON CONFLICT (name) DO UPDATE
            SET deferreds = excluded.deferreds, published_by = excluded.published_by, published_at = now()
            """, on: nil)
    }

    public func publishedWorkflows() async throws -> [PublishedWorkflow] {
        try await rows("""
            SELECT name, deferreds::text, published_by, published_at
            FROM \(unescaped: schema).published_workflows ORDER BY name
            """, on: nil).map { row in
            let (name, deferreds, by, at) = try row.decode((String, String, String, Date).self)
            let types = try JSONDecoder().decode([String: String].self, from: Data(deferreds.utf8))
            return PublishedWorkflow(name: name, deferreds: types, publishedBy: by, publishedAt: at)
        }
    }

    public func belongsToCluster() async throws -> Bool {
        try await collect("SELECT EXISTS (SELECT 1 FROM \(unescaped: schema).cluster_settings)", as: Bool.self)
            .first ?? false
    }

    public func handOff(key: ExecutionKey) async throws {
        _ = try await rows("""
            WITH flagged AS (
                UPDATE \(unescaped: schema).executions SET wake_pending = true, wake_seq = wake_seq + 1
                WHERE key = \(key) AND status IN ('pending', 'running', 'waiting')
                RETURNING key, shard
            )
            SELECT pg_notify(\(channel), 'w' || key || coalesce(':' || shard, '')) FROM flagged
            """, on: nil)
    }

    public func watchCompletion(workflow: String, id: String) async throws -> ExecutionRecord? {
        // The update's own row is the latest version. If another caller watched it first, a snapshot read is
        // enough: a finish committed after that watch announces itself. Each execution is watched at most once.
        try await records("""
            WITH watch AS (
                UPDATE \(unescaped: schema).executions SET watched = true
                WHERE workflow = \(workflow) AND id = \(id) AND NOT watched
                RETURNING \(unescaped: Statements.recordColumns)
            )
            SELECT * FROM watch
            UNION ALL
            SELECT \(unescaped: Statements.recordColumns) FROM \(unescaped: schema).executions
            WHERE workflow = \(workflow) AND id = \(id) AND NOT EXISTS (SELECT 1 FROM watch)
            """).first
    }

    // MARK: Guarded writes

    public func record(key: ExecutionKey, entries: [JournalEntry], status: ExecutionStatus?,
                       lease: ShardLease?) async throws {
        try await client.withConnection { connection in
            try await guardedWrite(key: key, entries: entries, status: status, lease: lease, on: connection)
        }
    }

    public func runActivity(key: ExecutionKey, entries: [JournalEntry], status: ExecutionStatus?, lease: ShardLease?,
                            context: ActivityContext,
                            body: (ActivityTransaction) async throws -> JournalEntry) async throws {
        try await client.withConnection { connection in
            try await connection.inTransaction(logger: logger) {
                let completed: JournalEntry
                do {
                    completed = try await body(ActivityTransaction(context: context, handle: connection))
                } catch {
                    throw Self.bodyFailure(error, on: connection)
                }
                try await guardedWrite(key: key, entries: entries + [completed], status: status, lease: lease,
                                       on: connection)
            }
        }
    }

    /// What an activity body's error is for the engine: the database's failures and the run's own cancellation as
    /// they are (the run is replayed, no attempt used); anything else, a `CancellationError` the body threw with the
    /// task not cancelled included, as the body's failed attempt.
    private static func bodyFailure(_ error: any Error, on connection: PostgresConnection) -> any Error {
        if error is CancellationError, Task.isCancelled { return error }
        if DatabaseHiccup.isHiccup(error, on: connection) { return error }
        if let error = error as? PSQLError, error.serverInfo != nil {
            return ActivityBodyError(StorageError.statementFailed(error))
        }
        return ActivityBodyError(error)
    }

    public func runStatementActivity(key: ExecutionKey, entries: [JournalEntry], status: ExecutionStatus?,
                                     lease: ShardLease?, statement: any Sendable,
                                     completed: JournalEntry) async throws {
        let journal = JournalWrite(key: key, entries: Self.journalJSON(entries + [completed]), status: status,
                                   lease: lease, writer: writer)
        do {
            switch statement {
            case let statement as PostgresQuery:
                _ = try await rows(StatementActivity.query(statement, journal: journal), on: nil)
            case let statement as any PostgresPreparedStatement:
                try await runPrepared(statement, journal: journal)
            default:
                preconditionFailure("a statement activity on PostgreSQL takes a PostgresQuery or a prepared statement")
            }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == Statements.notWritableState {
            throw try await notWritable(key: key)
        } catch let error as PSQLError where error.serverInfo != nil && !DatabaseHiccup.isHiccup(error) {
            throw ActivityBodyError(StorageError.statementFailed(error))
        }
    }

    private func runPrepared<Statement: PostgresPreparedStatement>(_ statement: Statement,
                                                                   journal: JournalWrite) async throws {
        let journaled = JournaledStatement(statement: statement, journal: journal)
        try await onConnection { connection, logger in
            for try await _ in try await connection.execute(journaled, logger: logger) {}
        }
    }

    public func finish(key: ExecutionKey, entries: [JournalEntry], outcome: ExecutionOutcome,
                       lease: ShardLease?) async throws -> ExecutionRecord {
        let request = try FinishRequest(key: key, entries: Self.journalJSON(entries), outcome: outcome, lease: lease)
        guard let finished = try await payloadErrors({ try await finishes.submit(request) }) else {
            throw try await notWritable(key: key)
        }
        return finished
    }

    // MARK: Changes from outside

    public func cancelExecution(workflow: String, id: String, announce: Bool) async throws -> CancelOutcome {
        let error = try Self.json(FailureInfo(code: WorkflowError.Code.cancelled.rawValue,
                                              message: "execution '\(id)' was cancelled"))
        let rows = try await self.rows("""
            WITH target AS (
                SELECT key FROM \(unescaped: schema).executions WHERE workflow = \(workflow) AND id = \(id)
            ), cancelled AS (
                UPDATE \(unescaped: schema).executions e
                SET status = 'cancelled', error = \(error)::jsonb, updated_at = now(), finished_at = now(),
                    wake_pending = wake_pending OR \(announce)
                FROM target WHERE e.key = target.key AND e.status IN ('pending', 'running', 'waiting')
                RETURNING e.key, e.watched, e.shard
            ), notified AS (
                SELECT pg_notify(\(channel), 'w' || key || coalesce(':' || shard, '')) FROM cancelled WHERE \(announce)
                UNION ALL SELECT pg_notify(\(channel), 'f' || key) FROM cancelled WHERE watched
            )
            SELECT target.key, (SELECT count(*) FROM cancelled), (SELECT count(*) FROM notified) FROM target
            """, on: nil)
        if let row = rows.first {
            let (key, cancelled, _) = try row.decode((ExecutionKey, Int, Int).self)
            if cancelled > 0 { return CancelOutcome(cancelled: true, status: .cancelled, key: key) }
            let current = try await execution(key: key)?.status ?? .cancelled
            return CancelOutcome(cancelled: false, status: current, key: key)
        }
        throw WorkflowError(.unknownExecution, "no execution '\(id)' of workflow '\(workflow)'")
    }

    public func executionDetail(workflow: String, id: String) async throws -> ExecutionDetail? {
        guard let record = try await execution(workflow: workflow, id: id) else { return nil }
        let owner = try await collect("""
            SELECT r.address FROM \(unescaped: schema).executions e
            JOIN \(unescaped: schema).shard_leases l ON l.shard = e.shard
             AND l.shard_group = \(unescaped: schema).execution_shard_group()
            JOIN \(unescaped: schema).runners r ON r.incarnation = l.owner AND r.expires_at > now()
            WHERE e.key = \(record.key)
            """, as: String.self).first
        let journal = try await journalRecords(key: record.key, on: nil)
        var deferreds: [DeferredRecord] = []
        for row in try await rows("""
            SELECT name, value::text, resolved_at, resolved_by FROM \(unescaped: schema).deferreds
            WHERE execution = \(record.key) ORDER BY resolved_at
            """, on: nil) {
            let (name, value, resolvedAt, resolvedBy) = try row.decode((String, String, Date, String?).self)
            deferreds.append(DeferredRecord(name: name, value: value, resolvedAt: resolvedAt, resolvedBy: resolvedBy))
        }
        let awaited = journal.map(\.entry).filter { $0.kind == .deferred && $0.state == .waiting }.map(\.name)
        for name in awaited where !deferreds.contains(where: { $0.name == name }) {
            deferreds.append(DeferredRecord(name: name, value: nil, resolvedAt: nil))
        }
        return ExecutionDetail(record: record, owner: owner, journal: journal, deferreds: deferreds)
    }

    public func retryExecution(workflow: String, id: String) async throws -> RetryOutcome {
        let rows = try await self.rows("""
            WITH target AS (
                SELECT key, status FROM \(unescaped: schema).executions WHERE workflow = \(workflow) AND id = \(id)
            ), retried AS (
                UPDATE \(unescaped: schema).executions e
                SET status = 'pending', output = NULL, error = NULL, finished_at = NULL, updated_at = now(),
                    wake_pending = true, wake_seq = e.wake_seq + 1
                FROM target WHERE e.key = target.key AND e.status = 'failed'
                RETURNING e.key, e.shard
            ), reopened AS (
                DELETE FROM \(unescaped: schema).journal j USING retried
                WHERE j.execution = retried.key AND j.kind = 'activity' AND j.state = 'failed'
                  AND j.position = (SELECT max(position) FROM \(unescaped: schema).journal
                                    WHERE execution = retried.key)
                RETURNING 1
            ), notified AS (
                SELECT pg_notify(\(channel), 'w' || key || coalesce(':' || shard, '')) FROM retried
            )
            SELECT target.key, target.status, (SELECT count(*) FROM retried),
                   (SELECT count(*) FROM reopened) + (SELECT count(*) FROM notified)
            FROM target
            """, on: nil)
        guard let row = rows.first else {
            throw WorkflowError(.unknownExecution, "no execution '\(id)' of workflow '\(workflow)'")
        }
        let (key, _, retried, _) = try row.decode((ExecutionKey, String, Int, Int).self)
        if retried > 0 { return RetryOutcome(retried: true, status: .pending, key: key) }
        // The statement's snapshot may predate a concurrent retry it waited for: read the status it left.
        let current = try await execution(key: key)?.status ?? .failed
        return RetryOutcome(retried: false, status: current, key: key)
    }

    public func replayExecution(workflow: String, id: String, as newId: String,
                                shard: Int?) async throws -> ReplayOutcome {
        let rows = try await self.rows("""
            WITH source AS (
                SELECT workflow, input, status FROM \(unescaped: schema).executions
                WHERE workflow = \(workflow) AND id = \(id) FOR SHARE
            ), inserted AS (
                INSERT INTO \(unescaped: schema).executions (workflow, id, status, input, attempt, wake_pending, shard)
                SELECT workflow, \(newId), 'pending', input, 0, true, \(shard)::int FROM source
                WHERE status IN ('completed', 'failed', 'cancelled')
                ON CONFLICT (workflow, id) DO NOTHING
                RETURNING key
            ), notified AS (
                SELECT pg_notify(\(channel), 'w' || key || coalesce(':' || \(shard)::int, '')) FROM inserted
            )
            SELECT (SELECT key FROM inserted), (SELECT status FROM source),
                   (SELECT n.input = s.input FROM \(unescaped: schema).executions n, source s
                    WHERE n.workflow = \(workflow) AND n.id = \(newId)),
                   (SELECT count(*) FROM notified)
            """, on: nil)
        let (inserted, sourceStatus, sameInput, _) = try rows.first?.decode((ExecutionKey?, String?, Bool?, Int).self)
            ?? (nil, nil, nil, 0)
        guard let sourceStatus, let status = ExecutionStatus(sourceStatus) else {
            throw WorkflowError(.unknownExecution, "no execution '\(id)' of workflow '\(workflow)'")
        }
        if let inserted, let record = try await execution(key: inserted) { return .replayed(record) }
        guard [.completed, .failed, .cancelled].contains(status) else { return .unfinished(status) }
        // The new id exists: perhaps inserted by a concurrent replay that committed after this statement's
        // snapshot was taken, so compare the inputs in a statement of its own.
        let same = try await collect("""
            SELECT n.input = s.input FROM \(unescaped: schema).executions n, \(unescaped: schema).executions s
            WHERE n.workflow = \(workflow) AND n.id = \(newId) AND s.workflow = \(workflow) AND s.id = \(id)
            """, as: Bool.self).first ?? sameInput
        guard let same, let existing = try await execution(workflow: workflow, id: newId) else {
            throw WorkflowError(.notAllowed, "replay of '\(id)' as '\(newId)' inserted nothing and found no "
                                + "execution '\(newId)'; try again")
        }
        return .idTaken(existing, sameInput: same)
    }

    public func resolveDeferred(workflow: String, id: String, name: String, value: String, by: String?,
                                announce: Bool) async throws -> ResolveOutcome {
        let statement = Statements.Resolve(workflow: workflow, id: id, name: name, value: value, announce: announce,
                                           channel: channel, resolvedBy: by)
        if let (key, inserted) = try await payloadErrors({ try await first(statement) }) {
            if inserted > 0 { return ResolveOutcome(resolved: true, value: value, key: key) }
            let stored = try await collect("""
                SELECT value::text FROM \(unescaped: schema).deferreds WHERE execution = \(key) AND name = \(name)
                """, as: String.self)
            return ResolveOutcome(resolved: false, value: stored.first ?? value, key: key)
        }
        throw WorkflowError(.unknownExecution, "no execution '\(id)' of workflow '\(workflow)'")
    }
}
