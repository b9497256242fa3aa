import Foundation
import Synchronization

/// A one-slot wake-up signal a single task waits on.
///
/// The protocol that rules out lost wake-ups: ``reset()`` *before* reading or writing the state that decides whether
/// to wait, then ``wait(until:)``. A ``signal()`` that lands anywhere after the reset — even before the wait starts —
/// makes the wait return at once, and stays visible in ``isSignalled`` until the next reset.
final class Waiter: Sendable {
    private struct State {
        var signalled = false
        var continuation: CheckedContinuation<Void, Never>?
        /// Deferred values resolved in this process, handed over with the signal so the waiter need not read them,
        /// and when.
        var delivered: [String: (value: String, at: Date)] = [:]
        /// The execution as its run in this process finished it, handed to callers awaiting its result.
        var finished: ExecutionRecord?
    }

    private let state = Mutex(State())

    init() {}

    /// Forgets earlier signals. Call before checking the state a wait depends on.
    func reset() {
        state.withLock { $0.signalled = false }
    }

    /// Whether a signal came since the last reset.
    var isSignalled: Bool { state.withLock { $0.signalled } }

    /// Hands over a deferred's stored value and wakes the waiting task.
    func deliver(deferred: String, value: String) {
        let now = Date()
        state.withLock { $0.delivered[deferred] = (value, now) }
        signal()
    }

    /// Takes a value handed over by ``deliver(deferred:value:)``, with the moment it was handed over.
    func takeDelivered(_ deferred: String) -> (value: String, at: Date)? {
        state.withLock { $0.delivered.removeValue(forKey: deferred) }
    }

    /// Hands over the execution as its run finished it and wakes the waiting task.
    func deliver(finished record: ExecutionRecord) {
        state.withLock { $0.finished = record }
        signal()
    }

    /// The execution handed over by ``deliver(finished:)``, if its run finished in this process.
    var finished: ExecutionRecord? { state.withLock { $0.finished } }

    /// Wakes the waiting task, or the next wait if none is waiting.
    func signal() {
        let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.signalled = true
            defer { state.continuation = nil }
            return state.continuation
        }
        continuation?.resume()
    }

    /// Suspends until a signal since the last reset, the deadline, or the task's cancellation.
    /// - Returns: Whether a signal came since the last reset (``isSignalled``).
    @discardableResult
    func wait(until deadline: ContinuousClock.Instant?) async -> Bool {
        if let deadline {
            if deadline > .now {
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { try? await Task.sleep(until: deadline, tolerance: .zero, clock: .continuous) }
                    group.addTask { await self.waitForSignal() }
                    await group.next()
                    group.cancelAll()
                }
            }
        } else {
            await waitForSignal()
        }
        return isSignalled
    }

    private func waitForSignal() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.signalled || Task.isCancelled { return true }
                    state.continuation = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            // Ends the wait without counting as a signal.
            let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state.continuation = nil }
                return state.continuation
            }
            continuation?.resume()
        }
    }
}
