import DequeModule
import Synchronization

/// Bounds how many runs replay at once: a run launched by recovery, a wake-up or a due time holds a permit from
/// before its claim until its replay has caught up with its journal (its first call that is not journaled, its
/// first wait, or its end), so that a burst (a shard full of executions acquired, a
/// backlog of due timers after a restart) claims and replays a few at a time and never starves the runs already
/// going, the runner's other statements, or its memory.
final class ReplayPermits: Sendable {
    private struct State {
        var available: Int
        var waiting: [Int: CheckedContinuation<Void, Never>] = [:]
        var order = Deque<Int>()
        var granted: Set<Int> = []
        var nextTicket = 0
    }

    private let state: Mutex<State>

    /// Creates permits for `limit` replays at a time.
    init(limit: Int) {
        state = Mutex(State(available: max(1, limit)))
    }

    /// Waits for a permit.
    /// - Returns: The permit, to release once; `nil` if the task was cancelled before one was handed to it.
    func acquire() async -> Permit? {
        let ticket = state.withLock { state -> Int? in
            guard state.available == 0 else {
                state.available -= 1
                return nil
            }
            state.nextTicket += 1
            return state.nextTicket
        }
        guard let ticket else { return Permit(owner: self) }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    // A cancellation that came first found nothing to end.
                    if Task.isCancelled { return true }
                    // A release between the ticket and now found no one waiting and left its permit.
                    if state.available > 0 {
                        state.available -= 1
                        state.granted.insert(ticket)
                        return true
                    }
                    state.waiting[ticket] = continuation
                    state.order.append(ticket)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            // Its place in the order is skipped by the next release.
            let continuation = state.withLock { $0.waiting.removeValue(forKey: ticket) }
            continuation?.resume()
        }
        // A cancelled wait may still have been handed a permit by a release just before: it is the caller's then.
        let granted = state.withLock { $0.granted.remove(ticket) != nil }
        return granted ? Permit(owner: self) : nil
    }

    /// Hands the permit to the longest waiter, or makes it available.
    fileprivate func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            while let ticket = state.order.popFirst() {
                if let continuation = state.waiting.removeValue(forKey: ticket) {
                    state.granted.insert(ticket)
                    return continuation
                }
            }
            state.available += 1
            return nil
        }
        next?.resume()
    }

    /// One replay's permit; releasing it more than once releases it once.
    final class Permit: Sendable {
        private let owner: ReplayPermits
        private let released = Mutex(false)

        fileprivate init(owner: ReplayPermits) {
            self.owner = owner
        }

        /// Gives the permit back.
        func release() {
            let first = released.withLock { released -> Bool in
                defer { released = true }
                return !released
            }
            if first { owner.release() }
        }
    }
}
