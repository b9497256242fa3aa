import Foundation
import Synchronization
import Roost
import RoostClient
import RoostExamples
import RoostPostgres
import RoostTesting
import Testing

@Suite("Entities on roost runner processes", .serialized)
struct EntityTests {
    @Test("concurrent calls through the cluster reach one live instance per address: no increment is lost")
    func oneInstancePerAddress() async throws {
        try await withProcesses { harness in
            let runners = try await harness.startCluster(3)
            _ = try await harness.awaitAssignment(to: runners.map(\.address))
            // Two counters on each runner: the calls cross runners whatever ports the runners got.
            let counters = runners.flatMap { runner in
                (0...).lazy.map { "counter-\($0)" }.filter { harness.owner(of: $0, among: runners) == runner.address }
                    .prefix(2)
            }
            try await harness.withClusterClient { system in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for caller in 0..<12 {
                        group.addTask {
                            for round in 0..<10 {
                                let id = counters[(caller + round) % counters.count]
                                _ = try await system.entity(Counter.self, id: id).increment(by: 1)
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                for id in counters {
                    let value = try await system.entity(Counter.self, id: id).value()
                    try require(value == 20, "\(id) counted every increment: \(value)")
                }
            }
        }
    }

    @Test("calls starting on every runner at once reach the one live instance of each counter: none is lost")
    func callsFromEveryRunner() async throws {
        try await withProcesses { harness in
            let runners = try await harness.startCluster(3)
            _ = try await harness.awaitAssignment(to: runners.map(\.address))
            // One relay counter on each runner: a call to it makes the runner hosting it call the targets.
            let relays = runners.map { runner in
                (0...).lazy.map { "relay-\($0)" }.first { harness.owner(of: $0, among: runners) == runner.address }!
            }
            let targets = (0..<4).map { "target-\($0)" }
            try await harness.withClusterClient { system in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for caller in 0..<12 {
                        group.addTask {
                            for round in 0..<10 {
                                let relay = try system.entity(Counter.self, id: relays[caller % relays.count])
                                _ = try await relay.forward(1, to: targets[(caller + round) % targets.count])
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                for id in targets {
                    let value = try await system.entity(Counter.self, id: id).value()
                    try require(value == 30, "\(id) counted every call from every runner: \(value)")
                }
            }
        }
    }

    @Test("with a cluster secret, runners call each other and clients with it; a caller without it is refused")
    func clusterSecret() async throws {
        try await withProcesses { harness in
            let secret = "cluster-secret-0123456789"
            let runners = [
                try await harness.startClusterRunner("runner-1", environment: ["ROOST_CLUSTER_SECRET": secret]),
                try await harness.startClusterRunner("runner-2", environment: ["ROOST_CLUSTER_SECRET": secret]),
            ]
            _ = try await harness.awaitAssignment(to: runners.map(\.address))
            // A relay on runner 1 calls a target on runner 2: the call between runners carries the secret.
            let relay = (0..<1_000).map { "relay-\($0)" }.first { harness.owner(of: $0, among: runners) == runners[0].address }!
            let target = (0..<1_000).map { "target-\($0)" }.first { harness.owner(of: $0, among: runners) == runners[1].address }!
            let secretEnvironment = ["ROOST_CLUSTER_SECRET": secret]
            let increment = try await harness.roost(["examples", "counter", "increment", target, "5", "--best-effort"],
                                                    environment: secretEnvironment)
            try require(increment.status == 0 && increment.output.contains("5"), increment.output)
            for presented in [nil, "wrong-secret-0123456789"] {
                let refused = try await harness.roost(["examples", "counter", "get", target],
                                                      environment: presented.map { ["ROOST_CLUSTER_SECRET": $0] } ?? [:])
                try require(refused.status == 1 && refused.output.contains("unauthenticated")
                            && refused.output.contains("ROOST_CLUSTER_SECRET"), refused.output)
            }
            try await runners[1].process.waitForLine(containing: "runner call refused: no or wrong cluster secret",
                                                     count: 2)
            try require(!harness.logs.contains("wrong-secret-0123456789"), "a presented secret reached the log")
            var configuration = ClusterSystem.Configuration()
            configuration.clusterSecret = secret
            let value = try await harness.client.withEntities(configuration: configuration) { system in
                try await system.entity(Counter.self, id: relay).forward(1, to: target)
            }
            try require(value == 6, "the relay's runner called the target's runner with the secret: \(value)")
        }
    }

    @Test("kill -9 of a counter's owner: the next call reaches the new owner and the value is kept")
    func killMovesEntity() async throws {
        try await withProcesses { harness in
            let runners = try await harness.startCluster(3)
            _ = try await harness.awaitAssignment(to: runners.map(\.address))
            try await harness.withClusterClient { system in
                let counter = try system.entity(Counter.self, id: "survivor")
                try require(try await counter.increment(by: 5) == 5, "first increment")
                let owner = harness.owner(of: "survivor", among: runners)
                await runners.first { $0.address == owner }!.process.kill9()
                try require(try await counter.increment(by: 2) == 7, "the moved counter kept its value")
            }
        }
    }

    @Test("a runner SIGSTOPped with a call in flight and resumed after its lease expired commits nothing")
    func pausedOwnerCommitsNothing() async throws {
        try await withProcesses { harness in
            let runners = try await harness.startCluster(3, leaseTTL: "1")
            _ = try await harness.awaitAssignment(to: runners.map(\.address))
            try await harness.withClusterClient { system in
                let counter = try system.entity(Counter.self, id: "fenced")
                try require(try await counter.increment(by: 1) == 1, "first increment")
                let owner = runners.first { $0.address == harness.owner(of: "fenced", among: runners) }!
                owner.process.signal(SIGSTOP)
                // The call goes to the paused owner and waits there; the others take its shards meanwhile, and the
                // new owner commits an increment of its own. The waiting call is routed to the new owner once the
                // paused owner's lease has expired, before or after that increment.
                async let second = counter.increment(by: 10)
                _ = try await harness.awaitAssignment(to: runners.filter { $0.address != owner.address }.map(\.address))
                let third = try await harness.withClusterClient { fresh in
                    try await fresh.entity(Counter.self, id: "fenced").increment(by: 100)
                }
                try require([101, 111].contains(third), "the new owner counts on from the stored value: \(third)")
                // Resumed, the paused owner still caches 1: an unfenced write would store 11 over the new value.
                owner.process.signal(SIGCONT)
                let secondValue = try await second
                try require(secondValue == (third == 101 ? 111 : 11),
                            "the paused call was refused there and ran on the new owner: \(secondValue), \(third)")
                try require(try await counter.value() == 111, "no increment was lost or counted twice")
            }
        }
    }

    @Test("SIGTERM hands a runner's entities over while calls keep coming, and no call fails")
    func sigtermFailsNoCall() async throws {
        try await withProcesses { harness in
            let runners = try await harness.startCluster(3)
            _ = try await harness.awaitAssignment(to: runners.map(\.address))
            let counters = (0..<6).map { "rolling-\($0)" }
            try await harness.withClusterClient { system in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for id in counters {
                        group.addTask {
                            for _ in 0..<40 { _ = try await system.entity(Counter.self, id: id).increment(by: 1) }
                        }
                    }
                    group.addTask {
                        try await harness.awaitCounters(counters, atLeast: 5)
                        runners[0].process.signal(SIGTERM)
                        try require(await runners[0].process.waitForExit() == 0, "a graceful exit")
                    }
                    try await group.waitForAll()
                }
                for id in counters {
                    let value = try await system.entity(Counter.self, id: id).value()
                    try require(value == 40, "\(id): \(value)")
                }
            }
        }
    }

    @Test("a rolling restart of every runner, one SIGTERM at a time, fails no call")
    func rollingRestart() async throws {
        try await withProcesses { harness in
            let first = try await harness.startCluster(3)
            _ = try await harness.awaitAssignment(to: first.map(\.address))
            let counters = (0..<6).map { "rolling-restart-\($0)" }
            let done = Flag()
            try await harness.withClusterClient { system in
                try await withThrowingTaskGroup(of: Int.self) { group in
                    for id in counters {
                        group.addTask {
                            var calls = 0
                            while !done.isSet {
                                _ = try await system.entity(Counter.self, id: id).increment(by: 1)
                                calls += 1
                            }
                            return calls
                        }
                    }
                    var runners = first
                    for index in runners.indices {
                        runners[index].process.signal(SIGTERM)
                        try require(await runners[index].process.waitForExit() == 0, "a graceful exit")
                        runners[index] = try await harness.startClusterRunner("runner-\(index + 1)-restarted")
                        _ = try await harness.awaitAssignment(to: runners.map(\.address))
                    }
                    done.set()
                    let calls = try await group.reduce(0, +)
                    var total = 0
                    for id in counters { total += try await system.entity(Counter.self, id: id).value() }
                    try require(total == calls, "every call counted once: \(total) of \(calls)")
                }
            }
        }
    }

    @Test("roost examples counter increments and reads a counter through the cluster")
    func counterCommand() async throws {
        try await withProcesses { harness in
            let runners = try await harness.startCluster(2)
            _ = try await harness.awaitAssignment(to: runners.map(\.address))
            let increment = try await harness.roost(["examples", "counter", "increment", "cli", "3", "--json"])
            try require(increment.status == 0 && increment.output.contains(#""value":3"#), increment.output)
            let get = try await harness.roost(["examples", "counter", "get", "cli"])
            try require(get.status == 0 && get.output.contains("cli: 3"), get.output)
            let again = try await harness.roost(["examples", "counter", "increment", "cli", "3"])
            try require(again.output.contains("cli: 6"), "two identical calls are two calls: \(again.output)")
            for _ in 0..<2 {
                let keyed = try await harness.roost(["examples", "counter", "increment", "cli", "3", "--key", "k"])
                try require(keyed.output.contains("cli: 9"), "a repeated key adds once: \(keyed.output)")
            }
            let conflict = try await harness.roost(["examples", "counter", "increment", "cli", "4", "--key", "k"])
            try require(conflict.status != 0 && conflict.output.contains("idempotency_conflict"), conflict.output)
        }
    }
}

/// A flag one task sets and others read.
private final class Flag: Sendable {
    private let value = Atomic(false)

    var isSet: Bool { value.load(ordering: .relaxed) }

    func set() {
        value.store(true, ordering: .relaxed)
    }
}
