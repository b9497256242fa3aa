import Synchronization

/// The calls in flight to other runners, by the runner each waits on, so that a call is given up when the cluster
/// sees its runner leave or die, rather than when its deadline passes. A runner killed while a call was in flight
/// may leave its connection looking open; the membership, kept through PostgreSQL, does not wait for it.
final class DepartureWatch: Sendable {
    private struct State {
        var next = 0
        var watching: [Int: (runner: String, waiter: Waiter)] = [:]
    }

    private let state = Mutex(State())

    /// Runs `body` with a waiter that is signalled when `runner` is no longer among the live runners.
    func watching<Result>(_ runner: String, _ body: (Waiter) async throws -> Result) async rethrows -> Result {
        let waiter = Waiter()
        let id = state.withLock { state in
            state.next += 1
            state.watching[state.next] = (runner, waiter)
            return state.next
        }
        defer { _ = state.withLock { $0.watching.removeValue(forKey: id) } }
        return try await body(waiter)
    }

    /// The live runners now: signals the calls waiting on any other runner.
    func observed(live runners: Set<String>) {
        let gone = state.withLock { state in
            state.watching.values.filter { !runners.contains($0.runner) }.map(\.waiter)
        }
        for waiter in gone { waiter.signal() }
    }
}
