extension Migrations {
    /// Migration 11: waiting executions stay in the database, so their wake-up flags must outlive the runner that
    /// saw them (decision 0020).
    static let wakeUpsThatOutliveTheirRunner = Migration(
        version: 11, name: "wake-up flags that outlive their runner", sql: """
            ALTER TABLE {schema}.executions ADD COLUMN wake_seq integer NOT NULL DEFAULT 0;
            COMMENT ON COLUMN {schema}.executions.wake_seq IS
                'How many changes from outside a waiting run may have to act on (resolves, hand-offs, retries) '
                'the execution has had. A run that parks clears wake_pending only if this is still the number it '
                'read at its last look, so a resolve committed after that look keeps its flag';
            COMMENT ON COLUMN {schema}.executions.wake_pending IS
                'Something changed that a run of the execution has not yet acted on. Raised by every resolve, '
                'cancel, retry, hand-off and start for a runner; cleared by the run''s next change of status or '
                'its outcome, by its parking with nothing new since its last look, or by the poll once the '
                'execution is not waiting (its shard''s owner launches pending and running executions anyway)';
            UPDATE {schema}.executions e SET wake_pending = true
            WHERE e.status = 'waiting' AND NOT e.wake_pending AND EXISTS (
                SELECT 1 FROM {schema}.deferreds d
                WHERE d.execution = e.key AND NOT EXISTS (
                    SELECT 1 FROM {schema}.journal j
                    WHERE j.execution = e.key AND j.kind = 'deferred' AND j.name = d.name
                      AND j.state = 'completed'));
            CREATE OR REPLACE FUNCTION {schema}.write_activity(target bigint, entries text, new_status text,
                                                               lease_group text, lease_epoch bigint, writer text,
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
                        due_at = CASE WHEN new_status = 'waiting' THEN new_due END,
                        wake_pending = new_status = 'waiting' AND e.wake_pending
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
                        due_at = CASE WHEN new_status = 'waiting' THEN new_due END,
                        wake_pending = new_status = 'waiting' AND e.wake_pending
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
                'waiting stores new_due as the execution''s due time; any other change of status clears it and '
                'the wake-up flag (the run is going on: whatever it waits for next, it reads). A statement '
                'activity calls it in its own statement, which the error undoes with it. Its plans are cached '
                'for the session, so the statement around it is cheap to plan.';
            """)
}
