/// Identity of one attempt of an activity.
public struct ActivityContext: Sendable, Hashable {
    /// The workflow's name.
    public var workflow: String
    /// The execution id.
    public var executionId: String
    /// The activity's name.
    public var activity: String
    /// The activity's position in the execution's durable calls.
    public var position: Int
    /// The attempt number, from 1.
    public var attempt: Int

    /// A key that is the same for every attempt of this activity in this execution: pass it to external systems
    /// to make their effects idempotent.
    public var idempotencyKey: String { "\(workflow)/\(executionId)/\(position)/\(activity)" }
}

/// The transaction an activity's body runs in: its writes commit together with the activity's journal entry, or
/// not at all.
///
/// `RoostPostgres` adds `query(_:)` and `connection` for running SQL in it.
public struct ActivityTransaction: Sendable {
    /// Which activity attempt this transaction belongs to.
    public let context: ActivityContext
    /// The storage driver's transaction handle.
    package let handle: any Sendable

    /// Creates a transaction for a storage driver.
    package init(context: ActivityContext, handle: any Sendable) {
        self.context = context
        self.handle = handle
    }

    /// A key that is the same for every attempt of this activity in this execution.
    public var idempotencyKey: String { context.idempotencyKey }
    /// The attempt number, from 1.
    public var attempt: Int { context.attempt }
}
