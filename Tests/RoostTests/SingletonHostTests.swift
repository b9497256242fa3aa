import Logging
import Synchronization
import Testing
@testable import Roost

@Suite("Singleton host")
struct SingletonHostTests {
    private let logger = Logger(label: "test")

    private func host(_ singleton: Singleton) -> (SingletonHost, ShardLease) {
        let host = SingletonHost([singleton], settings: ClusterSettings(), runner: "127.0.0.1:1", logger: logger)
        return (host, ShardLease(shard: host.shard(of: singleton.name), epoch: 1))
    }

    @Test("a singleton starts when its shard is acquired, is restarted after failures, and stops on cancellation")
    func restartsAndStops() async throws {
        let (runs, started) = AsyncStream.makeStream(of: Int.self)
        let cancelled = Mutex(false)
        let singleton = Singleton("restarting", restartBackoff: RetryPolicy(initialBackoff: .milliseconds(1))) {
            context in
            started.yield(context.restarts)
            if context.restarts < 2 { throw Boom() }
            do {
                try await Task.sleep(for: .seconds(3_600))
            } catch {
                cancelled.withLock { $0 = true }
                throw error
            }
        }
        let (host, lease) = host(singleton)
        await host.acquired([ShardLease(shard: ShardID(group: "other", index: 0), epoch: 1)])
        #expect(await host.running().isEmpty)
        await host.acquired([lease])
        var restarts: [Int] = []
        for await restart in runs {
            restarts.append(restart)
            if restart == 2 { break }
        }
        #expect(restarts == [0, 1, 2])
        #expect(await host.running() == ["restarting"])
        await host.stopping([lease.shard])
        #expect(cancelled.withLock { $0 })
        #expect(await host.running().isEmpty)
    }

    @Test("a body that ignores its stop signal is left behind after the stop timeout")
    func forceStop() async throws {
        let (entered, enter) = AsyncStream.makeStream(of: Void.self)
        let gate = Mutex<CheckedContinuation<Void, Never>?>(nil)
        let singleton = Singleton("stubborn", stopTimeout: .milliseconds(50)) { _ in
            // A checked continuation ignores cancellation: the body waits until the test lets it go.
            await withCheckedContinuation { continuation in
                gate.withLock { $0 = continuation }
                enter.yield()
            }
        }
        let (host, lease) = host(singleton)
        await host.acquired([lease])
        for await _ in entered { break }
        await host.stopping([lease.shard])
        #expect(await host.running().isEmpty)
        gate.withLock { $0.take() }?.resume()
    }

    private struct Boom: Error {}
}
