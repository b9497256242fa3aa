import Synchronization
import Testing
@testable import Roost

@Suite("Entity mailbox")
struct MailboxTests {
    let address = EntityAddress(type: "Test", id: "m")

    @Test("calls run one at a time, in arrival order, even when they await")
    func oneAtATime() async throws {
        let mailbox = Mailbox(address: address, concurrency: 1, capacity: 100)
        let log = Recorder()
        let (gate, open) = AsyncStream.makeStream(of: Void.self)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await mailbox.run {
                    log.append("first starts")
                    for await _ in gate { break }
                    log.append("first ends")
                }
            }
            while log.lines.isEmpty { await Task.yield() }
            group.addTask { try await mailbox.run { log.append("second") } }
            // The second call waits behind the first, which is suspended inside its turn.
            while !mailbox.hasWaiting { await Task.yield() }
            open.yield()
            try await group.waitForAll()
        }
        #expect(log.lines == ["first starts", "first ends", "second"])
    }

    @Test("a full mailbox refuses the call with mailbox_full; closing fails waiting calls and drains the running one")
    func fullAndClosed() async throws {
        let mailbox = Mailbox(address: address, concurrency: 1, capacity: 1)
        let (gate, open) = AsyncStream.makeStream(of: Void.self)
        let (started, start) = AsyncStream.makeStream(of: Void.self)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await mailbox.run {
                    start.yield()
                    for await _ in gate { break }
                }
            }
            for await _ in started { break }
            group.addTask {
                await #expect(throws: MailboxClosed.self) { try await mailbox.run {} }
            }
            while !mailbox.hasWaiting { await Task.yield() }
            let full = await #expect(throws: EntityCallError.self) { try await mailbox.run {} }
            #expect(full?.code == EntityCallError.mailboxFull)
            async let closed: Void = mailbox.close()
            // The waiting call is failed once the close has begun; only then may the running one end.
            while mailbox.hasWaiting { await Task.yield() }
            open.yield()
            await closed
            try await group.waitForAll()
        }
        await #expect(throws: MailboxClosed.self) { try await mailbox.run {} }
    }
}

/// Lines appended from several tasks.
private final class Recorder: Sendable {
    private let state = Mutex<[String]>([])

    var lines: [String] { state.withLock { $0 } }

    func append(_ line: String) {
        state.withLock { $0.append(line) }
    }
}
