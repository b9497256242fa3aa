import Foundation
import PostgresNIO
import Roost
import RoostExamples
import RoostPostgres
import RoostTesting
import Testing

/// Records its effect with a statement activity, then waits for `go`.
private struct StatementThenWait: Workflow {
    static let go = Deferred<Bool>("go")
    static var deferreds: [any DeferredDeclaration] { [go] }

    func run(_ input: Int, context: WorkflowContext) async throws -> Bool {
        try await context.activity("record", statement: """
            INSERT INTO example_effects (execution_id, step) VALUES (\(context.executionId), 'record');
            """)
        return try await context.awaitDeferred(Self.go)
    }
}

/// A statement that inserts one row, then fails on the second; catches the activity's final failure.
private struct FailingStatement: Workflow {
    struct Output: Codable, Sendable { var attempts: Int; var message: String }

    func run(_ divisor: Int, context: WorkflowContext) async throws -> Output {
        do {
            try await context.activity("divide", retry: RetryPolicy(maximumAttempts: 2, initialBackoff: .zero),
                                       statement: """
                INSERT INTO example_effects (execution_id, step)
                VALUES (\(context.executionId), 'before'), (\(context.executionId), (1 / \(divisor))::text)
                """)
            return Output(attempts: 0, message: "succeeded")
        } catch let failure as ActivityFailure {
            return Output(attempts: failure.attempts, message: failure.lastError.message)
        }
    }
}

/// Tries to run a query as a statement activity.
private struct ReadStatement: Workflow {
    func run(_ input: Int, context: WorkflowContext) async throws -> Int {
        try await context.activity("read", statement: "SELECT count(*) FROM example_effects")
        return 0
    }
}

private func registry() -> WorkflowRegistry {
    var registry = testRegistry()
    registry.register(StatementThenWait())
    registry.register(FailingStatement())
    registry.register(ReadStatement())
    return registry
}

@Suite("Statement activities")
struct StatementActivityTests {
    @Test("a statement activity commits with its journal entry, and a replay after a restart does not run it again")
    func commitsOnceAcrossReplay() async throws {
        try await withTestStorage { storage in
            let id = "statement-\(UUID())"
            let key = try await withWorkflowEngine(storage: storage, registry: registry()) { engine in
                let started = try await engine.executions.start(StatementThenWait.self, id: id, input: 0)
                try await EngineEvents(engine).suspended(started.record.key)
                return started.record.key
            }
            #expect(try await storage.effects(id) == ["record": 1])
            let entry = try #require(try await storage.store.journal(key: key).first)
            #expect(entry.kind == .activity && entry.name == "record" && entry.state == .completed)
            #expect(entry.attempts == 1 && entry.result == "true")
            try await withWorkflowEngine(storage: storage, registry: registry()) { engine in
                _ = try await engine.executions.resolve(StatementThenWait.go, of: StatementThenWait.self, id: id,
                                                        value: true)
                #expect(try await engine.executions.result(of: StatementThenWait.self, id: id))
            }
            #expect(try await storage.effects(id) == ["record": 1], "the replay must not run the statement again")
        }
    }

    @Test("a failing statement is undone whole on each attempt, retried by its policy, then journaled as failed")
    func failingStatementRetriesAndRollsBack() async throws {
        try await withTestStorage { storage in
            try await withWorkflowEngine(storage: storage, registry: registry()) { engine in
                let id = "divide-\(UUID())"
                _ = try await engine.executions.start(FailingStatement.self, id: id, input: 0)
                let output = try await engine.executions.result(of: FailingStatement.self, id: id)
                #expect(output.attempts == 2)
                #expect(output.message.contains("division by zero"))
                #expect(try await storage.effects(id).isEmpty, "the statement's first row must be undone with it")
                let journal = try await engine.executions.journal(workflow: "FailingStatement", id: id)
                let entry = try #require(journal.first)
                #expect(entry.state == .failed && entry.attempts == 2)
            }
        }
    }

    @Test("a statement activity writes nothing for a cancelled execution or under a lease its runner does not hold")
    func fencedAndGuarded() async throws {
        try await withTestStorage { storage in
            try await withWorkflowEngine(storage: storage, registry: registry()) { engine in
                let waiting = try await engine.executions.start(AwaitValue.self, id: "waiting-\(UUID())", input: 0)
                try await EngineEvents(engine).suspended(waiting.record.key)
                let cancelled = try await engine.executions.start(AwaitValue.self, id: "cancelled-\(UUID())", input: 0)
                try await EngineEvents(engine).suspended(cancelled.record.key)
                _ = try await engine.executions.cancel(workflow: "AwaitValue", id: cancelled.record.id)

                let foreignLease = ShardLease(shard: ShardID(group: "default", index: 0), epoch: 42)
                for (record, lease, status) in [(waiting.record, foreignLease, ExecutionStatus.waiting),
                                                (cancelled.record, nil, .cancelled)] {
                    let statement: PostgresQuery = """
                        INSERT INTO example_effects (execution_id, step) VALUES (\(record.id), 'refused')
                        """
                    let completed = JournalEntry(position: 1, kind: .activity, name: "refused", state: .completed,
                                                 attempts: 1, result: "true")
                    let error = await #expect(throws: ExecutionNotWritable.self) {
                        try await storage.store.runStatementActivity(key: record.key, entries: [], status: nil,
                                                                     lease: lease, statement: statement,
                                                                     completed: completed)
                    }
                    #expect(error?.status == status)
                    #expect(try await storage.effects(record.id).isEmpty)
                    #expect(try await storage.store.journal(key: record.key).count == 1)
                }
            }
        }
    }

    @Test("a statement activity that is not an INSERT, UPDATE, DELETE or WITH fails its execution with a clear error")
    func refusesOtherStatements() async throws {
        try await withTestStorage { storage in
            try await withWorkflowEngine(storage: storage, registry: registry()) { engine in
                let id = "read-\(UUID())"
                _ = try await engine.executions.start(ReadStatement.self, id: id, input: 0)
                let error = await #expect(throws: WorkflowError.self) {
                    try await engine.executions.result(of: ReadStatement.self, id: id)
                }
                #expect(error?.code == .invalidArgument)
                #expect(error?.message.contains("not 'SELECT'") == true)
                #expect(try await engine.executions.journal(workflow: "ReadStatement", id: id).isEmpty)
            }
        }
    }
}
