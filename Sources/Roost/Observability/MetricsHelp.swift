/// What each of Roost's metrics measures, for the `# HELP` lines of the Prometheus text format.
///
/// swift-metrics carries no description with a metric, and swift-prometheus's factory registers every metric with
/// an empty one, so a process that exports Prometheus text adds these lines to what its registry emits.
public enum MetricsHelp {
    /// The help text of every metric Roost reports, by name.
    public static let texts: [String: String] = [
        "roost_executions_started_total": "Executions created by a start, by workflow.",
        "roost_executions_finished_total": "Executions whose outcome was stored, by workflow and status.",
        "roost_executions_in_memory": "Executions whose runs are in this process's memory.",
        "roost_activity_attempts_total": "Activity attempts that ended, by workflow and outcome.",
        "roost_activity_duration_seconds": "How long activity attempts took, by workflow and outcome.",
        "roost_shards_held": "Shards this runner holds a lease on.",
        "roost_lease_renewals_total": "Heartbeats that renewed this runner's leases.",
        "roost_lease_renewal_failures_total": "Heartbeats that failed to renew this runner's leases.",
        "roost_detachments_total": "Times this runner stopped hosting its shards because its leases were not renewed.",
        "roost_wakeup_latency_seconds": "Time from a deferred's resolve to the waiting run resuming.",
        "roost_timers_fired_total": "Durable sleeps that returned.",
        "roost_timer_lateness_seconds": "How late durable sleeps returned after their due time.",
        "roost_mailbox_depth": "Calls waiting ahead of a call in an entity's mailbox.",
        "roost_mailbox_rejections_total": "Calls refused because an entity's mailbox was full.",
        "roost_retention_deleted_total": "Rows maintenance deleted past their retention, by kind.",
        "roost_database_pool_size": "The most connections this process's database pool opens.",
        "roost_database_connections": "This process's database connections, by state.",
    ]

    /// Prometheus text with a `# HELP` line before the `# TYPE` line of every metric that has a help text and
    /// none yet.
    /// - Parameter exposition: Prometheus text format, as a registry emits it.
    /// - Returns: The same text with the help lines.
    public static func annotating(_ exposition: String) -> String {
        var lines: [Substring] = []
        var previous: Substring = ""
        for line in exposition.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("# TYPE "), let name = line.dropFirst(7).split(separator: " ").first,
               let help = texts[String(name)], !previous.hasPrefix("# HELP \(name) ") {
                lines.append("# HELP \(name) \(help)")
            }
            lines.append(line)
            previous = line
        }
        return lines.joined(separator: "\n")
    }
}
