import Foundation
import Roost
@testable import RoostPostgres
import RoostTesting
import Synchronization
import Testing

/// A batch runner that records each batch and holds the first one until released.
private final class HeldBatches: Sendable {
    let batches = Mutex<[[Int]]>([])
    /// Yields once the first batch is in flight.
    let firstInFlight: AsyncStream<Void>
    private let inFlight: AsyncStream<Void>.Continuation
    private let gate = Mutex<CheckedContinuation<Void, Never>?>(nil)
    private let released = Mutex(false)

    init() {
        (firstInFlight, inFlight) = AsyncStream.makeStream(of: Void.self)
    }

    func run(_ items: [Int]) async -> [Result<Int, any Error>] {
        let first = batches.withLock { batches in
            batches.append(items)
            return batches.count == 1
        }
        if first {
            inFlight.yield()
            await withCheckedContinuation { continuation in
                let open = released.withLock { $0 }
                if open { continuation.resume() } else { gate.withLock { $0 = continuation } }
            }
        }
        return items.map { .success($0 * 10) }
    }

    func release() {
        released.withLock { $0 = true }
        gate.withLock { $0 }?.resume()
    }
}

@Suite("Statement batches")
struct StatementBatcherTests {
    @Test("a write alone runs at once in a batch of its own")
    func aloneRunsAtOnce() async throws {
        let batcher = StatementBatcher<Int, Int>(maximum: 8) { items in items.map { .success($0 + 1) } }
        #expect(try await batcher.submit(41) == 42)
        #expect(batcher.queued == 0)
    }

    @Test("writes arriving while a batch is in flight share the next batch, and each caller gets its own outcome")
    func queuedWritesShareABatch() async throws {
        let held = HeldBatches()
        let batcher = StatementBatcher<Int, Int>(maximum: 8) { await held.run($0) }
        try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            group.addTask { (1, try await batcher.submit(1)) }
            // Once the first batch is in flight (and held), five more callers queue behind it. The batcher has
            // no event for a queued caller, so the test yields (never sleeps) until all five are queued.
            for await _ in held.firstInFlight { break }
            for item in 2...6 { group.addTask { (item, try await batcher.submit(item)) } }
            while batcher.queued < 5 { await Task.yield() }
            held.release()
            for try await (item, outcome) in group { #expect(outcome == item * 10) }
        }
        #expect(held.batches.withLock { $0.map(\.count) } == [1, 5])
        #expect(Set(held.batches.withLock { $0[1] }) == [2, 3, 4, 5, 6])
    }

    @Test("outcomes stored together: one the database refuses fails alone, one whose execution ended gets nil")
    func refusedOutcomeFailsAlone() async throws {
        try await withTestStorage { storage in
            try await withWorkflowEngine(storage: storage, registry: testRegistry()) { engine in
                let events = EngineEvents(engine)
                var keys: [ExecutionKey] = []
                for index in 0..<3 {
                    let started = try await engine.executions.start(AwaitValue.self, id: "batch-\(index)", input: 0)
                    try await events.suspended(started.record.key)
                    keys.append(started.record.key)
                }
                _ = try await engine.executions.cancel(workflow: "AwaitValue", id: "batch-2")
                let requests = try [
                    FinishRequest(key: keys[0], entries: "[]", outcome: .completed("7"), lease: nil),
                    FinishRequest(key: keys[1], entries: "[]", outcome: .completed("{not json"), lease: nil),
                    FinishRequest(key: keys[2], entries: "[]", outcome: .completed("8"), lease: nil),
                ]
                let store = storage.store
                let outcomes = await PostgresWorkflowStore.finishAll(requests, client: storage.client,
                                                                     writer: store.writer, channel: store.channel,
                                                                     logger: store.logger)
                let finished = try outcomes[0].get()
                #expect(finished?.status == .completed && finished?.output == "7")
                #expect(throws: (any Error).self) { try outcomes[1].get() }
                #expect(try outcomes[2].get() == nil)
                #expect(try await store.execution(key: keys[1])?.status == .waiting)
                #expect(try await store.execution(key: keys[2])?.status == .cancelled)
            }
        }
    }
}
