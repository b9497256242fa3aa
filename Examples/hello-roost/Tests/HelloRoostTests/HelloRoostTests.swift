import Foundation
import HelloRoost
import PostgresNIO
import Roost
import RoostClient
import RoostPostgres
import RoostRunner
import RoostTesting
import Testing

@Suite("hello-roost on two runner processes of its own binary", .serialized)
struct HelloRoostTests {
    /// The application's executable, as `swift build` leaves it.
    static let binary = ProcessInfo.processInfo.environment["HELLO_ROOST_BINARY"]
        ?? FileManager.default.currentDirectoryPath + "/.build/debug/hello-roost"

    @Test("""
        greetings started through its command line, and one through the plain roost binary from what the runners \
        published, complete across a kill -9 of one of its two runners, each effect once; its schedule chimes and \
        its entity counts
        """, .timeLimit(.minutes(3)))
    func killNineMidFlight() async throws {
        try await TestDatabase.withStorage(prefix: "hello") { (storage: PostgresStorage) async throws in
            var environment = [
                "ROOST_DATABASE_URL": storage.configuration.url, "ROOST_SCHEMA": storage.configuration.schema,
                "ROOST_CLUSTER_INSECURE": "on", "ROOST_LEASE_TTL": "2", "ROOST_REBALANCE_INTERVAL_MS": "200",
                "ROOST_POLL_INTERVAL_MS": "250", "ROOST_LOG_LEVEL": "debug",
            ]
            var runners: [RunnerProcess] = []
            defer { for runner in runners { runner.signal(SIGKILL) } }
            do {
                for name in ["hello-1", "hello-2"] {
                    environment["ROOST_RUNNER_ADDRESS"] = "127.0.0.1:\(FreePort.next())"
                    let runner = try RunnerProcess(name: name, executable: Self.binary, environment: environment)
                    runners.append(runner)
                    try await runner.waitForLine(containing: "shards acquired")
                }

                // Twenty greetings, started with one command of the application's own command line.
                let ids = (0..<20).map { "greet-\($0)" }
                let file = FileManager.default.temporaryDirectory.appendingPathComponent("hello-\(UUID()).jsonl")
                try ids.map { #"{"id": "\#($0)", "input": {"name": "\#($0)"}}"# }.joined(separator: "\n")
                    .write(to: file, atomically: true, encoding: .utf8)
                let start = try RunnerProcess(name: "start", executable: Self.binary,
                                              arguments: ["workflow", "start", "Greeting", "--batch", file.path],
                                              environment: environment)
                let status = await start.waitForExit()
                try #require(status == 0, "hello-roost workflow start --batch: \(start.output)")
                let greetings = ids + (try await startWithThePlainBinary(environment))

                try await withRoostClient(storage.configuration, registry: RoostApplication.hello.workflows,
                                          logger: TestDatabase.logger) { client in
                    try await awaitCount(storage, """
                        SELECT count(*)::int FROM journal WHERE kind = 'deferred' AND name = 'approval'
                        """, atLeast: greetings.count)
                    await runners[0].kill9()
                    for id in greetings {
                        _ = try await client.resolve(Greeting.approval, of: Greeting.self, id: id, value: true)
                    }
                    for id in greetings {
                        let greeting = try await client.result(of: Greeting.self, id: id, timeout: .seconds(60))
                        #expect(greeting == "hello \(id)")
                    }
                    let effects = try await counts(storage, """
                        SELECT execution_id || '/' || step, count(*)::int FROM hello_effects
                        WHERE step <> 'chime' GROUP BY 1
                        """)
                    #expect(effects.count == greetings.count * 2 && effects.values.allSatisfy { $0 == 1 },
                            "each greeting recorded and sent once: \(effects)")
                    try await awaitCount(storage, "SELECT count(*)::int FROM hello_effects WHERE step = 'chime'",
                                         atLeast: 1)
                    let visits = try await client.withEntities { system in
                        let page = try system.entity(Visits.self, id: "home")
                        return [try await page.visit(), try await page.visit()]
                    }
                    #expect(visits == [1, 2])
                }
            } catch {
                for runner in runners { print("----- \(runner.name) -----\n\(runner.output)") }
                throw error
            }
        }
    }

    /// The plain `roost` executable, which has none of the application's types: `ROOST_BINARY`, else Roost's debug
    /// build two folders up.
    static let plainBinary = ProcessInfo.processInfo.environment["ROOST_BINARY"]
        ?? FileManager.default.currentDirectoryPath + "/../../.build/debug/roost"

    /// Lists the workflows the runners published and starts a greeting with the plain `roost` binary, which knows
    /// Greeting only as a published name; a name nobody registered is refused with the names there are.
    /// - Returns: The id of the greeting started.
    private func startWithThePlainBinary(_ environment: [String: String]) async throws -> [String] {
        let types = try RunnerProcess(name: "types", executable: Self.plainBinary,
                                      arguments: ["workflow", "types", "--json"], environment: environment)
        let listed = await types.waitForExit()
        try #require(listed == 0 && types.output.contains(#""name":"Greeting""#)
                     && types.output.contains(#""approval":"Bool""#), "roost workflow types: \(types.output)")
        let start = try RunnerProcess(name: "plain start", executable: Self.plainBinary,
                                      arguments: ["workflow", "start", "Greeting", "--id", "plain-1",
                                                  "--input", #"{"name": "plain-1"}"#],
                                      environment: environment)
        let started = await start.waitForExit()
        try #require(started == 0, "roost workflow start Greeting: \(start.output)")
        let unknown = try RunnerProcess(name: "unknown start", executable: Self.plainBinary,
                                        arguments: ["workflow", "start", "Nobody", "--id", "x", "--input", "{}"],
                                        environment: environment)
        let refused = await unknown.waitForExit()
        try #require(refused == 1 && unknown.output.contains("unknown_workflow")
                     && unknown.output.contains("Greeting"), "roost workflow start Nobody: \(unknown.output)")
        return ["plain-1"]
    }

    /// Awaits the moment a counting query returns at least `count`; the time limit is a guard, not a threshold.
    private func awaitCount(_ storage: PostgresStorage, _ query: PostgresQuery, atLeast count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            for try await value in try await storage.client.query(query).decode(Int.self) where value >= count {
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("\(query.sql) stayed below \(count)")
    }

    private func counts(_ storage: PostgresStorage, _ query: PostgresQuery) async throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for try await (key, count) in try await storage.client.query(query).decode((String, Int).self) {
            counts[key] = count
        }
        return counts
    }
}
