import Distributed
import Roost
import Testing

/// An entity whose method waits until it is interrupted, and reports both moments.
distributed actor Patient: Entity {
    typealias ActorSystem = ClusterSystem
    static let entityType = "Patient"
    static let events = AsyncStream<String>.makeStream()

    distributed func waitForInterrupt() async {
        Self.events.continuation.yield("started")
        do {
            try await Task.sleep(for: .seconds(600))
        } catch {
            Self.events.continuation.yield("interrupted")
        }
    }
}

@Suite("Interrupts across runners")
struct InterruptTests {
    @Test("cancelling a call to an entity on another runner interrupts the method running there")
    func cancellationCrossesRunners() async throws {
        let runners = try InProcessRunners(count: 2) { $0.register(Patient.self) { Patient(actorSystem: $0) } }
        let remote = runners.id(ownedBy: 1, prefix: "patient")
        try await runners.run { systems in
            var events = Patient.events.stream.makeAsyncIterator()
            await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await systems[0].entity(Patient.self, id: remote).waitForInterrupt() }
                #expect(await events.next() == "started")
                group.cancelAll()
                #expect(await events.next() == "interrupted", "the owner's method saw the caller's cancellation")
                await #expect(throws: (any Error).self) { try await group.next() }
            }
        }
    }
}
