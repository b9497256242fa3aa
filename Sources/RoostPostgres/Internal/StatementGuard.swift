import Logging
import PostgresNIO
import Synchronization

/// Fails a statement whose connection closes under it.
///
/// postgres-nio 1.33.2 drops a statement written to a connection whose channel has just closed, and its caller
/// then waits for ever; checking `isClosed` first (``PostgresConnection/ensureOpen()``) leaves a window. Every
/// statement of the workflow and cluster stores runs through ``run(on:_:)``: it runs in a task of its own, and
/// when the connection's close future completes first, the caller gets `connection_closed` — a storage failure
/// the engine replays and the shard manager retries — while the lost statement's task is abandoned.
final class StatementGuard: Sendable {
    private struct State {
        var next = 0
        var inFlight: [ObjectIdentifier: [Int: @Sendable (any Error) -> Void]] = [:]
    }

    /// The process's guard: connections of every pool register here.
    static let shared = StatementGuard()

    private let state = Mutex(State())

    /// Runs `operation` on `connection` unless the connection closes first.
    func run<T: Sendable>(on connection: PostgresConnection,
                          _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        try connection.ensureOpen()
        let outcome = Outcome<T>()
        let id = ObjectIdentifier(connection)
        let (token, watch) = state.withLock { state -> (Int, Bool) in
            state.next += 1
            let watch = state.inFlight[id] == nil
            state.inFlight[id, default: [:]][state.next] = { outcome.finish(.failure($0)) }
            return (state.next, watch)
        }
        defer { state.withLock { _ = $0.inFlight[id]?.removeValue(forKey: token) } }
        if watch {
            connection.closeFuture.whenComplete { [weak self] _ in self?.closed(id) }
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                outcome.start(continuation) {
                    Task {
                        do {
                            outcome.finish(.success(try await operation()))
                        } catch {
                            outcome.finish(.failure(error))
                        }
                    }
                }
            }
        } onCancel: {
            outcome.cancel()
        }
    }

    private func closed(_ id: ObjectIdentifier) {
        let failures = state.withLock { $0.inFlight.removeValue(forKey: id) ?? [:] }
        let error = StorageError(.connectionClosed, "the database connection closed (the server may be restarting)")
        for fail in failures.values { fail(error) }
    }
}

/// One guarded statement's result, delivered once to its caller.
private final class Outcome<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var result: Result<T, any Error>?
        var task: Task<Void, Never>?
        var cancelled = false
    }

    private let state = Mutex(State())

    func start(_ continuation: CheckedContinuation<T, any Error>, task makeTask: () -> Task<Void, Never>) {
        let early = state.withLock { state -> Result<T, any Error>? in
            if let result = state.result { return result }
            state.continuation = continuation
            return nil
        }
        if let early {
            continuation.resume(with: early)
            return
        }
        let task = makeTask()
        let cancel = state.withLock { state in
            state.task = task
            return state.cancelled
        }
        if cancel { task.cancel() }
    }

    func finish(_ result: Result<T, any Error>) {
        let continuation = state.withLock { state -> CheckedContinuation<T, any Error>? in
            guard state.result == nil else { return nil }
            state.result = result
            defer { state.continuation = nil }
            return state.continuation
        }
        continuation?.resume(with: result)
    }

    func cancel() {
        state.withLock { state in
            state.cancelled = true
            return state.task
        }?.cancel()
    }
}
