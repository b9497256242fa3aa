import Foundation
import Roost
import RoostPostgres

/// The rate at which the benchmark's PostgreSQL commits single-row inserts, measured with pgbench: the ceiling the
/// engine's throughput is judged against (an execution needs a few commits; the engine should reach at least half
/// of what this rate allows for them).
enum CommitCeiling {
    /// pgbench's clients: about where this rate peaks on a small machine.
    static let clients = 24

    /// Inserts each client commits: a few seconds' worth.
    static let transactionsPerClient = 2_500

    /// `Order`s each client runs: a few seconds' worth.
    static let ordersPerClient = 400

    /// Runs pgbench against a scratch table in the configuration's schema and returns its commits per second, or
    /// why it could not run.
    static func measure(_ configuration: StorageConfiguration) async throws -> Result<Double, CommitCeilingUnavailable> {
        let table = "\"\(configuration.schema)\".pgbench_commits"
        return try await pgbench(script: "INSERT INTO \(table) (value) VALUES (1);\n",
                                 setup: "CREATE TABLE IF NOT EXISTS \(table) (id bigserial PRIMARY KEY, value int);\n",
                                 clients: clients, transactionsPerClient: transactionsPerClient,
                                 configuration: configuration)
    }

    /// Runs `Order`'s statements through pgbench (``OrderScript``), prepared as the engine prepares them, and
    /// returns `Order`s per second: what PostgreSQL allows for them with no engine running.
    static func measureOrders(_ configuration: StorageConfiguration, clients: Int = clients,
                              ordersPerClient: Int = ordersPerClient) async throws
        -> Result<Double, CommitCeilingUnavailable> {
        let order = try OrderScript(schema: configuration.schema)
        return try await pgbench(script: order.script, variables: order.variables, prepared: true, clients: clients,
                                 transactionsPerClient: ordersPerClient, configuration: configuration)
    }

    /// Runs a pgbench script (after a one-off setup script) and returns its transactions per second, or why it
    /// could not run.
    private static func pgbench(script: String, setup: String? = nil, variables: [String: String] = [:],
                                prepared: Bool = false, clients: Int, transactionsPerClient: Int,
                                configuration: StorageConfiguration) async throws
        -> Result<Double, CommitCeilingUnavailable> {
        guard let pgbench = locatePgbench() else {
            return .failure(CommitCeilingUnavailable(reason: "pgbench is not installed (it comes with PostgreSQL)"))
        }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("roost-pgbench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let scriptFile = directory.appendingPathComponent("script.sql")
        try script.write(to: scriptFile, atomically: false, encoding: .utf8)

        // The password goes in pgbench's environment, not on its command line, where any local user could read it.
        // Unqualified names resolve in the schema, as on the engine's connections.
        var withoutPassword = configuration
        withoutPassword.password = nil
        let url = withoutPassword.url
        var environment = ProcessInfo.processInfo.environment
        environment["PGPASSWORD"] = configuration.password
        environment["PGOPTIONS"] = "-c search_path=\"\(configuration.schema)\""
        var arguments = ["-f", scriptFile.path, "-t", "\(transactionsPerClient)", "-n", "-c", "\(clients)", "-j", "2"]
        if prepared { arguments += ["-M", "prepared"] }
        for (name, value) in variables.sorted(by: { $0.key < $1.key }) { arguments += ["-D", "\(name)=\(value)"] }
        let output: String
        do {
            if let setup {
                let setupFile = directory.appendingPathComponent("setup.sql")
                try setup.write(to: setupFile, atomically: false, encoding: .utf8)
                _ = try await run(pgbench, ["-f", setupFile.path, "-t", "1", "-c", "1", "-n", url],
                                  environment: environment, in: directory)
            }
            // A count rather than a duration (-T): pgbench ends a duration on SIGALRM, which a child of this
            // process may inherit blocked.
            output = try await run(pgbench, arguments + [url], environment: environment, in: directory)
        } catch let failed as PgbenchFailed {
            return .failure(CommitCeilingUnavailable(reason: failed.message))
        }
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("tps = ") }),
              let rate = Double(line.dropFirst("tps = ".count).prefix { $0.isNumber || $0 == "." })
        else {
            return .failure(CommitCeilingUnavailable(reason: "pgbench printed no rate: \(output.suffix(300))"))
        }
        return .success(rate)
    }

    /// `pgbench` on the `PATH`, else in the newest `/usr/lib/postgresql/<version>/bin`.
    private static func locatePgbench() -> URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        var candidates = path.split(separator: ":").map { URL(fileURLWithPath: String($0)) }
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        candidates += versions.sorted { (Int($0) ?? 0) > (Int($1) ?? 0) }
            .map { URL(fileURLWithPath: "/usr/lib/postgresql/\($0)/bin") }
        return candidates.map { $0.appendingPathComponent("pgbench") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    /// Runs pgbench to its end, its output going to a file in `directory`, and returns what it printed; throws if
    /// it failed.
    private static func run(_ executable: URL, _ arguments: [String], environment: [String: String],
                            in directory: URL) async throws -> String {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = environment
        let output = directory.appendingPathComponent("pgbench-\(UUID()).out")
        guard FileManager.default.createFile(atPath: output.path, contents: nil) else {
            throw PgbenchFailed(message: "could not create \(output.path) for pgbench's output")
        }
        defer { try? FileManager.default.removeItem(at: output) }
        let handle = try FileHandle(forWritingTo: output)
        defer { try? handle.close() }
        process.standardOutput = handle
        process.standardError = handle
        let status = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int32, any Error>) in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch { continuation.resume(throwing: error) }
        }
        let printed = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        guard status == 0 else {
            // pgbench prints the first client's error early and a summary after it: the error says why.
            let errors = printed.split(separator: "\n").filter { $0.localizedCaseInsensitiveContains("error") }
            let reason = errors.isEmpty ? String(printed.suffix(300)) : errors.prefix(2).joined(separator: "; ")
            throw PgbenchFailed(message: "pgbench exited with status \(status): \(reason)")
        }
        return printed
    }
}

/// pgbench could not be run, or ended with an error.
private struct PgbenchFailed: Error {
    var message: String
}

/// Why the commit ceiling was not measured.
struct CommitCeilingUnavailable: Error {
    var reason: String
}
