import Synchronization

/// Runs many callers' independent writes as one statement, so that under load they share a round trip, a
/// transaction and a WAL flush; a caller alone runs its write at once, with nothing added.
///
/// The work runs on the callers' own tasks. A caller finding no batch in flight leads: it runs its own write with
/// everything queued meanwhile (up to `maximum`), hands each queued caller its outcome, then hands the lead to the
/// next queued caller, so that no caller waits behind more than the batch in flight and its own.
final class StatementBatcher<Item: Sendable, Outcome: Sendable>: Sendable {
    /// What a queued caller is resumed with: its outcome, or the lead.
    private enum Turn: Sendable {
        case done(Result<Outcome, any Error>)
        case lead
    }

    private struct Queued: Sendable {
        var item: Item
        var continuation: CheckedContinuation<Turn, Never>
    }

    private struct State: Sendable {
        var queue: [Queued] = []
        var leading = false
    }

    private let state = Mutex(State())
    private let maximum: Int
    private let run: @Sendable ([Item]) async -> [Result<Outcome, any Error>]

    /// Creates a batcher.
    /// - Parameters:
    ///   - maximum: The most items one batch takes.
    ///   - run: Runs a batch and returns each item's outcome, in the items' order.
    init(maximum: Int, run: @escaping @Sendable ([Item]) async -> [Result<Outcome, any Error>]) {
        self.maximum = maximum
        self.run = run
    }

    /// How many callers wait for the batch in flight to end.
    var queued: Int { state.withLock { $0.queue.count } }

    /// Runs `item` in the next batch and returns its outcome.
    func submit(_ item: Item) async throws -> Outcome {
        let leadsNow = state.withLock { state -> Bool in
            if state.leading { return false }
            state.leading = true
            return true
        }
        if leadsNow { return try await lead(with: item) }
        let turn = await withCheckedContinuation { (continuation: CheckedContinuation<Turn, Never>) in
            let leadsAfterAll = state.withLock { state -> Bool in
                // The leader may have handed over and left between the first check and now.
                if !state.leading {
                    state.leading = true
                    return true
                }
                state.queue.append(Queued(item: item, continuation: continuation))
                return false
            }
            if leadsAfterAll { continuation.resume(returning: .lead) }
        }
        switch turn {
        case .done(let outcome): return try outcome.get()
        case .lead: return try await lead(with: item)
        }
    }

    private func lead(with item: Item) async throws -> Outcome {
        let followers = state.withLock { state -> [Queued] in
            let taken = Array(state.queue.prefix(maximum - 1))
            state.queue.removeFirst(taken.count)
            return taken
        }
        let outcomes = await run([item] + followers.map(\.item))
        precondition(outcomes.count == followers.count + 1, "a batch must return one outcome per item")
        for (follower, outcome) in zip(followers, outcomes.dropFirst()) {
            follower.continuation.resume(returning: .done(outcome))
        }
        let next = state.withLock { state -> Queued? in
            if state.queue.isEmpty {
                state.leading = false
                return nil
            }
            return state.queue.removeFirst()
        }
        next?.continuation.resume(returning: .lead)
        return try outcomes[0].get()
    }
}
