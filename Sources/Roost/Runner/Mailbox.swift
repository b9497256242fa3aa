import DequeModule
import Synchronization

/// An entity instance's mailbox: runs its calls one at a time (or up to `concurrency` at once) in arrival order,
/// with at most `capacity` calls waiting. Swift actors are reentrant, so this, not actor isolation, is what keeps
/// a call that awaits from interleaving with the next.
final class Mailbox: Sendable {
    private struct State {
        var running = 0
        var waiting: Deque<CheckedContinuation<Void, any Error>> = []
        var closed = false
        /// Who awaits the running calls' end after a close, by a number of their own.
        var drained: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextDrain = 0
        var lastActive = ContinuousClock.now
    }

    private let state = Mutex(State())
    private let concurrency: Int
    private let capacity: Int
    private let address: EntityAddress

    init(address: EntityAddress, concurrency: Int, capacity: Int) {
        self.address = address
        self.concurrency = concurrency
        self.capacity = capacity
    }

    /// Runs `body` when the mailbox's turn comes.
    /// - Throws: ``EntityCallError`` `mailbox_full` if `capacity` calls already wait, ``MailboxClosed`` if the
    ///   instance is stopping, or what `body` throws.
    func run<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await acquire()
        defer { release() }
        return try await body()
    }

    /// Whether a call is waiting for its turn.
    var hasWaiting: Bool {
        state.withLock { !$0.waiting.isEmpty }
    }

    /// Whether nothing ran or waited since `instant`.
    func idle(since instant: ContinuousClock.Instant) -> Bool {
        state.withLock { $0.running == 0 && $0.waiting.isEmpty && $0.lastActive < instant }
    }

    /// Refuses new calls, fails waiting ones with ``MailboxClosed``, and returns once running calls have ended, or at
    /// once when the task is cancelled.
    func close() async {
        let waiting = state.withLock { state in
            state.closed = true
            defer { state.waiting = [] }
            return Array(state.waiting)
        }
        for continuation in waiting { continuation.resume(throwing: MailboxClosed()) }
        let id = state.withLock { state in
            state.nextDrain += 1
            return state.nextDrain
        }
        // Cancelling the close stops the wait, not the calls: a shard released under them fences their writes.
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let done = state.withLock { state in
                    if state.running == 0 || Task.isCancelled { return true }
                    state.drained[id] = continuation
                    return false
                }
                if done { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.drained.removeValue(forKey: id) }?.resume()
        }
    }

    private func acquire() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let outcome = state.withLock { state -> Result<Bool, any Error> in
                if state.closed { return .failure(MailboxClosed()) }
                if state.running < concurrency {
                    state.running += 1
                    return .success(true)
                }
                guard state.waiting.count < capacity else {
                    RoostMetrics.mailboxRejected()
                    return .failure(EntityCallError(EntityCallError.mailboxFull,
                                                    "\(address) has \(capacity) calls waiting; try again later"))
                }
                state.waiting.append(continuation)
                RoostMetrics.mailboxQueued(depth: state.waiting.count)
                return .success(false)
            }
            switch outcome {
            case .success(true): continuation.resume()
            case .success(false): break
            case .failure(let error): continuation.resume(throwing: error)
            }
        }
    }

    private func release() {
        let (next, drained) = state.withLock { state in
            state.lastActive = .now
            if let next = state.waiting.popFirst() {
                return (Optional(next), [CheckedContinuation<Void, Never>]())
            }
            state.running -= 1
            if state.running == 0, state.closed {
                defer { state.drained = [:] }
                return (nil, Array(state.drained.values))
            }
            return (nil, [])
        }
        next?.resume()
        for continuation in drained { continuation.resume() }
    }
}

/// The instance is stopping (passivated, or its shard is leaving this runner).
struct MailboxClosed: Error {}
