import Foundation
import PostgresNIO
import Roost
import RoostPostgres
import RoostTesting
import Testing

@Suite("Cron schedules on roost runner processes", .serialized)
struct ScheduleTests {
    /// The ticks of `tick-every-second` whose executions exist, as the database reads their ids.
    private static let ticks = "(SELECT split_part(id, '@', 2)::timestamptz AS tick, status, id FROM executions WHERE workflow = 'Tick')"

    @Test("a schedule firing every second across kill -9 of its runner starts each tick's execution exactly once")
    func everySecondAcrossKill() async throws {
        try await withProcesses { harness in
            var runners: [ProcessHarness.ClusterRunner] = []
            for index in 1...3 {
                runners.append(try await harness.startClusterRunner("runner-\(index)",
                                                                    environment: ["ROOST_EXAMPLE_SCHEDULES": "on"]))
            }
            _ = try await harness.awaitAssignment(to: runners.map(\.address))
            try await harness.awaitCount("SELECT count(*)::int FROM \(unescaped: Self.ticks) t WHERE status = 'completed'",
                                         atLeast: 3)
            let holder = harness.owner(of: "schedule:tick-every-second", among: runners)
            await runners.first { $0.address == holder }!.process.kill9()
            let killedAt = try await harness.count("SELECT extract(epoch FROM now())::int")
            // Ticks keep coming from the next holder, the missed ones included.
            try await harness.awaitCount("""
                SELECT count(*)::int FROM \(unescaped: Self.ticks) t
                WHERE status = 'completed' AND tick > to_timestamp(\(killedAt + 3))
                """, atLeast: 1)
            let until = killedAt + 3
            try await harness.awaitCount("""
                SELECT (count(*) FILTER (WHERE status <> 'completed') = 0)::int FROM \(unescaped: Self.ticks) t
                WHERE tick <= to_timestamp(\(until))
                """, atLeast: 1)
            let gaps = try await harness.count("""
                SELECT (extract(epoch FROM max(tick) - min(tick)) + 1 - count(*))::int FROM \(unescaped: Self.ticks) t
                WHERE tick <= to_timestamp(\(until))
                """)
            try require(gaps == 0, "every second from the first tick to \(until) has its execution: \(gaps) missing")
            let repeated = try await harness.count("""
                SELECT count(*)::int FROM (SELECT execution_id FROM example_effects WHERE step = 'tick'
                                           GROUP BY execution_id HAVING count(*) > 1) x
                """)
            try require(repeated == 0, "no tick's effect was recorded twice: \(repeated)")
            let effects = try await harness.count("""
                SELECT count(*)::int FROM example_effects e JOIN \(unescaped: Self.ticks) t ON t.id = e.execution_id
                WHERE t.tick <= to_timestamp(\(until))
                """)
            let executions = try await harness.count("""
                SELECT count(*)::int FROM \(unescaped: Self.ticks) t WHERE tick <= to_timestamp(\(until))
                """)
            try require(effects == executions && executions >= 4, "one effect per tick: \(effects) for \(executions)")
            let listed = try await harness.roost(["schedule", "list"])
            let runner = harness.owner(of: "schedule:tick-every-second",
                                       among: runners.filter { $0.address != holder })
            try require(listed.status == 0 && listed.output.contains("tick-every-second")
                        && listed.output.contains("* * * * * *") && listed.output.contains(runner), listed.output)
        }
    }
}
