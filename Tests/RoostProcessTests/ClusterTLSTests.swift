import Foundation
import Roost
import RoostClient
import RoostExamples
import RoostTesting
import Testing

@Suite("Mutual TLS between runners", .serialized)
struct ClusterTLSTests {
    /// Makes certificates with `scripts/certs.sh`: an authority in `directory` and one certificate per name.
    private func certificates(in directory: String, for names: [String]) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["scripts/certs.sh", directory] + names
        process.standardInput = FileHandle.nullDevice
        let status = try await exitStatus(of: process)
        try require(status == 0, "scripts/certs.sh \(directory) \(names) exited with \(status)")
    }

    private func environment(_ directory: String, _ name: String) -> [String: String] {
        ["ROOST_CLUSTER_TLS_CERTIFICATE": "\(directory)/\(name).pem",
         "ROOST_CLUSTER_TLS_KEY": "\(directory)/\(name)-key.pem", "ROOST_CLUSTER_TLS_CA": "\(directory)/ca.pem"]
    }

    @Test("with mutual TLS, runners call each other and clients with the cluster's certificates; others are refused")
    func mutualTLS() async throws {
        try await withProcesses { harness in
            let directory = FileManager.default.temporaryDirectory.path + "/roost-tls-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try await certificates(in: directory, for: ["runner-1", "runner-2", "client"])
            try await certificates(in: directory + "/other", for: ["stranger"])
            let runners = [
                try await harness.startClusterRunner("runner-1", environment: environment(directory, "runner-1")),
                try await harness.startClusterRunner("runner-2", environment: environment(directory, "runner-2")),
            ]
            _ = try await harness.awaitAssignment(to: runners.map(\.address))
            let relay = (0..<1_000).map { "relay-\($0)" }
                .first { harness.owner(of: $0, among: runners) == runners[0].address }!
            let target = (0..<1_000).map { "target-\($0)" }
                .first { harness.owner(of: $0, among: runners) == runners[1].address }!
            let increment = try await harness.roost(["examples", "counter", "increment", target, "5", "--best-effort"],
                                                    environment: environment(directory, "client"))
            try require(increment.status == 0 && increment.output.contains("5"), increment.output)
            let refusedEnvironments = [[:], environment(directory + "/other", "stranger")]
            for presented in refusedEnvironments {
                let refused = try await harness.roost(["examples", "counter", "get", target],
                                                      environment: presented.merging(["ROOST_CALL_TIMEOUT_MS": "1500"]) { $1 })
                try require(refused.status == 1 && refused.output.contains("unreachable"), refused.output)
            }
            var configuration = ClusterSystem.Configuration()
            configuration.tls = try ClusterTLS(certificateChain: "\(directory)/client.pem",
                                               privateKey: "\(directory)/client-key.pem",
                                               authority: "\(directory)/ca.pem")
            let value = try await harness.client.withEntities(configuration: configuration) { system in
                try await system.entity(Counter.self, id: relay).forward(1, to: target)
            }
            try require(value == 6, "the relay's runner called the target's runner over mutual TLS: \(value)")
        }
    }

    @Test("a runner with incomplete or unreadable TLS settings is refused before it starts, naming the setting")
    func invalidTLSConfiguration() async throws {
        try await withProcesses { harness in
            let directory = FileManager.default.temporaryDirectory.path + "/roost-tls-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try await certificates(in: directory, for: ["runner-1"])
            var partial = environment(directory, "runner-1")
            partial["ROOST_CLUSTER_TLS_CA"] = nil
            let incomplete = try await harness.roost(["runner", "--check-config"], environment: partial)
            try require(incomplete.status != 0 && incomplete.output.contains("ROOST_CLUSTER_TLS_CA is not set"),
                        incomplete.output)
            var swapped = environment(directory, "runner-1")
            swapped["ROOST_CLUSTER_TLS_CERTIFICATE"] = "\(directory)/runner-1-key.pem"
            let notACertificate = try await harness.roost(["runner", "--check-config"], environment: swapped)
            try require(notACertificate.status != 0
                        && notACertificate.output.contains("certificate chain \(directory)/runner-1-key.pem"),
                        notACertificate.output)
            var missing = environment(directory, "runner-1")
            missing["ROOST_CLUSTER_TLS_KEY"] = "\(directory)/absent.pem"
            let unreadable = try await harness.roost(["runner", "--check-config"], environment: missing)
            try require(unreadable.status != 0 && unreadable.output.contains("absent.pem cannot be read"),
                        unreadable.output)
        }
    }
}
