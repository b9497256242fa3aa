import Synchronization

/// Callbacks registered under tokens and called with every value published: the engine's observers and the
/// store's notification handlers.
package final class Subscribers<Value: Sendable>: Sendable {
    private let table = Mutex<(next: Int, callbacks: [Int: @Sendable (Value) -> Void])>((0, [:]))

    package init() {}

    /// Registers a callback; it must return quickly.
    /// - Returns: A token for ``remove(_:)``.
    package func add(_ callback: @escaping @Sendable (Value) -> Void) -> Int {
        table.withLock { state in
            state.next += 1
            state.callbacks[state.next] = callback
            return state.next
        }
    }

    /// Removes a callback.
    package func remove(_ token: Int) {
        table.withLock { _ = $0.callbacks.removeValue(forKey: token) }
    }

    /// Calls every callback with `value`, outside the lock.
    package func publish(_ value: Value) {
        for callback in table.withLock({ Array($0.callbacks.values) }) { callback(value) }
    }
}
