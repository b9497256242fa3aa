import Foundation
import PostgresNIO
import Roost
import RoostExamples
import RoostPostgres
import RoostTesting
import Testing

@Suite("Persisted entity calls on roost runner processes", .serialized)
struct PersistedCallTests {
    @Test("a persisted call its SIGSTOPped owner never answered runs on the next owner after kill -9, once")
    func redeliveredAfterKill() async throws {
        try await withProcesses { harness in
            // A lease that outlasts the refused call however slowly it starts: the shard must not move by expiry
            // while its owner is stopped; the kill -9 below moves it (the owner's sessions end).
            let runners = try await harness.startCluster(3, leaseTTL: "30")
            _ = try await harness.awaitAssignment(to: runners.map(\.address))
            let owner = runners.first { $0.address == harness.owner(of: "parcel", among: runners) }!
            owner.process.signal(SIGSTOP)
            let increment = ["examples", "counter", "increment", "parcel", "4", "--key", "first"]
            let unanswered = try await harness.roost(increment, environment: ["ROOST_CALL_TIMEOUT_MS": "1000"])
            try require(unanswered.status != 0 && unanswered.output.contains("the call is saved as request key:first"),
                        "the caller is told its call is kept: \(unanswered.output)")
            await owner.process.kill9()
            // Nobody calls again: the runner that takes the shard finds the saved call and runs it.
            // The counter's row commits before the reply is stored: await the reply itself.
            try await harness.awaitCount("""
                SELECT count(*)::int FROM entity_messages WHERE entity_id = 'parcel' AND completed_at IS NOT NULL
                  AND reply_value = '4'
                """, atLeast: 1)
            let repeated = try await harness.roost(increment)
            try require(repeated.status == 0 && repeated.output.contains("parcel: 4"),
                        "the same key gets the stored reply: \(repeated.output)")
            let value = try await harness.roost(["examples", "counter", "get", "parcel"])
            try require(value.output.contains("parcel: 4"), "the call ran once: \(value.output)")
        }
    }

    @Test("a call in flight to a runner that stops answering is routed to the next owner once the runner's lease expires, not left to its deadline")
    func inFlightCallRerouted() async throws {
        try await withProcesses { harness in
            let runners = try await harness.startCluster(2)
            _ = try await harness.awaitAssignment(to: runners.map(\.address))
            let stalled = runners.first { $0.address == harness.owner(of: "stalled", among: runners) }!
            try await harness.withClusterClient { system in
                _ = try await withDelivery(.persisted) {
                    try await system.entity(Counter.self, id: "stalled").increment(by: 1)
                }
                // Paused, the owner keeps its connections open and answers nothing.
                stalled.process.signal(SIGSTOP)
                defer { stalled.process.signal(SIGCONT) }
                let value = try await withDelivery(.persisted) {
                    try await system.entity(Counter.self, id: "stalled").increment(by: 1)
                }
                try require(value == 2, "the call ran once on the next owner: \(value)")
            }
        }
    }

    @Test("persisted calls keep coming through kill -9 of a runner: every caller gets its reply, every call runs")
    func noCallLostOnKill() async throws {
        try await withProcesses { harness in
            let runners = try await harness.startCluster(3)
            _ = try await harness.awaitAssignment(to: runners.map(\.address))
            let counters = (0..<6).map { "persisted-\($0)" }
            let victim = runners.first { $0.address == harness.owner(of: counters[0], among: runners) }!
            try await harness.withClusterClient { system in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for id in counters {
                        group.addTask {
                            var last = 0
                            for _ in 0..<30 {
                                let value = try await withDelivery(.persisted) {
                                    try await system.entity(Counter.self, id: id).increment(by: 1)
                                }
                                try require(value > last, "\(id) only grows: \(value) after \(last)")
                                last = value
                            }
                        }
                    }
                    group.addTask {
                        try await harness.awaitCounters(counters, atLeast: 5)
                        await victim.process.kill9()
                    }
                    try await group.waitForAll()
                }
            }
            try require(try await harness.count("SELECT count(*)::int FROM entity_messages") == 180,
                        "every call was saved")
            try require(try await harness.count(
                "SELECT count(*)::int FROM entity_messages WHERE completed_at IS NULL") == 0, "every call has its reply")
            let total = try await harness.count(
                "SELECT coalesce(sum(value), 0)::int FROM example_counters WHERE id LIKE 'persisted-%'")
            try require(total >= 180, "every call ran at least once: \(total)")
        }
    }
}
