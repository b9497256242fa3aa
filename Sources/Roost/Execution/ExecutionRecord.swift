import Foundation

/// The stored key of an execution: a number the store assigns, used in notifications and the waiter registry.
public typealias ExecutionKey = Int64

/// An execution as stored: identity, status, payloads and timestamps.
public struct ExecutionRecord: Sendable, Codable, Hashable {
    /// The store's key for the execution.
    public var key: ExecutionKey
    /// The workflow's registered name.
    public var workflow: String
    /// The execution id (the idempotency key).
    public var id: String
    /// The current status.
    public var status: ExecutionStatus
    /// The input, as JSON text.
    public var input: String
    /// The output as JSON text, once completed.
    public var output: String?
    /// The error, once failed or cancelled.
    public var error: FailureInfo?
    /// How many times a runner has started or resumed the execution.
    public var attempt: Int
    /// When the execution was accepted.
    public var createdAt: Date
    /// When the status or journal last changed.
    public var updatedAt: Date
    /// When it reached a terminal status.
    public var finishedAt: Date?

    /// Creates a record.
    public init(key: ExecutionKey, workflow: String, id: String, status: ExecutionStatus, input: String,
                output: String?, error: FailureInfo?, attempt: Int, createdAt: Date, updatedAt: Date,
                finishedAt: Date?) {
        self.key = key
        self.workflow = workflow
        self.id = id
        self.status = status
        self.input = input
        self.output = output
        self.error = error
        self.attempt = attempt
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.finishedAt = finishedAt
    }
}

/// Which executions to list.
public struct ExecutionFilter: Sendable, Hashable {
    /// Only executions of this workflow.
    public var workflow: String?
    /// Only executions in this status.
    public var status: ExecutionStatus?
    /// At most this many, newest first. Defaults to 100.
    public var limit: Int
    /// Only executions created before the one with this key: the next page after a page that ended with it.
    public var before: ExecutionKey?

    /// Creates a filter.
    public init(workflow: String? = nil, status: ExecutionStatus? = nil, limit: Int = 100,
                before: ExecutionKey? = nil) {
        self.workflow = workflow
        self.status = status
        self.limit = limit
        self.before = before
    }
}
