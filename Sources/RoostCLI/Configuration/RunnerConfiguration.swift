import ArgumentParser
import Configuration
import Foundation
import RoostPostgres
import SystemPackage

/// The settings of `roost runner`, read through swift-configuration: the environment over the file given to
/// `--config`, over the cluster file that file names with `cluster_config`.
///
/// Every setting has one name in files and one in the environment: `lease_ttl` is `ROOST_LEASE_TTL`. The values
/// are kept by environment name, so every command checks them the same way whatever their source.
struct RunnerConfiguration: Sendable {
    /// Every setting `roost runner` reads, by its environment name. The README lists each with its meaning.
    static let keys: [String] = [
        "ROOST_DATABASE_URL", "ROOST_SCHEMA", "ROOST_DATABASE_POOL_SIZE", "ROOST_NOTIFICATIONS",
        "ROOST_POLL_INTERVAL_MS", "ROOST_PARK_AFTER_MS", "ROOST_MAX_PAYLOAD_BYTES", "ROOST_LOG_LEVEL",
        "ROOST_RUNNER_ADDRESS", "ROOST_LEASE_TTL", "ROOST_REBALANCE_INTERVAL_MS", "ROOST_SHARDS_PER_GROUP",
        "ROOST_SHARD_GROUPS", "ROOST_CALL_TIMEOUT_MS", "ROOST_MAILBOX_CAPACITY", "ROOST_ENTITY_IDLE_MS",
        "ROOST_REDELIVERY_INTERVAL_MS", "ROOST_MESSAGE_RETENTION_S", "ROOST_RETENTION_S",
        "ROOST_MAINTENANCE_INTERVAL_MS", "ROOST_HTTP_ADDRESS", "ROOST_API_TOKEN",
        "ROOST_CLUSTER_SECRET", "ROOST_CLUSTER_INSECURE", "ROOST_CLUSTER_TLS_CERTIFICATE", "ROOST_CLUSTER_TLS_KEY",
        "ROOST_CLUSTER_TLS_CA",
        "ROOST_EXAMPLE_SCHEDULES",
    ]

    /// The key in the file given to `--config` that names the cluster's shared file, relative to the first file.
    static let clusterFileKey = "cluster_config"

    /// A setting's name in configuration files: its environment name without `ROOST_`, in lower case.
    static func fileKey(_ key: String) -> String {
        String(key.dropFirst("ROOST_".count)).lowercased()
    }

    /// The process environment, with each setting it leaves unset filled from the files.
    let values: [String: String]
    /// Where each setting in ``values`` came from: `environment` or a file's path.
    let sources: [String: String]
    /// The files read, the runner's first.
    let files: [String]

    /// Reads the files (none when `file` is nil) and layers the environment over them.
    /// - Throws: `ValidationError` naming the file and the key: an unreadable file, invalid YAML, an unknown key,
    ///   or a value that is a list or a mapping.
    init(file: String?, environment: [String: String]) async throws {
        var checked: [ConfigurationFile] = []
        if let file {
            checked.append(try ConfigurationFile(path: file, allowsClusterFile: true))
            if let clusterFile = checked[0].clusterFile {
                do {
                    checked.append(try ConfigurationFile(path: clusterFile, allowsClusterFile: false))
                } catch let error as ValidationError {
                    throw ValidationError("\(error.message) (named by \(Self.clusterFileKey) in \(file))")
                }
            }
        }
        var providers: [any ConfigProvider] = [
            EnvironmentVariablesProvider(environmentVariables: environment).prefixKeys(with: "roost"),
        ]
        var fileReaders: [(path: String, reader: ConfigReader)] = []
        for file in checked where !file.isEmpty {
            let provider = try await Self.provider(file.path)
            providers.append(provider)
            fileReaders.append((file.path, ConfigReader(provider: provider)))
        }
        let layered = ConfigReader(providers: providers)

        var values = environment
        var sources: [String: String] = [:]
        for key in Self.keys {
            guard let value = layered.string(forKey: ConfigKey(Self.fileKey(key))) else { continue }
            values[key] = value
            sources[key] = environment[key] != nil
                ? "environment"
                : fileReaders.first { $0.reader.string(forKey: ConfigKey(Self.fileKey(key))) != nil }?.path
        }
        self.values = values
        self.sources = sources
        self.files = checked.map(\.path)
    }

    /// Runs a check of these settings; an error about a setting read from a file gets the file's key and path.
    func explaining<Value>(_ check: () throws -> Value) throws -> Value {
        do {
            return try check()
        } catch let error as ValidationError {
            throw ValidationError(explained(error.message))
        } catch let error as StorageError {
            throw StorageError(error.code, explained(error.message))
        }
    }

    /// A message that begins with a setting's environment name, with the file that setting came from.
    func explained(_ message: String) -> String {
        guard let key = Self.keys.first(where: { message.hasPrefix($0) }),
              let source = sources[key], source != "environment" else { return message }
        return "\(message) (\(Self.fileKey(key)) in \(source))"
    }

    private static func provider(_ path: String) async throws -> FileProvider<YAMLSnapshot> {
        do {
            return try await FileProvider<YAMLSnapshot>(filePath: FilePath(path))
        } catch {
            throw ValidationError("configuration file '\(path)' cannot be read: \(error)")
        }
    }
}
