
extension WorkflowEngine {
    /// Something that happened to an execution hosted by this engine, for tests and diagnostics.
    public enum Event: Sendable, Hashable {
        /// The engine has listed the pending and running executions it recovers and is taking work.
        case started
        /// The execution's run suspended on a sleep, a deferred or a retry back-off; its status is stored.
        case suspended(ExecutionKey)
        /// The execution's run stored its outcome.
        case finished(ExecutionKey, ExecutionStatus)
        /// The execution's run stopped without storing an outcome (cancelled, shut down, database failure).
        case stopped(ExecutionKey)
        /// The execution's run was parked while it waited: no task holds it until a wake-up or its due time.
        case parked(ExecutionKey)
        /// The batched safety-net poll for wake-ups ran (whether or not it found any).
        case polled
        /// Shards are leaving and the engine waits for this many runs on them to end before it lets them go.
        case awaitingRuns(Int)
        /// The reconciliation of the engine's shards ran: it launched these executions, which no run in memory was
        /// working on.
        case reconciled([ExecutionKey])
    }

    /// Calls `observer` for every event from now on, until ``removeObserver(_:)``; it must return quickly.
    /// - Returns: A token for ``removeObserver(_:)``.
    public func addObserver(_ observer: @escaping @Sendable (Event) -> Void) -> Int {
        observers.add(observer)
    }

    /// Stops calling an observer.
    public func removeObserver(_ token: Int) {
        observers.remove(token)
    }

    func emit(_ event: Event) {
        observers.publish(event)
    }
}
