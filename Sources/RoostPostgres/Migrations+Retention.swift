extension Migrations {
    /// Migration 12: the indexes of `executions` that a query needs and no more, and the one retention reads
    /// (decision 0021).
    static let leanExecutionIndexes = Migration(
        version: 12, name: "lean execution indexes and retention", sql: """
            DROP INDEX {schema}.executions_by_status;
            DROP INDEX {schema}.executions_unfinished;
            CREATE INDEX executions_runnable ON {schema}.executions (shard, key)
                WHERE status IN ('pending', 'running');
            COMMENT ON INDEX {schema}.executions_runnable IS
                'The executions a shard''s new owner runs at once (pending and running): acquisition and the '
                'reconciliation read only these, never the waiting ones';
            CREATE INDEX executions_failed ON {schema}.executions (key)
                WHERE status IN ('failed', 'cancelled');
            COMMENT ON INDEX {schema}.executions_failed IS
                'Failed and cancelled executions, newest last, for listing them among many completed ones';
            CREATE INDEX executions_finished ON {schema}.executions (workflow, finished_at)
                WHERE finished_at IS NOT NULL;
            COMMENT ON INDEX {schema}.executions_finished IS
                'Finished executions of each workflow by when they finished: retention deletes those past their '
                'workflow''s retention by an index range';
            CREATE INDEX shard_lease_history_by_age ON {schema}.shard_lease_history (acquired_at);
            """)

    /// Migration 13: what runners host, published when they join (decision 0022).
    static let publishedWorkflows = Migration(
        version: 13, name: "published workflows", sql: """
            CREATE TABLE {schema}.published_workflows (
                name text PRIMARY KEY,
                deferreds jsonb NOT NULL,
                published_by text NOT NULL,
                published_at timestamptz NOT NULL DEFAULT now()
            );
            COMMENT ON TABLE {schema}.published_workflows IS
                'The workflows runners host, with the value type of each deferred, as the last runner to join with '
                'each published them: what a process without their types may start';
            """)
}
