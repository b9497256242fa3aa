import Foundation
import Roost
import RoostPostgres
import RoostTesting

/// `roost runner` child processes for the benchmarks, on loopback, running this binary.
enum BenchRunners {
    /// Starts `count` runners on a schema, numbered from `first`, each once it has joined.
    static func start(_ count: Int, url: String, schema: String, leaseTTL: Double, numbered first: Int = 1,
                      environment extra: [String: String] = [:]) async throws
        -> [(process: RunnerProcess, address: String)] {
        if ProcessInfo.processInfo.environment["ROOST_BINARY"] == nil {
            setenv("ROOST_BINARY", URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path, 1)
        }
        var runners: [(process: RunnerProcess, address: String)] = []
        for index in first..<(first + count) {
            let address = "127.0.0.1:\(FreePort.next())"
            let environment = extra.merging([
                "ROOST_DATABASE_URL": url, "ROOST_SCHEMA": schema,
                "ROOST_RUNNER_ADDRESS": address, "ROOST_LEASE_TTL": "\(leaseTTL)",
                "ROOST_REBALANCE_INTERVAL_MS": "500", "ROOST_CLUSTER_INSECURE": "on",
            ]) { $1 }
            let process = try RunnerProcess(name: "runner-\(index)", environment: environment)
            try await process.waitForLine(containing: "runner joined the cluster")
            runners.append((process, address))
        }
        return runners
    }

    /// Waits until every shard is held by its rendezvous target among `runners`.
    static func settle(_ storage: PostgresStorage, runners: [String]) async throws {
        while true {
            let status = try await storage.cluster.status()
            if !status.leases.isEmpty, status.leases.allSatisfy({
                $0.live && $0.owner == Rendezvous.owner(of: $0.shard, among: runners)
            }) {
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// A process's resident memory in bytes, from `/proc`.
    static func residentBytes(pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "")
        else { return 0 }
        return kilobytes * 1024
    }
}
