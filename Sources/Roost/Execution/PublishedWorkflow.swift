import Foundation

/// A workflow a runner of the cluster hosts, as runners publish them when they join: what a process without the
/// workflow's type (the plain `roost` binary, a client without a registry) may start, and what the deferreds it
/// waits on hold.
public struct PublishedWorkflow: Sendable, Codable, Hashable {
    /// The workflow's name.
    public var name: String
    /// The value type of each deferred it declares, by the deferred's name.
    public var deferreds: [String: String]
    /// The runner that published it last.
    public var publishedBy: String
    /// When that runner published it (the database's clock); `nil` before it is stored.
    public var publishedAt: Date?

    /// A published workflow.
    public init(name: String, deferreds: [String: String], publishedBy: String, publishedAt: Date? = nil) {
        self.name = name
        self.deferreds = deferreds
        self.publishedBy = publishedBy
        self.publishedAt = publishedAt
    }
}

extension WorkflowRegistry {
    /// The registered workflows as a runner at `runner` publishes them.
    public func published(by runner: String) -> [PublishedWorkflow] {
        names.compactMap { name in
            entries[name].map { entry in
                PublishedWorkflow(name: name,
                                  deferreds: Dictionary(entry.deferreds.map { ($0.name, $0.valueTypeName) }) { $1 },
                                  publishedBy: runner)
            }
        }
    }

    /// Declares a workflow that runners of the cluster host but this process has no type for: starts of it are
    /// accepted with any JSON input (the workflow checks it when its run reads it), resolves of its deferreds with
    /// any JSON value. Declared names are not among ``names``: an engine never claims or runs them.
    public mutating func declare(_ workflow: PublishedWorkflow) {
        declared.insert(workflow.name)
    }
}
