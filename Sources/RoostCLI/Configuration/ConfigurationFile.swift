import ArgumentParser
import Foundation
import Yams

/// A runner configuration file, checked before its values are read: YAML, a mapping of known keys to single
/// values.
struct ConfigurationFile: Sendable {
    /// The file's path, as given.
    let path: String
    /// Whether the file holds no settings (empty, or only comments).
    let isEmpty: Bool
    /// The cluster file it names with `cluster_config`, resolved against its own folder.
    let clusterFile: String?

    /// Reads and checks the file.
    /// - Parameter allowsClusterFile: whether the file may name a cluster file (only the file given to `--config`).
    /// - Throws: `ValidationError` naming the file, and the key when one is at fault.
    init(path: String, allowsClusterFile: Bool) throws {
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else {
            throw ValidationError("configuration file '\(path)' does not exist")
        }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ValidationError("configuration file '\(path)' cannot be read: \(error.localizedDescription)")
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw ValidationError("configuration file '\(path)' is not valid YAML: \(error)")
        }
        guard let root else {
            (isEmpty, clusterFile) = (true, nil)
            return
        }
        guard let mapping = root.mapping else {
            throw ValidationError("configuration file '\(path)' must be a mapping of keys to values, like 'lease_ttl: 10'")
        }
        let known = Set(RunnerConfiguration.keys.map(RunnerConfiguration.fileKey))
        var clusterFile: String?
        for (keyNode, value) in mapping {
            let key = keyNode.string ?? "\(keyNode)"
            guard value.scalar != nil else {
                throw ValidationError("configuration file '\(path)': '\(key)' must be a single value, not a list or a mapping")
            }
            if key == RunnerConfiguration.clusterFileKey {
                guard allowsClusterFile else {
                    throw ValidationError("configuration file '\(path)': '\(key)' may only appear in the file given to --config")
                }
                let named = value.string ?? ""
                let folder = NSString(string: path).deletingLastPathComponent
                clusterFile = named.hasPrefix("/") || folder.isEmpty ? named : "\(folder)/\(named)"
                continue
            }
            guard known.contains(key) else {
                throw ValidationError("configuration file '\(path)': unknown key '\(key)'; the keys are "
                    + ([RunnerConfiguration.clusterFileKey] + known.sorted()).joined(separator: ", "))
            }
        }
        isEmpty = mapping.count == 0
        self.clusterFile = clusterFile
    }
}
