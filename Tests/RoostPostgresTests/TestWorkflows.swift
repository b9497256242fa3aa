import Foundation
import PostgresNIO
import Roost
import RoostExamples
import RoostPostgres
import Synchronization

/// How often each test activity's body ran, by execution id: survives engine restarts within the test process.
let bodyRuns = Mutex<[String: Int]>([:])

func countRun(_ id: String) -> Int {
    bodyRuns.withLock { runs in
        runs[id, default: 0] += 1
        return runs[id]!
    }
}

func runs(_ id: String) -> Int { bodyRuns.withLock { $0[id, default: 0] } }

/// Fails its activity `failures` times, then succeeds; retries at most `attempts` times.
struct Flaky: Workflow {
    struct Input: Codable, Sendable { var failures: Int; var attempts: Int; var backoffMs = 5 }
    struct Boom: Error, CustomStringConvertible { var attempt: Int; var description: String { "boom \(attempt)" } }

    func run(_ input: Input, context: WorkflowContext) async throws -> Int {
        let policy = RetryPolicy(maximumAttempts: input.attempts, initialBackoff: .milliseconds(input.backoffMs))
        return try await context.activity("flaky", retry: policy) { tx in
            let run = countRun(context.executionId)
            if run <= input.failures { throw Boom(attempt: run) }
            return tx.attempt
        }
    }
}

/// Pays once, then ships with one attempt that fails while the ship body has run at most `failures` times.
struct PayThenShip: Workflow {
    struct Input: Codable, Sendable { var failures: Int }

    func run(_ input: Input, context: WorkflowContext) async throws -> Int {
        try await context.activity("pay") { _ in _ = countRun(context.executionId + "/pay") }
        return try await context.activity("ship", retry: RetryPolicy(maximumAttempts: 1, initialBackoff: .zero)) { _ in
            let run = countRun(context.executionId + "/ship")
            if run <= input.failures { throw Flaky.Boom(attempt: run) }
            return run
        }
    }
}

/// Catches its activity's final failure, then waits for `go` and reports the failure.
struct CatchFailure: Workflow {
    static let go = Deferred<Bool>("go")
    struct Output: Codable, Sendable { var activity: String; var attempts: Int; var message: String }

    func run(_ input: Int, context: WorkflowContext) async throws -> Output {
        do {
            try await context.activity("doomed", retry: RetryPolicy(maximumAttempts: 2, initialBackoff: .zero)) { _ in
                _ = countRun(context.executionId)
                throw Flaky.Boom(attempt: input)
            }
            return Output(activity: "", attempts: 0, message: "unreachable")
        } catch let failure as ActivityFailure {
            _ = try await context.awaitDeferred(Self.go)
            return Output(activity: failure.activity, attempts: failure.attempts, message: failure.lastError.message)
        }
    }
}

/// Journals a time, a UUID and a random number, waits for `go`, and returns them.
struct Deterministic: Workflow {
    static let go = Deferred<Bool>("go")
    struct Output: Codable, Sendable, Equatable { var now: Date; var uuid: UUID; var random: Int }

    func run(_ input: Int, context: WorkflowContext) async throws -> Output {
        let output = Output(now: try context.now(), uuid: try context.uuid(), random: try context.random(in: 0...1_000_000))
        _ = try await context.awaitDeferred(Self.go)
        return output
    }
}

/// Waits for `value` and returns it.
struct AwaitValue: Workflow {
    static let value = Deferred<Int>("value")
    static var deferreds: [any DeferredDeclaration] { [value] }

    func run(_ input: Int, context: WorkflowContext) async throws -> Int {
        try await context.awaitDeferred(Self.value)
    }
}

/// Waits for an undeclared deferred, so a wrongly typed value reaches the workflow.
struct AwaitUndeclared: Workflow {
    func run(_ input: Int, context: WorkflowContext) async throws -> Int {
        try await context.awaitDeferred(Deferred<Int>("value"))
    }
}

/// Waits for `value` with a timeout in milliseconds; returns -1 on timeout.
struct AwaitWithTimeout: Workflow {
    func run(_ input: Int, context: WorkflowContext) async throws -> Int {
        do {
            return try await context.awaitDeferred(Deferred<Int>("value"), timeout: .milliseconds(input))
        } catch let error as WorkflowError where error.code == .timedOut {
            return -1
        }
    }
}

/// Sleeps `first` then `second` milliseconds under two names and returns when each sleep returned.
struct TwoSleeps: Workflow {
    struct Input: Codable, Sendable { var first: Int; var second: Int }
    struct Output: Codable, Sendable { var firstReturned: Date; var secondReturned: Date }

    func run(_ input: Input, context: WorkflowContext) async throws -> Output {
        try await context.sleep("first", for: .milliseconds(input.first))
        let first = try context.now()
        try await context.sleep("second", for: .milliseconds(input.second))
        return Output(firstReturned: first, secondReturned: try context.now())
    }
}

/// Version 1 of `Diverge`: an activity `one`, then a wait.
struct DivergeV1: Workflow {
    static var name: String { "Diverge" }
    func run(_ input: Int, context: WorkflowContext) async throws -> Int {
        try await context.activity("one") { _ in }
        return try await context.awaitDeferred(Deferred<Int>("go"))
    }
}

/// Version 2 of `Diverge`: a different first activity.
struct DivergeV2: Workflow {
    static var name: String { "Diverge" }
    func run(_ input: Int, context: WorkflowContext) async throws -> Int {
        try await context.activity("two") { _ in }
        return 2
    }
}

/// Runs an activity that writes a row, then waits; cancelling it must leave the second activity unrun.
struct CancelMe: Workflow {
    func run(_ input: Int, context: WorkflowContext) async throws -> Int {
        try await context.activity("before") { tx in try await tx.query("INSERT INTO marks VALUES (\(context.executionId), 'before')") }
        try await context.sleep("long", for: .seconds(3600))
        try await context.activity("after") { tx in try await tx.query("INSERT INTO marks VALUES (\(context.executionId), 'after')") }
        return input
    }
}

/// Every test workflow and the examples.
func testRegistry() -> WorkflowRegistry {
    var registry = Examples.registry
    registry.register(Flaky())
    registry.register(CatchFailure())
    registry.register(Deterministic())
    registry.register(AwaitValue())
    registry.register(AwaitUndeclared())
    registry.register(AwaitWithTimeout())
    registry.register(TwoSleeps())
    registry.register(DivergeV1())
    registry.register(CancelMe())
    registry.register(PayThenShip())
    return registry
}
