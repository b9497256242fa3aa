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
        signal(key) {}
    }

    /// Wakes every task waiting on the execution, or runs `otherwise` if none is — atomically with respect to
    /// ``withExclusiveWaiter(for:_:release:)``'s release.
    /// - Returns: Whether anyone was waiting.
    @discardableResult
    func signal(_ key: ExecutionKey, otherwise: () -> Void) -> Bool {
        waiters.withLock { table in
            guard let targets = table[key] else {
                otherwise()
                return false
            }
            for waiter in targets.values { waiter.signal() }
            return true
        }
    }

    /// Hands a deferred's stored value to the execution's waiters and wakes them.
    func deliver(_ key: ExecutionKey, deferred: String, value: String) {
        let targets = waiters.withLock { $0[key].map { Array($0.values) } ?? [] }
        for waiter in targets { waiter.deliver(deferred: deferred, value: value) }
    }

    /// Hands a run's end to the callers awaiting the execution's result and wakes them: the finished execution if
    /// the run finished it, else only the signal (the run stopped or parked; they read the store).
    func runEnded(_ key: ExecutionKey, finished record: ExecutionRecord?) {
        let targets = waiters.withLock { $0[key].map { Array($0.values) } ?? [] }
        for waiter in targets {
            if let record { waiter.deliver(finished: record) } else { waiter.signal() }
        }
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
    /// - Parameters:
    ///   - key: The execution.
    ///   - body: The work, given the waiter.
    ///   - release: Runs with the waiter and the body's result while the waiter is removed, atomically with
    ///     respect to ``signal(_:otherwise:)``.
    /// - Returns: `nil` without running `body` if the execution already has a waiter.
    func withExclusiveWaiter<Result>(for key: ExecutionKey, _ body: (Waiter) async -> Result,
                                     release: (Waiter, Result) -> Void) async -> Result? {
        let waiter = Waiter()
        let added = waiters.withLock { table -> Bool in
            guard table[key] == nil else { return false }
            table[key] = [ObjectIdentifier(waiter): waiter]
            return true
        }
        guard added else { return nil }
        let result = await body(waiter)
        waiters.withLock { table in
            release(waiter, result)
            table[key] = nil
        }
        return result
    }
}
