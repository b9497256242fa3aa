import Foundation
import PostgresNIO
import Roost
import RoostPostgres
import RoostTesting
import Testing

@Suite("Cluster membership and shard leases with roost runner processes", .serialized)
struct ClusterTests {
    @Test("three runners share the 300 shards: one live owner each, as rendezvous hashing assigns, about a third each")
    func threeRunnersShare() async throws {
        try await withProcesses { harness in
            let runners = try await harness.startCluster(3)
            let status = try await harness.awaitAssignment(to: runners.map(\.address))
            let counts = Dictionary(grouping: status.leases.compactMap(\.owner), by: { $0 }).mapValues(\.count)
            for runner in runners {
                try require((60...140).contains(counts[runner.address] ?? 0),
                            "\(runner.address) holds about a third: \(counts)")
            }
            try require(status.leases.allSatisfy { $0.epoch >= 1 }, "every shard was acquired")
        }
    }

    @Test("roost cluster status lists each runner's shards and ping; a SIGSTOPped runner is live but unreachable")
    func statusCommand() async throws {
        try await withProcesses { harness in
            let runners = try await harness.startCluster(2, leaseTTL: "30")
            _ = try await harness.awaitAssignment(to: runners.map(\.address))
            let text = try await harness.roost(["cluster", "status"])
            try require(text.status == 0 && text.output.contains("PING"), text.output)
            for runner in runners {
                let line = text.output.split(separator: "\n").first { $0.hasPrefix(runner.address) } ?? ""
                try require(line.contains("live") && line.contains(" ms"), "\(runner.address) answers: \(text.output)")
            }
            runners[1].process.signal(SIGSTOP)
            let paused = try await harness.roost(["cluster", "status"])
            runners[1].process.signal(SIGCONT)
            let line = { (address: String) in
                paused.output.split(separator: "\n").first { $0.hasPrefix(address) }.map(String.init) ?? ""
            }
            try require(line(runners[1].address).contains("live") && line(runners[1].address).contains("unreachable"),
                        "the paused runner is live in the database but does not answer: \(paused.output)")
            try require(line(runners[0].address).contains(" ms"), "the other one answers: \(paused.output)")
        }
    }

    @Test("a third runner joining takes the shards rendezvous gives it, and no other shard moves")
    func joinMovesOnlyItsShards() async throws {
        try await withProcesses { harness in
            let first = try await harness.startCluster(2)
            let before = try await harness.awaitAssignment(to: first.map(\.address))
            let third = try await harness.startClusterRunner("runner-3")
            let addresses = first.map(\.address) + [third.address]
            let after = try await harness.awaitAssignment(to: addresses)
            let epochs = Dictionary(uniqueKeysWithValues: before.leases.map { ($0.shard, $0.epoch) })
            for lease in after.leases where lease.owner != third.address {
                try require(lease.epoch == epochs[lease.shard], "\(lease.shard) stayed where it was")
            }
            let taken = after.leases.filter { $0.owner == third.address }.count
            try require((60...140).contains(taken), "the new runner took about a third: \(taken)")
        }
    }

    @Test("kill -9 of a runner: the survivors take its shards at higher epochs")
    func killMovesShards() async throws {
        try await withProcesses { harness in
            let runners = try await harness.startCluster(3)
            let before = try await harness.awaitAssignment(to: runners.map(\.address))
            await runners[0].process.kill9()
            let after = try await harness.awaitAssignment(to: runners.dropFirst().map(\.address))
            let epochs = Dictionary(uniqueKeysWithValues: before.leases.map { ($0.shard, $0.epoch) })
            for lease in before.leases where lease.owner == runners[0].address {
                let now = after.leases.first { $0.shard == lease.shard }
                try require((now?.epoch ?? 0) > epochs[lease.shard]!, "\(lease.shard) moved at a higher epoch")
            }
        }
    }

    @Test("SIGTERM: the runner releases its shards and leaves; the others take them without waiting for expiry")
    func sigtermHandsOver() async throws {
        try await withProcesses { harness in
            let runners = try await harness.startCluster(3, leaseTTL: "60")
            _ = try await harness.awaitAssignment(to: runners.map(\.address))
            runners[0].process.signal(SIGTERM)
            try require(await runners[0].process.waitForExit() == 0, "a graceful exit")
            try await runners[0].process.waitForLine(containing: "runner left the cluster")
            let after = try await harness.awaitAssignment(to: runners.dropFirst().map(\.address))
            let leaver = after.runners.first { $0.address == runners[0].address }
            try require(leaver?.health == "stopped", "the runner is marked stopped: \(String(describing: leaver))")
            // With a 60 s TTL, shards taken before the leaver's lease would have run out were handed over.
            let leaseEnd = leaver!.heartbeatAt.addingTimeInterval(60)
            try require(after.leases.allSatisfy { ($0.acquiredAt ?? .distantFuture) < leaseEnd },
                        "handed over before the lease expired")
        }
    }

