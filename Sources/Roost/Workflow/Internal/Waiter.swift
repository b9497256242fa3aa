import Synchronization

/// A one-slot wake-up signal a single task waits on.
///
/// The protocol that rules out lost wake-ups: ``reset()`` *before* reading or writing the state that decides whether
/// to wait, then ``wait(until:)``. A ``signal()`` that lands anywhere after the reset — even before the wait starts —
/// makes the wait return at once.
final class Waiter: Sendable {
    private struct State {
        var signalled = false
        var continuation: CheckedContinuation<Void, Never>?
        /// Deferred values resolved in this process, handed over with the signal so the waiter need not read them.
        var delivered: [String: String] = [:]
    }

    private let state = Mutex(State())

    init() {}

    /// Forgets earlier signals. Call before checking the state a wait depends on.
    func reset() {
        state.withLock { $0.signalled = false }
    }

    /// Hands over a deferred's stored value and wakes the waiting task.
    func deliver(deferred: String, value: String) {
        state.withLock { $0.delivered[deferred] = value }
        signal()
    }

    /// Takes a value handed over by ``deliver(deferred:value:)``.
    func takeDelivered(_ deferred: String) -> String? {
        state.withLock { $0.delivered.removeValue(forKey: deferred) }
    }

    /// Wakes the waiting task, or the next wait if none is waiting.
    func signal() {
        let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let continuation = state.continuation else {
                state.signalled = true
                return nil
            }
            state.continuation = nil
            return continuation
        }
        continuation?.resume()
    }

    /// Suspends until a signal since the last reset, the deadline, or the task's cancellation.
    func wait(until deadline: ContinuousClock.Instant?) async {
        guard let deadline else { return await waitForSignal() }
        guard deadline > .now else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(until: deadline, tolerance: .zero, clock: .continuous) }
            group.addTask { await self.waitForSignal() }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForSignal() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.signalled { return true }
                    state.continuation = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            self.signal()
        }
    }
}
