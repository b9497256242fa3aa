import Foundation
import Roost
import RoostPostgres
import RoostTesting
import Testing

@Suite("scripts/cluster.sh", .serialized)
struct ClusterScriptTests {
    /// Runs `scripts/cluster.sh` with the harness's database and schema, the given ports and its own state
    /// directory, and returns its exit status and output.
    private func script(_ arguments: [String], _ harness: ProcessHarness, ports: [Int], state: String) async throws
        -> (status: Int32, output: String) {
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        let outputPath = state + "/script-output.txt"
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["scripts/cluster.sh"] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(harness.environment) { $1 }.merging([
            "ROOST_BINARY": RunnerProcess.binary, "ROOST_CLUSTER_DIR": state,
            // Long enough that a runner stopped with SIGSTOP is still live, not expired, when `status` looks.
            "ROOST_LEASE_TTL": "30",
            "ROOST_CLUSTER_PORTS": ports.map(String.init).joined(separator: ","),
        ]) { $1 }
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        let status = try await exitStatus(of: process)
        try output.close()
        return (status, (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "")
    }

    @Test("up starts three runners that share the shards; stop, cont, kill and restart act on one; down stops all")
    func lifecycle() async throws {
        try await withProcesses { harness in
            let ports = (0..<3).map { _ in FreePort.next() }
            let addresses = ports.map { "127.0.0.1:\($0)" }
            let state = FileManager.default.temporaryDirectory.appendingPathComponent("roost-cluster-\(UUID())").path
            // The runners the script starts are not the harness's: a failed step brings them down here.
            do {
                let up = try await script(["up"], harness, ports: ports, state: state)
                try require(up.status == 0, up.output)
                _ = try await harness.awaitAssignment(to: addresses)

                let stop = try await script(["stop", "2"], harness, ports: ports, state: state)
                try require(stop.status == 0, stop.output)
                let paused = try await script(["status"], harness, ports: ports, state: state)
                try require(paused.output.contains("stopped: SIGSTOP") && paused.output.contains("unreachable"),
                            paused.output)
                let cont = try await script(["cont", "2"], harness, ports: ports, state: state)
                try require(cont.status == 0, cont.output)

                let kill = try await script(["kill", "3"], harness, ports: ports, state: state)
                try require(kill.status == 0, kill.output)
                let restarted = try await script(["restart", "3"], harness, ports: ports, state: state)
                try require(restarted.status == 0 && restarted.output.contains("runner 3 up"), restarted.output)
                _ = try await harness.awaitAssignment(to: addresses)

                let bad = try await script(["kill", "9"], harness, ports: ports, state: state)
                try require(bad.status != 0 && bad.output.contains("runner number must be 1 to 3"), bad.output)
            } catch {
                _ = try? await script(["down"], harness, ports: ports, state: state)
                throw error
            }
            let down = try await script(["down"], harness, ports: ports, state: state)
            try require(down.status == 0 && down.output.components(separatedBy: " stopped").count == 4, down.output)
            let live = try await harness.storage.cluster.status().runners.filter { $0.health == "live" }
            try require(live.isEmpty, "every runner left: \(live.map(\.address))")
            try? FileManager.default.removeItem(atPath: state)
        }
    }
}
