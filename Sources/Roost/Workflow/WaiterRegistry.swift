import Synchronization

/// The per-process registry of tasks waiting on executions: suspended workflow runs and callers awaiting a result.
///
/// A resolve, a cancel or a completion in this process signals the execution's waiters directly; a notification or
/// the batched poll signals them for changes made elsewhere. Entries exist only while someone waits: the registry
/// holds nothing for executions that have finished.
public final class WaiterRegistry: Sendable {
    fileprivate let waiters = Mutex<[ExecutionKey: [ObjectIdentifier: Waiter]]>([:])

    /// Creates an empty registry.
    public init() {}

    /// Wakes every task waiting on the execution.
    /// - Returns: Whether anyone was waiting.
    @discardableResult
    public func signal(_ key: ExecutionKey) -> Bool {
        let targets = waiters.withLock { $0[key].map { Array($0.values) } ?? [] }
        for waiter in targets { waiter.signal() }
        return !targets.isEmpty
    }

    /// Hands a deferred's stored value to the execution's waiters and wakes them.
    func deliver(_ key: ExecutionKey, deferred: String, value: String) {
        let targets = waiters.withLock { $0[key].map { Array($0.values) } ?? [] }
        for waiter in targets { waiter.deliver(deferred: deferred, value: value) }
    }

    /// Wakes every registered waiter (after notifications may have been missed).
    public func signalAll() {
        let targets = waiters.withLock { $0.values.flatMap(\.values) }
        for waiter in targets { waiter.signal() }
    }

    /// The number of executions someone waits on.
    public var count: Int { waiters.withLock { $0.count } }

    /// Whether anyone waits on the execution.
    public func contains(_ key: ExecutionKey) -> Bool { waiters.withLock { $0[key] != nil } }

    /// Registers a waiter for the duration of `body`.
    func withWaiter<Result>(for key: ExecutionKey, _ body: (Waiter) async throws -> Result) async rethrows -> Result {
        let waiter = Waiter()
        let id = ObjectIdentifier(waiter)
        waiters.withLock { $0[key, default: [:]][id] = waiter }
        defer {
            waiters.withLock { table in
                table[key]?[id] = nil
                if table[key]?.isEmpty == true { table[key] = nil }
            }
        }
        return try await body(waiter)
    }
}

extension WaiterRegistry {
    /// Registers a waiter for the duration of `body` unless the execution already has one.
    /// - Returns: `nil` without running `body` if the execution already has a waiter.
    func withExclusiveWaiter<Result>(for key: ExecutionKey,
                                     _ body: (Waiter) async throws -> Result) async rethrows -> Result? {
        let waiter = Waiter()
        let id = ObjectIdentifier(waiter)
        let added = waiters.withLock { table -> Bool in
            guard table[key] == nil else { return false }
            table[key] = [id: waiter]
            return true
        }
        guard added else { return nil }
        defer { waiters.withLock { $0[key] = nil } }
        return try await body(waiter)
    }
}
