import ArgumentParser
import Foundation
import Logging
import Roost
import RoostClient
import RoostPostgres

/// Options every command that talks to the database shares.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("database-url"),
            help: "PostgreSQL URL (default: $ROOST_DATABASE_URL, else $POSTGRES_HOST and friends).")
    var databaseURL: String?

    @Option(help: "Schema holding Roost's tables (default: $ROOST_SCHEMA, else 'roost').")
    var schema: String?

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @Option(name: .customLong("runner"),
            help: "Talk to this runner's HTTP API (like http://127.0.0.1:8081) instead of the database.")
    var runnerURL: String?

    @Option(help: "The runner's API token, with --runner (default: $ROOST_API_TOKEN).")
    var token: String?

    func storageConfiguration(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> StorageConfiguration {
        var environment = environment
        if let schema { environment["ROOST_SCHEMA"] = schema }
        return try StorageConfiguration.fromEnvironment(url: databaseURL, environment: environment)
    }

    /// The configuration for a benchmark: its own schema unless one is given.
    func benchConfiguration(schema benchSchema: String) throws -> StorageConfiguration {
        var configuration = try storageConfiguration()
        if ProcessInfo.processInfo.environment["ROOST_SCHEMA"] == nil, schema == nil {
            configuration.schema = benchSchema
        }
        return configuration
    }

    /// Runs `body` with the executions of the database, or of the runner named by `--runner`.
    func withExecutions<Result: Sendable>(_ body: (any ExecutionsAPI) async throws -> Result) async throws -> Result {
        if let runner = try runnerClient() { return try await body(runner) }
        return try await withClient { try await body($0) }
    }

    /// The client of the runner named by `--runner`, with `--token` or `ROOST_API_TOKEN`; `nil` without `--runner`.
    func runnerClient() throws -> RunnerAPIClient? {
        guard let runnerURL else { return nil }
        guard let url = URL(string: runnerURL), url.scheme == "http" || url.scheme == "https", url.host != nil else {
            throw ValidationError("--runner '\(runnerURL)' must be a URL like http://127.0.0.1:8081")
        }
        return RunnerAPIClient(base: url, token: token ?? ProcessInfo.processInfo.environment["ROOST_API_TOKEN"])
    }

    /// Runs `body` with a client that checks names and payloads against the application's workflows.
    func withClient<Result: Sendable>(_ body: (RoostClient) async throws -> Result) async throws -> Result {
        let configuration = try storageConfiguration()
        return try await withRoostClient(configuration, registry: RoostCommand.workflows,
                                         maximumPayloadBytes: try Settings.maximumPayloadBytes(),
                                         logger: Settings.quietLogger, body)
    }
}

/// Settings read from the environment.
enum Settings {
    static var quietLogger: Logger {
        var logger = Logger(label: "roost")
        logger.logLevel = .error
        return logger
    }

    static func maximumPayloadBytes(
        _ environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> Int {
        guard let text = environment["ROOST_MAX_PAYLOAD_BYTES"] else { return 1 << 20 }
        guard let value = Int(text), value > 0 else {
            throw ValidationError("ROOST_MAX_PAYLOAD_BYTES '\(text)' must be a positive number of bytes")
        }
        return value
    }

    /// Runs a check, turning a ``WorkflowError`` into a `ValidationError` that names the setting.
    @discardableResult
    static func checked<Value>(_ setting: String, _ body: () throws -> Value) throws -> Value {
        do {
            return try body()
        } catch let error as WorkflowError {
            throw ValidationError("\(setting): \(error.message)")
        }
    }
}

/// Runs a command body, printing any error as one line on stderr and exiting non-zero.
func reportingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as ExitCode {
        throw error
    } catch {
        FileHandle.standardError.write(Data("roost: \(describe(error))\n".utf8))
        throw ExitCode(1)
    }
}

/// One line for an error: its code and message when it has them.
func describe(_ error: any Error) -> String {
    switch error {
    case let error as WorkflowError: return "\(error.code): \(error.message)"
    case let error as StorageError: return "\(error.code): \(error.message)"
    case let error as ValidationError: return "invalid_configuration: \(error.message)"
    default:
        let text = String(reflecting: error).replacingOccurrences(of: "\n", with: " ")
        return "error: \(text)"
    }
}
