import Testing
@testable import Roost

@Suite("Replay permits")
struct ReplayPermitsTests {
    @Test("no more replays hold a permit than the limit; a release hands it to the longest waiter")
    func limitAndOrder() async throws {
        let permits = ReplayPermits(limit: 2)
        let first = try #require(await permits.acquire())
        let second = try #require(await permits.acquire())
        let granted = Waiter()
        let third = Task {
            let permit = await permits.acquire()
            granted.signal()
            return permit
        }
        #expect(await granted.wait(until: .now + .milliseconds(200)) == false, "a third waits while two are held")
        first.release()
        first.release()
        let handed = try #require(await third.value, "the released permit went to the waiter")
        second.release()
        handed.release()
        // Released twice, counted once: two permits again, not three.
        let again = [await permits.acquire(), await permits.acquire()].compactMap { $0 }
        #expect(again.count == 2)
        let fourth = Task { await permits.acquire() }
        fourth.cancel()
        #expect(await fourth.value == nil, "a wait cancelled before a permit came gets none")
    }
}
