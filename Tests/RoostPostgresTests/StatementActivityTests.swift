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

/// An effect row as a prepared statement whose parameter types are inferred from its bindings.
private struct InsertEffect: PostgresPreparedStatement {
    static let sql = "INSERT INTO example_effects (execution_id, step) VALUES ($1, $2)"
    var executionId: String
    var step: String

    func makeBindings() -> PostgresBindings {
        var bindings = PostgresBindings()
        bindings.append(executionId)
        bindings.append(step)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws {}
}

/// Records three effects with prepared statement activities, then waits for `go`.
private struct PreparedThenWait: Workflow {
    static let go = Deferred<Bool>("go")
    static var deferreds: [any DeferredDeclaration] { [go] }

    func run(_ input: Int, context: WorkflowContext) async throws -> Bool {
        for step in ["one", "two", "three"] {
            try await context.activity(step, prepared: InsertEffect(executionId: context.executionId, step: step))
        }
        return try await context.awaitDeferred(Self.go)
    }
}

/// A prepared statement with declared parameter types that inserts one row, then fails on the second.
private struct DividingInsert: PostgresPreparedStatement {
    static let sql = """
        INSERT INTO example_effects (execution_id, step) VALUES ($1, 'before'), ($1, (1 / $2)::text)
        """
    static let bindingDataTypes: [PostgresDataType] = [.text, .int4]
    var executionId: String
    var divisor: Int32

    func makeBindings() -> PostgresBindings {
        var bindings = PostgresBindings()
        bindings.append(executionId)
        bindings.append(divisor)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws {}
}

/// Runs ``DividingInsert`` as a prepared statement activity; catches the activity's final failure.
private struct FailingPrepared: Workflow {
    func run(_ divisor: Int, context: WorkflowContext) async throws -> FailingStatement.Output {
        do {
            try await context.activity("divide", retry: RetryPolicy(maximumAttempts: 2, initialBackoff: .zero),
                                       prepared: DividingInsert(executionId: context.executionId,
                                                                divisor: Int32(divisor)))
            return FailingStatement.Output(attempts: 0, message: "succeeded")
        } catch let failure as ActivityFailure {
            return FailingStatement.Output(attempts: failure.attempts, message: failure.lastError.message)
        }
    }
}

/// A query as a prepared statement.
private struct CountEffects: PostgresPreparedStatement {
    static let sql = "SELECT count(*) FROM example_effects"
    func makeBindings() -> PostgresBindings { PostgresBindings() }
    func decodeRow(_ row: PostgresRow) throws {}
}

/// Tries to run a query as a prepared statement activity.
private struct ReadPrepared: Workflow {
    func run(_ input: Int, context: WorkflowContext) async throws -> Int {
        try await context.activity("read", prepared: CountEffects())
        return 0
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
    registry.register(PreparedThenWait())
    registry.register(FailingPrepared())
    registry.register(ReadPrepared())
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

    @Test("a statement activity, prepared or not, writes nothing for a cancelled execution or under a foreign lease")
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
                    let unprepared: PostgresQuery = """
                        INSERT INTO example_effects (execution_id, step) VALUES (\(record.id), 'refused')
                        """
                    let prepared = InsertEffect(executionId: record.id, step: "refused")
                    let completed = JournalEntry(position: 1, kind: .activity, name: "refused", state: .completed,
                                                 attempts: 1, result: "true")
                    for statement in [unprepared as any Sendable, prepared] {
                        let error = await #expect(throws: ExecutionNotWritable.self) {
                            try await storage.store.runStatementActivity(key: record.key, entries: [], status: nil,
                                                                         lease: lease, statement: statement,
                                                                         completed: completed)
                        }
                        #expect(error?.status == status)
                    }
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

    @Test("prepared statement activities commit with their journal entries, and a replay does not run them again")
    func preparedCommitsOnceAcrossReplay() async throws {
        try await withTestStorage { storage in
            let id = "prepared-\(UUID())"
            try await withWorkflowEngine(storage: storage, registry: registry()) { engine in
                let started = try await engine.executions.start(PreparedThenWait.self, id: id, input: 0)
                try await EngineEvents(engine).suspended(started.record.key)
            }
            #expect(try await storage.effects(id) == ["one": 1, "two": 1, "three": 1])
            try await withWorkflowEngine(storage: storage, registry: registry()) { engine in
                _ = try await engine.executions.resolve(PreparedThenWait.go, of: PreparedThenWait.self, id: id,
                                                        value: true)
                #expect(try await engine.executions.result(of: PreparedThenWait.self, id: id))
                let journal = try await engine.executions.journal(workflow: "PreparedThenWait", id: id)
                #expect(journal.prefix(3).map(\.name) == ["one", "two", "three"])
                #expect(journal.prefix(3).allSatisfy { $0.state == .completed && $0.result == "true" })
            }
            #expect(try await storage.effects(id) == ["one": 1, "two": 1, "three": 1],
                    "the replay must not run the statements again")
        }
    }

    @Test("a failing prepared statement is undone whole on each attempt, retried, then journaled as failed")
    func failingPreparedRetriesAndRollsBack() async throws {
        try await withTestStorage { storage in
            try await withWorkflowEngine(storage: storage, registry: registry()) { engine in
                let id = "divide-prepared-\(UUID())"
                _ = try await engine.executions.start(FailingPrepared.self, id: id, input: 0)
                let output = try await engine.executions.result(of: FailingPrepared.self, id: id)
                #expect(output.attempts == 2)
                #expect(output.message.contains("division by zero"))
                #expect(try await storage.effects(id).isEmpty, "the statement's first row must be undone with it")
                let entry = try #require(try await engine.executions.journal(workflow: "FailingPrepared", id: id).first)
                #expect(entry.state == .failed && entry.attempts == 2)
            }
        }
    }

    @Test("a prepared statement activity that is a query fails its execution with a clear error")
    func refusesPreparedQueries() async throws {
        try await withTestStorage { storage in
            try await withWorkflowEngine(storage: storage, registry: registry()) { engine in
                let id = "read-prepared-\(UUID())"
                _ = try await engine.executions.start(ReadPrepared.self, id: id, input: 0)
                let error = await #expect(throws: WorkflowError.self) {
                    try await engine.executions.result(of: ReadPrepared.self, id: id)
                }
                #expect(error?.code == .invalidArgument)
                #expect(error?.message.contains("not 'SELECT'") == true)
            }
        }
    }
}
