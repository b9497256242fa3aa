import Metrics

/// The metrics Roost reports through swift-metrics. Libraries only report; a process chooses the backend
/// (`roost runner` exports Prometheus text at `/metrics`). Every name starts with `roost_`; dimensions are
/// bounded (workflow names, statuses, outcomes), never ids.
enum RoostMetrics {
    /// An execution was created by a start.
    static func executionStarted(workflow: String) {
        Counter(label: "roost_executions_started_total", dimensions: [("workflow", workflow)]).increment()
    }

    /// An execution's outcome was stored: completed, failed or cancelled.
    static func executionFinished(workflow: String, status: ExecutionStatus) {
        Counter(label: "roost_executions_finished_total",
                dimensions: [("workflow", workflow), ("status", status.rawValue)]).increment()
    }

    /// One attempt of an activity ended, committed or failed, after `duration`.
    static func activityAttempt(workflow: String, outcome: String, duration: Duration) {
        let dimensions = [("workflow", workflow), ("outcome", outcome)]
        Counter(label: "roost_activity_attempts_total", dimensions: dimensions).increment()
        Timer(label: "roost_activity_duration_seconds", dimensions: dimensions).record(duration: duration)
    }

    /// The shards this runner holds.
    static func shardsHeld(_ count: Int) {
        Gauge(label: "roost_shards_held").record(count)
    }

    /// A heartbeat renewed this runner's leases, or failed to.
    static func leaseRenewal(succeeded: Bool) {
        Counter(label: succeeded ? "roost_lease_renewals_total" : "roost_lease_renewal_failures_total").increment()
    }

    /// This runner stopped hosting its shards on its own (leases not renewed in time, registration expired).
    static func detached() {
        Counter(label: "roost_detachments_total").increment()
    }

    /// A run waiting for a deferred resumed `latency` after the deferred was resolved (the store's clock at the
    /// resolve against this process's clock at the resumption; runs handed the value in memory are not counted).
    static func wakeUp(latency: Duration) {
        Timer(label: "roost_wakeup_latency_seconds").record(duration: max(latency, .zero))
    }

    /// A durable sleep returned `lateness` after its due time.
    static func timerFired(lateness: Duration) {
        Counter(label: "roost_timers_fired_total").increment()
        Timer(label: "roost_timer_lateness_seconds").record(duration: max(lateness, .zero))
    }

    /// A call had to wait in an entity's mailbox behind `depth` others.
    static func mailboxQueued(depth: Int) {
        Recorder(label: "roost_mailbox_depth").record(depth)
    }

    /// Maintenance deleted `count` rows past their retention: `executions`, `messages` or `history`.
    static func retentionDeleted(_ kind: String, count: Int) {
        guard count > 0 else { return }
        Counter(label: "roost_retention_deleted_total", dimensions: [("kind", kind)]).increment(by: count)
    }

    /// A call was refused because the entity's mailbox was full.
    static func mailboxRejected() {
        Counter(label: "roost_mailbox_rejections_total").increment()
    }

    /// Executions whose runs are in this process's memory.
    static func executionsInMemory(_ count: Int) {
        Gauge(label: "roost_executions_in_memory").record(count)
    }
}
