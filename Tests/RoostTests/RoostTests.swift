import Foundation
import Testing
@testable import Roost

@Suite("Core")
struct CoreTests {
    @Test("retry back-off grows by the multiplier and stops at the maximum")
    func backoff() {
        let policy = RetryPolicy(maximumAttempts: 10, initialBackoff: .milliseconds(100), multiplier: 2,
                                 maximumBackoff: .milliseconds(500))
        #expect(policy.backoff(after: 1) == .milliseconds(100))
        #expect(policy.backoff(after: 2) == .milliseconds(200))
        #expect(policy.backoff(after: 3) == .milliseconds(400))
        #expect(policy.backoff(after: 4) == .milliseconds(500))
    }

    @Test("a replay that reaches a different call at a recorded position is a non-determinism error naming both")
    func replayMismatch() throws {
        var state = ReplayState(journal: [
            JournalEntry(position: 0, kind: .activity, name: "charge", state: .completed, attempts: 1, result: "1"),
        ], status: .running)
        #expect(throws: WorkflowError.self) { _ = try state.begin(.sleep, "wait", executionId: "e") }
        guard case .nonDeterminism(let error)? = state.stop else {
            Issue.record("the run must stop")
            return
        }
        #expect(error.message.contains("activity 'charge'"))
        #expect(error.message.contains("sleep 'wait'"))
    }

    @Test("payload errors name the payload, the expected type and the field")
    func payloadErrors() {
        struct Shape: Codable { var count: Int }
        let coder = PayloadCoder(maximumBytes: 32)
        #expect(throws: WorkflowError.self) { _ = try coder.decode(Shape.self, from: #"{"count": "x"}"#, what: "input") }
        do {
            _ = try coder.decode(Shape.self, from: #"{"count": "x"}"#, what: "input of Shape")
        } catch let error as WorkflowError {
            #expect(error.code == .invalidPayload)
            #expect(error.message.contains("input of Shape") && error.message.contains("'count'"))
        } catch {
            Issue.record("unexpected \(error)")
        }
        #expect(throws: WorkflowError.self) { try coder.validate(json: String(repeating: "1", count: 40), what: "x") }
    }

    @Test("statuses parse from their stable text and only finished ones are terminal")
    func statuses() {
        #expect(ExecutionStatus("waiting") == .waiting)
        #expect(ExecutionStatus("bogus") == nil)
        #expect(ExecutionStatus.all.filter(\.isTerminal) == [.completed, .failed, .cancelled])
    }
}
