import Foundation
import PostgresNIO
import RoostPostgres
import RoostTesting
import Testing
import Yams

@Suite("roost runner --config, cluster-config/ and docker-compose.yml")
struct RunnerConfigurationTests {
    /// The repository's root, where cluster-config/ and docker-compose.yml are.
    private static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    private static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

    /// Runs `roost runner --config FILE --check-config --json` and returns each setting's value and source.
    private func check(_ file: String, environment: [String: String]) async throws
        -> [String: (value: String, from: String)] {
        let process = try RunnerProcess(name: "check \(file)",
                                        arguments: ["runner", "--config", file, "--check-config", "--json"],
                                        environment: ["ROOST_CLUSTER_INSECURE": "on"].merging(environment) { $1 })
        let status = await process.waitForExit()
        try require(status == 0, process.output)
        let object = try JSONSerialization.jsonObject(with: Data(process.output.utf8)) as? [String: Any]
        let settings = object?["settings"] as? [[String: String]] ?? []
        return Dictionary(uniqueKeysWithValues: settings.map {
            ($0["environment"] ?? "", ($0["value"] ?? "", $0["from"] ?? ""))
        })
    }

    private func temporaryFile(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("roost-\(UUID()).yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("runner-2.yaml gives its address, cluster.yaml the shared settings, and the environment overrides both")
    func layers() async throws {
        let runner2 = Self.path("cluster-config/runner-2.yaml")
        let fromFiles = try await check(runner2, environment: [:])
        #expect(fromFiles["ROOST_RUNNER_ADDRESS"]?.value == "127.0.0.1:7422")
        #expect(fromFiles["ROOST_RUNNER_ADDRESS"]?.from == runner2)
        #expect(fromFiles["ROOST_SHARDS_PER_GROUP"]?.from == Self.path("cluster-config/cluster.yaml"))

        let overridden = try await check(runner2, environment: ["ROOST_RUNNER_ADDRESS": "127.0.0.1:9999",
                                                                "ROOST_LEASE_TTL": "4.5"])
        #expect(overridden["ROOST_RUNNER_ADDRESS"]?.value == "127.0.0.1:9999")
        #expect(overridden["ROOST_RUNNER_ADDRESS"]?.from == "environment")
        #expect(overridden["ROOST_LEASE_TTL"]?.value == "4.5")
        #expect(overridden["ROOST_LEASE_TTL"]?.from == "environment")
    }

    @Test("invalid configuration is a precise error, and the runner exits before it joins the cluster")
    func invalid() async throws {
        let cases: [(file: String, message: String)] = [
            ("lease_tll: 10\n", "unknown key 'lease_tll'"),
            ("lease_ttl: [1, 2]\n", "'lease_ttl' must be a single value"),
            ("lease_ttl: 0.1\n", "ROOST_LEASE_TTL '0.1' must be a number of seconds from 0.3 to 3600 (lease_ttl in "),
            ("runner_address: nowhere\n", "runner address 'nowhere' must be host:port"),
            ("shards_per_group: many\n", "ROOST_SHARDS_PER_GROUP 'many' must be a whole number (shards_per_group in "),
            ("lease_ttl: 10\n  x: : y\n", "is not valid YAML"),
            ("- lease_ttl\n", "must be a mapping of keys to values"),
            ("cluster_config: missing.yaml\n", "missing.yaml' does not exist (named by cluster_config in "),
            ("shard_groups: workflows,entities\n", "must include 'default': workflow executions, singletons"),
        ]
        try await withProcesses { harness in
            for (text, message) in cases {
                let file = try temporaryFile(text)
                let run = try await harness.roost(["runner", "--config", file])
                try require(run.status == 1, "\(text): \(run.output)")
                try require(run.output.contains("invalid_configuration") && run.output.contains(message),
                            "\(text): expected '\(message)' in: \(run.output)")
            }
            let open = try await harness.roost(["runner"], environment: ["ROOST_CLUSTER_INSECURE": "off"])
            try require(open.status == 1 && open.output.contains("neither ROOST_CLUSTER_SECRET nor mutual TLS"),
                        "a runner with no cluster secret: \(open.output)")
            let missing = try await harness.roost(["runner", "--config", "/nonexistent/runner.yaml"])
            try require(missing.output.contains("configuration file '/nonexistent/runner.yaml' does not exist"),
                        missing.output)
            #expect(try await harness.count("SELECT count(*)::int FROM runners") == 0)
        }
    }

    @Test("a database that cannot be reached, an unknown user or an unknown database: one precise line, for the runner and a command")
    func unreachableDatabase() async throws {
        try await withProcesses { harness in
            let server = harness.storage.configuration
            let refused = "postgres://\(server.username)@127.0.0.1:\(FreePort.next())/\(server.username)"
            let cases: [(url: String, message: String)] = [
                (refused, "connection refused (is PostgreSQL listening there?)"),
                ("postgres://nobody_here@\(server.host):\(server.port)/\(server.username)",
                 #"role "nobody_here" does not exist"#),
                ("postgres://\(server.username)@\(server.host):\(server.port)/no_such_database",
                 #"database "no_such_database" does not exist"#),
            ]
            for (url, message) in cases {
                for command in [["runner"], ["workflow", "list"]] {
                    let run = try await harness.roost(command, environment: [
                        "ROOST_DATABASE_URL": url, "ROOST_RUNNER_ADDRESS": "127.0.0.1:\(FreePort.next())",
                    ])
                    try require(run.status == 1, "\(command) with \(url): \(run.output)")
                    try require(run.output.contains("database_unreachable: cannot connect to PostgreSQL at ")
                                && run.output.contains(message),
                                "\(command) with \(url): expected '\(message)' in: \(run.output)")
                }
            }
        }
    }

    @Test("docker-compose.yml: PostgreSQL with a healthcheck and three runners whose settings the runner knows")
    func composeFile() async throws {
        let text = try String(contentsOfFile: Self.path("docker-compose.yml"), encoding: .utf8)
        let compose = try #require(try Yams.load(yaml: text) as? [String: Any])
        let services = try #require(compose["services"] as? [String: Any])
        let postgres = try #require(services["postgres"] as? [String: Any])
        let healthcheck = try #require(postgres["healthcheck"] as? [String: Any])
        #expect((healthcheck["test"] as? [String])?.joined(separator: " ").contains("pg_isready") == true)
        #expect(FileManager.default.fileExists(atPath: Self.path("Dockerfile")))

        var addresses: Set<String> = []
        for name in ["runner-1", "runner-2", "runner-3"] {
            let runner = try #require(services[name] as? [String: Any], "no service \(name)")
            #expect(runner["build"] as? String == ".")
            let dependsOn = runner["depends_on"] as? [String: [String: String]]
            #expect(dependsOn?["postgres"]?["condition"] == "service_healthy")
            let volumes = runner["volumes"] as? [String] ?? []
            #expect(volumes.contains("./cluster-config:/etc/roost:ro"))

            let command = try #require(runner["command"] as? [String])
            let configIndex = try #require(command.firstIndex(of: "--config"))
            let configFile = command[configIndex + 1]
            #expect(configFile == "/etc/roost/\(name).yaml")
            let localFile = Self.path("cluster-config/" + configFile.dropFirst("/etc/roost/".count))

            let environment = try #require(runner["environment"] as? [String: String])
            let settings = try await check(localFile, environment: environment)
            for (key, value) in environment {
                #expect(settings[key]?.from == "environment", "\(name): \(key) is not a setting of roost runner")
                // The URL is shown without its password, the token not at all.
                #expect(["ROOST_DATABASE_URL", "ROOST_API_TOKEN", "ROOST_CLUSTER_SECRET"].contains(key)
                        || settings[key]?.value == value)
            }
            addresses.insert(environment["ROOST_RUNNER_ADDRESS"] ?? "")
        }
        #expect(addresses.count == 3)
    }
}