    @Test("a runner paused past its lease detaches when resumed and rejoins as a new incarnation")
    func pausedRunnerDetaches() async throws {
        try await withProcesses { harness in
            let runners = try await harness.startCluster(3, leaseTTL: "1")
            let before = try await harness.awaitAssignment(to: runners.map(\.address))
            let paused = runners[0]
            let oldIncarnation = before.runners.first { $0.address == paused.address && $0.health == "live" }!.incarnation
            paused.process.signal(SIGSTOP)
            _ = try await harness.awaitAssignment(to: runners.dropFirst().map(\.address))
            paused.process.signal(SIGCONT)
            try await paused.process.waitForLine(containing: "runner detached from its shards")
            let after = try await harness.awaitAssignment(to: runners.map(\.address))
            try require(after.leases.allSatisfy { $0.incarnation != oldIncarnation },
                        "the paused incarnation holds nothing")
            try require(after.runners.contains { $0.address == paused.address && $0.health == "live"
                                                 && $0.incarnation != oldIncarnation },
                        "the runner rejoined as a new incarnation")
        }
    }

    @Test("a runner with other cluster settings is refused with a message naming the setting and both values")
    func settingsMismatchRefused() async throws {
        try await withProcesses { harness in
            _ = try await harness.startCluster(1)
            let stranger = try RunnerProcess(name: "stranger", environment: harness.environment.merging([
                "ROOST_RUNNER_ADDRESS": "127.0.0.1:\(FreePort.next())", "ROOST_SHARDS_PER_GROUP": "100",
            ]) { $1 })
            try require(await stranger.waitForExit() != 0, "the runner exits with an error")
            try require(stranger.output.contains("cluster setting shards_per_group differs: this runner has 100, "
                                                 + "the cluster uses 300"), "the message: \(stranger.output)")
        }
    }

    @Test("a runner that cannot listen on its address exits and leaves the runner that has it alone")
    func addressInUse() async throws {
        try await withProcesses { harness in
            let holder = try await harness.startClusterRunner("holder")
            let before = try await harness.awaitAssignment(to: [holder.address])
            let clash = try RunnerProcess(name: "clash", environment: harness.environment.merging([
                "ROOST_RUNNER_ADDRESS": holder.address,
            ]) { $1 })
            try require(await clash.waitForExit() != 0, "the second runner exits with an error")
            try require(clash.output.contains("Address already in use"), "the message: \(clash.output)")
            let after = try await harness.awaitAssignment(to: [holder.address])
            try require(after.leases.map(\.epoch) == before.leases.map(\.epoch), "the holder kept every shard")
            try require(!holder.process.output.contains("replaced"), "the holder was not replaced")
        }
    }

    @Test("invalid runner configuration is refused before anything starts, naming the key")
    func invalidConfigurationRefused() async throws {
        try await withProcesses { harness in
            for (key, value, message) in [
                ("ROOST_RUNNER_ADDRESS", "localhost", "ROOST_RUNNER_ADDRESS: runner address 'localhost' must be host:port"),
                ("ROOST_LEASE_TTL", "ten", "ROOST_LEASE_TTL 'ten' must be a number of seconds"),
                ("ROOST_SHARDS_PER_GROUP", "0", "shards per group must be between 1 and 100000, not 0"),
            ] {
                let runner = try RunnerProcess(name: key, environment: harness.environment.merging([key: value]) { $1 })
                try require(await runner.waitForExit() != 0, "\(key)=\(value) is refused")
                try require(runner.output.contains(message), "\(key)=\(value): \(runner.output)")
                try require(!runner.output.contains("runner ready"), "nothing started")
            }
        }
    }

    @Test("a runner whose listening session is terminated stays alive and keeps its shards, even paused past the next heartbeats of the others")
    func listenerBlip() async throws {
        try await withProcesses { harness in
            let runners = try await harness.startCluster(2, leaseTTL: "10")
            let (victim, other) = (runners[0], runners[1])
            let before = try await harness.awaitAssignment(to: runners.map(\.address))
            let listener = """
                SELECT a.pid FROM pg_stat_activity a JOIN runners r ON a.application_name = r.session
                WHERE r.address = '\(victim.address)' AND r.expires_at > now() AND a.query LIKE 'LISTEN%'
                """
            let pid = try await harness.count(PostgresQuery(unsafeSQL: listener))
            try require(pid > 0, "the victim's listening session")
            // Paused, it cannot reconnect its listener: only its other sessions show it is alive.
            victim.process.signal(SIGSTOP)
            _ = try await harness.count("SELECT pg_terminate_backend(\(pid)::int)::int")
            let heartbeats = """
                SELECT extract(epoch FROM heartbeat_at)::int FROM runners
                WHERE address = '\(other.address)' AND expires_at > now()
                """
            let first = try await harness.count(PostgresQuery(unsafeSQL: heartbeats))
            try await harness.awaitCount(PostgresQuery(unsafeSQL: heartbeats), atLeast: first + 2)
            let alive = try await harness.count("""
                SELECT count(*)::int FROM runners WHERE address = \(victim.address) AND expires_at > now()
                """)
            victim.process.signal(SIGCONT)
            try require(alive == 1, "the other runner declared the victim dead for its listener alone")
            try await harness.awaitCount(PostgresQuery(unsafeSQL: "SELECT count(*)::int FROM (\(listener)) l"),
                                         atLeast: 1)
            let after = try await harness.awaitAssignment(to: runners.map(\.address))
            try require(after.leases.map(\.epoch) == before.leases.map(\.epoch), "no shard moved")
            try require(!victim.process.output.contains("registration expired"), victim.process.output)
        }
    }
}
