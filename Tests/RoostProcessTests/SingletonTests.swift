import Foundation
import PostgresNIO
import Roost
import RoostPostgres
import RoostTesting
import Testing

@Suite("Cluster singletons on roost runner processes", .serialized)
struct SingletonTests {
    /// A placement of `example-singleton`, as it recorded it.
    private struct Run {
        var id: Int64
        var runner: String
        var startedAt: Date
        var stoppedAt: Date?
    }

    private func runs(_ harness: ProcessHarness) async throws -> [Run] {
        var runs: [Run] = []
        for try await (id, runner, startedAt, stoppedAt) in try await harness.storage.client.query("""
            SELECT id, runner, started_at, stopped_at FROM example_singleton_runs ORDER BY id
            """).decode((Int64, String, Date, Date?).self) {
            runs.append(Run(id: id, runner: runner, startedAt: startedAt, stoppedAt: stoppedAt))
        }
        return runs
    }

    /// Awaits a run of the singleton on another runner than `previous`'s, and returns it.
    private func awaitMove(from previous: Run, _ harness: ProcessHarness) async throws -> Run {
        try await harness.awaitCount("""
            SELECT count(*)::int FROM example_singleton_runs WHERE id > \(previous.id) AND stopped_at IS NULL
            """, atLeast: 1)
        let next = try await runs(harness).filter { $0.id > previous.id }
        try require(next.count == 1 && next[0].runner != previous.runner,
                    "one new placement, on another runner: \(next)")
        return next[0]
    }

    /// Awaits the shard assignment among `runners`, then the singleton's open placement on its shard's owner.
    private func awaitPlacement(among runners: [ProcessHarness.ClusterRunner], _ harness: ProcessHarness) async throws {
        _ = try await harness.awaitAssignment(to: runners.map(\.address))
        let owner = harness.owner(of: "example-singleton", among: runners)
        try await harness.awaitCount("""
            SELECT count(*)::int FROM example_singleton_runs WHERE stopped_at IS NULL AND runner = \(owner)
            """, atLeast: 1)
    }

    /// When the lease of the runner at `address` would have expired without its session's end: its last
    /// heartbeat plus its TTL.
    private func leaseEnd(of address: String, _ harness: ProcessHarness) async throws -> Date {
        for try await end in try await harness.storage.client.query("""
            SELECT heartbeat_at + lease_ttl_ms * interval '1 millisecond' FROM runners
            WHERE address = \(address) ORDER BY started_at DESC LIMIT 1
            """).decode(Date.self) {
            return end
        }
        throw Failed(description: "no runner registered at \(address)")
    }

    @Test("a singleton runs on one runner only; after kill -9 it moves before the dead runner's lease ends, after SIGTERM at once")
    func placementAndMoves() async throws {
        try await withProcesses { harness in
            let runners = try await harness.startCluster(3, leaseTTL: "30")
            try await awaitPlacement(among: runners, harness)
            var history = try await runs(harness)
            // Runners joined one by one: each earlier placement handed over gracefully before the next began.
            try require(history.filter { $0.stoppedAt == nil }.count == 1, "one live placement: \(history)")
            for (earlier, later) in zip(history, history.dropFirst()) {
                try require(earlier.stoppedAt.map { $0 <= later.startedAt } == true,
                            "placements do not overlap: \(history)")
            }

            let killed = history.last!
            let victim = runners.first { $0.address == killed.runner }!
            await victim.process.kill9()
            let leaseEnd = try await leaseEnd(of: victim.address, harness)
            let afterKill = try await awaitMove(from: killed, harness)
            try require(afterKill.startedAt < leaseEnd,
                        "moved at \(afterKill.startedAt), before the dead runner's lease ended at \(leaseEnd)")

            let survivors = runners.filter { $0.address != victim.address }
            let stopped = survivors.first { $0.address == afterKill.runner }!
            stopped.process.signal(SIGTERM)
            let afterTerm = try await awaitMove(from: afterKill, harness)
            history = try await runs(harness)
            let handedOver = history.first { $0.id == afterKill.id }!
            try require(handedOver.stoppedAt.map { $0 <= afterTerm.startedAt } == true,
                        "SIGTERM stopped the singleton before it started elsewhere: \(history)")
            try require(afterTerm.startedAt < handedOver.stoppedAt!.addingTimeInterval(30),
                        "the hand-over did not wait for the lease to end: \(history)")
            try require(history.filter { $0.stoppedAt == nil }.map(\.runner) == [victim.address, afterTerm.runner],
                        "only the killed runner's placement and the live one are open: \(history)")
        }
    }

    @Test("a singleton on a runner SIGSTOPped past its lease runs elsewhere; resumed, the zombie writes nothing, rejoins and takes it back after a hand-over")
    func zombieStops() async throws {
        try await withProcesses { harness in
            let runners = try await harness.startCluster(2, leaseTTL: "1")
            try await awaitPlacement(among: runners, harness)
            let paused = try await runs(harness).last!
            let zombie = runners.first { $0.address == paused.runner }!
            zombie.process.signal(SIGSTOP)
            let elsewhere = try await awaitMove(from: paused, harness)
            let stopsBefore = zombie.process.output.components(separatedBy: "singleton stopped").count - 1
            zombie.process.signal(SIGCONT)
            // Resumed, it finds its lease lost and stops the singleton; the stop's fenced write is refused.
            try await zombie.process.waitForLine(containing: "singleton stopped", count: stopsBefore + 1)
            try require(try await runs(harness).first { $0.id == paused.id }?.stoppedAt == nil,
                        "the zombie wrote nothing under its lost lease")
            // It rejoins as a new incarnation and its shard is assigned back to it: the singleton comes back to it.
            // On a loaded machine the shard may move once more on the way (a heartbeat late by more than the 1 s
            // lease); whatever the moves, each placement starts only once the one before it has stopped.
            try await harness.awaitCount("""
                SELECT count(*)::int FROM example_singleton_runs
                WHERE id > \(elsewhere.id) AND stopped_at IS NULL AND runner = \(zombie.address)
                """, atLeast: 1)
            let history = try await runs(harness)
            let handedOver = history.filter { $0.id >= elsewhere.id }.sorted { $0.id < $1.id }
            for (before, after) in zip(handedOver, handedOver.dropFirst()) {
                try require(before.stoppedAt.map { $0 <= after.startedAt } == true,
                            "placement \(before.id) stopped before \(after.id) started: \(history)")
            }
            try require(history.first { $0.id == paused.id }?.stoppedAt == nil,
                        "the zombie's stale placement stays as it left it: \(history)")
        }
    }
}
