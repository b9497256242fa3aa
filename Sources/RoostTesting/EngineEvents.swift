import Roost
import Synchronization

/// Records a workflow engine's events from the moment it is made, and lets a test await one instead of sleeping.
public final class EngineEvents: Sendable {
    private struct Pending {
        var predicate: @Sendable (WorkflowEngine.Event) -> Bool
        var continuation: CheckedContinuation<WorkflowEngine.Event?, Never>
    }

    private struct State {
        var events: [WorkflowEngine.Event] = []
        var pending: [Int: Pending] = [:]
        var next = 0
    }

    private let state = Mutex(State())
    private let engine: WorkflowEngine
    private let token = Mutex(0)

    /// Starts recording an engine's events.
    public init(_ engine: WorkflowEngine) {
        self.engine = engine
        let id = engine.addObserver { [weak self] event in self?.record(event) }
        token.withLock { $0 = id }
    }

    private func record(_ event: WorkflowEngine.Event) {
        let ready = state.withLock { state -> [CheckedContinuation<WorkflowEngine.Event?, Never>] in
            state.events.append(event)
            let matched = state.pending.filter { $0.value.predicate(event) }
            for id in matched.keys { state.pending[id] = nil }
            return matched.values.map(\.continuation)
        }
        for continuation in ready { continuation.resume(returning: event) }
    }

    deinit {
        engine.removeObserver(token.withLock { $0 })
    }

    /// Every event recorded so far.
    public var events: [WorkflowEngine.Event] { state.withLock { $0.events } }

    /// Waits for the first recorded event that matches, including events recorded before the call.
    /// - Parameters:
    ///   - timeout: A guard against a hung test, not a timing assertion. Defaults to 60 seconds.
    ///   - predicate: Which event.
    /// - Returns: The event.
    /// - Throws: ``EventTimeout`` if none came in time.
    @discardableResult
    public func first(timeout: Duration = .seconds(60),
                      where predicate: @escaping @Sendable (WorkflowEngine.Event) -> Bool) async throws
        -> WorkflowEngine.Event {
        try await first(after: 0, timeout: timeout, where: predicate)
    }

    /// Waits for the first event that matches among those recorded from now on.
    /// - Parameters:
    ///   - timeout: A guard against a hung test, not a timing assertion. Defaults to 60 seconds.
    ///   - predicate: Which event.
    /// - Returns: The event.
    /// - Throws: ``EventTimeout`` if none came in time.
    @discardableResult
    public func next(timeout: Duration = .seconds(60),
                     where predicate: @escaping @Sendable (WorkflowEngine.Event) -> Bool) async throws
        -> WorkflowEngine.Event {
        try await first(after: state.withLock { $0.events.count }, timeout: timeout, where: predicate)
    }

    private func first(after skipped: Int, timeout: Duration,
                       where predicate: @escaping @Sendable (WorkflowEngine.Event) -> Bool) async throws
        -> WorkflowEngine.Event {
        let id = state.withLock { state -> Int in
            state.next += 1
            return state.next
        }
        let event = await withTaskGroup(of: WorkflowEngine.Event?.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let found = self.state.withLock { state -> WorkflowEngine.Event? in
                        if let event = state.events.dropFirst(skipped).first(where: predicate) { return event }
                        state.pending[id] = Pending(predicate: predicate, continuation: continuation)
                        return nil
                    }
                    if let found { continuation.resume(returning: found) }
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                let pending = self.state.withLock { $0.pending.removeValue(forKey: id) }
                pending?.continuation.resume(returning: nil)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            if first != nil {
                let pending = state.withLock { $0.pending.removeValue(forKey: id) }
                pending?.continuation.resume(returning: nil)
            }
            return first
        }
        guard let event else { throw EventTimeout(timeout: timeout) }
        return event
    }

    /// Waits until the execution's run has suspended (its waiting status is stored).
    public func suspended(_ key: ExecutionKey) async throws {
        try await first { $0 == .suspended(key) }
    }

    /// Waits until the execution's run has stopped or finished.
    public func ended(_ key: ExecutionKey) async throws {
        try await first { event in
            switch event {
            case .stopped(key), .finished(key, _): true
            default: false
            }
        }
    }
}

/// No matching engine event came within the timeout.
public struct EventTimeout: Error, CustomStringConvertible {
    /// The timeout.
    public var timeout: Duration
    public var description: String { "no matching engine event within \(timeout)" }
}
