import Foundation

/// A PostgreSQL server of a test's own, run by `scripts/postgres.sh` with its data in a directory of its own, so a
/// test can restart it without disturbing other tests.
public struct ThrowawayPostgres: Sendable {
    /// The server's URL.
    public let url: String
    let directory: String
    let script: String

    /// Starts a server.
    /// - Parameter script: The `scripts/postgres.sh` of the Roost checkout; defaults to the one under the current
    ///   directory.
    public static func start(script: String = FileManager.default.currentDirectoryPath + "/scripts/postgres.sh")
        async throws -> ThrowawayPostgres {
        let directory = FileManager.default.currentDirectoryPath + "/.roost/throwaway-\(UUID().uuidString.prefix(8))"
        let server = ThrowawayPostgres(url: "", directory: directory, script: script)
        let url = try await server.run("start")
        return ThrowawayPostgres(url: url, directory: directory, script: script)
    }

    /// Stops the server (a fast shutdown, as an operator's restart does) and starts it again on the same port.
    public func restart() async throws {
        _ = try await run("restart")
    }

    /// Stops the server and deletes its data.
    public func destroy() async throws {
        _ = try await run("destroy")
    }

    private func run(_ command: String) async throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script, command]
        var environment = ProcessInfo.processInfo.environment
        for key in ["ROOST_DATABASE_URL", "POSTGRES_HOST"] { environment[key] = nil }
        environment["ROOST_POSTGRES_DIR"] = directory
        process.environment = environment
        let outputPath = directory + ".out"
        try FileManager.default.createDirectory(atPath: (directory as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        process.standardOutput = output
        process.standardError = output
        let launched: Bool = await withCheckedContinuation { continuation in
            process.terminationHandler = { _ in continuation.resume(returning: true) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(returning: false)
            }
        }
        try output.close()
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        guard launched, process.terminationStatus == 0 else {
            throw RunnerProcessError(message: "scripts/postgres.sh \(command) failed: \(text)")
        }
        return text.split(separator: "\n").last.map(String.init) ?? ""
    }
}
