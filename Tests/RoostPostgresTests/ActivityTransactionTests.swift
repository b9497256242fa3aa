import Foundation
import PostgresNIO
import Roost
import RoostPostgres
import RoostTesting
import Synchronization
import Testing

/// Writes a mark in its activity, then, on its first run only, reports the checkpoint named after the execution and
/// awaits something cancellable that never comes; later runs complete.
struct StallInBody: Workflow {
    func run(_ input: Int, context: WorkflowContext) async throws -> Int {
        try await context.activity("stall") { tx in
            try await tx.query("INSERT INTO marks VALUES (\(context.executionId), 'stall')")
            if countRun(context.executionId) == 1 {
                Checkpoints.reach(context.executionId)
                try await Task.sleep(for: .seconds(86_400))
            }
        }
        return input
    }
}

/// An activity whose body throws `CancellationError` of its own on its first attempt, with the task not cancelled
/// (as a client library's timeout does); the second attempt succeeds.
struct BodyThrowsCancellation: Workflow {
    func run(_ input: Int, context: WorkflowContext) async throws -> Int {
        try await context.activity("call", retry: RetryPolicy(maximumAttempts: 2, initialBackoff: .zero)) { tx in
            if countRun(context.executionId) == 1 { throw CancellationError() }
            return tx.attempt
        }
    }
}

/// An activity with a single attempt whose body's first run fails with a database error of the given SQLSTATE
/// (raised by the server, as a deadlock or a failover raises it); later runs succeed.
struct DatabaseHiccup: Workflow {
    func run(_ sqlState: String, context: WorkflowContext) async throws -> Int {
        try await context.activity("write", retry: .never) { tx in
            try await tx.query("INSERT INTO marks VALUES (\(context.executionId), 'write')")
            if countRun(context.executionId) == 1 {
                try await tx.query("""
                    DO $$ BEGIN RAISE EXCEPTION 'injected' USING ERRCODE = '\(unescaped: sqlState)'; END $$
                    """)
            }
            return tx.attempt
        }
    }
}

/// A statement activity with a single attempt whose statement's first run fails with a database error of the given
/// SQLSTATE (the `hiccup` function raises it while its sequence is new); later runs succeed.
struct StatementHiccup: Workflow {
    func run(_ sqlState: String, context: WorkflowContext) async throws -> Int {
        try await context.activity("write", retry: .never, statement: """
            INSERT INTO marks SELECT \(context.executionId), 'write' FROM hiccup(\(sqlState))
            """)
        return 1
    }
}

/// An activity whose body's connection is terminated by the server (`pg_terminate_backend`, as an operator or a
/// failover does) on its first run: the body's statement fails with `57P01` and the connection closes.
struct TerminatedBody: Workflow {
    func run(_ input: Int, context: WorkflowContext) async throws -> Int {
        try await context.activity("write", retry: .never) { tx in
            try await tx.query("INSERT INTO marks VALUES (\(context.executionId), 'write')")
            if countRun(context.executionId) == 1 {
                try await tx.query("SELECT pg_terminate_backend(pg_backend_pid())")
            }
            return tx.attempt
        }
    }
}

func activityTransactionRegistry() -> WorkflowRegistry {
    var registry = testRegistry()
    registry.register(StallInBody())
    registry.register(BodyThrowsCancellation())
    registry.register(DatabaseHiccup())
    registry.register(StatementHiccup())
    registry.register(TerminatedBody())
    return registry
}

@Suite("Activity transactions")
struct ActivityTransactionTests {
    @Test("an activity body ended by a shutdown leaves no transaction open on its pooled connection, and nothing of it commits until its replay",
          .timeLimit(.minutes(2)))
    func cancelledBodyRollsBack() async throws {
        // One connection in the pool: whatever the body leaves on it, the next user of the pool gets.
        try await withTestStorage(configure: { $0.maximumConnections = 1; $0.notifications = false }) { storage in
            let id = "stall-\(UUID())"
            try await withWorkflowEngine(storage: storage, registry: activityTransactionRegistry(),
                                         configuration: noPoll()) { engine in
                _ = try await engine.executions.start(StallInBody.self, id: id, input: 1)
                await Checkpoints.reached(id)
            }
            // The engine has stopped: its runs were cancelled, the stalled body with them.
            let transaction = try await storage.client.query("SELECT txid_current_if_assigned()::text")
                .collect().first?.decode(String?.self)
            #expect(transaction == nil, "the pooled connection is still inside the body's transaction")
            let marks = try await storage.count("SELECT count(*)::int FROM marks WHERE execution_id = \(id)")
            #expect(marks == 0)
            try await withWorkflowEngine(storage: storage, registry: activityTransactionRegistry(),
                                         configuration: noPoll()) { engine in
                let output = try await engine.executions.result(of: StallInBody.self, id: id)
                #expect(output == 1)
            }
            let replayed = try await storage.count("SELECT count(*)::int FROM marks WHERE execution_id = \(id)")
            #expect(replayed == 1)
        }
    }

    @Test("a CancellationError an activity body throws of its own, outside a shutdown, is one of its failed attempts",
          .timeLimit(.minutes(2)))
    func bodyCancellationIsAFailure() async throws {
        try await withTestStorage { storage in
            try await withWorkflowEngine(storage: storage, registry: activityTransactionRegistry(),
                                         configuration: noPoll()) { engine in
                let id = "cancels-itself-\(UUID())"
                _ = try await engine.executions.start(BodyThrowsCancellation.self, id: id, input: 1)
                let output = try await engine.executions.result(of: BodyThrowsCancellation.self, id: id)
                #expect(output == 2)
                let entry = try #require(try await engine.executions.journal(workflow: "BodyThrowsCancellation",
                                                                             id: id).first)
                #expect(entry.state == .completed)
                #expect(entry.attempts == 2)
            }
        }
    }

    @Test("a database failure in an activity body is retried without using up an attempt",
          .timeLimit(.minutes(2)),
          arguments: ["40001", "40P01", "57P01", "25006"])
    func databaseFailureInBody(sqlState: String) async throws {
        try await withTestStorage { storage in
            try await withWorkflowEngine(storage: storage, registry: activityTransactionRegistry(),
                                         configuration: fastRetry()) { engine in
                let id = "hiccup-\(sqlState)-\(UUID())"
                _ = try await engine.executions.start(DatabaseHiccup.self, id: id, input: sqlState)
                let output = try await engine.executions.result(of: DatabaseHiccup.self, id: id)
                #expect(output == 1)
                #expect(runs(id) == 2)
                #expect(try await storage.count("SELECT count(*)::int FROM marks WHERE execution_id = \(id)") == 1)
            }
        }
    }

    @Test("a database failure in a statement activity is retried without using up an attempt",
          .timeLimit(.minutes(2)),
          arguments: ["40001", "40P01", "57P01", "25006"])
    func databaseFailureInStatement(sqlState: String) async throws {
        try await withTestStorage { storage in
            try await storage.client.query("CREATE SEQUENCE hiccups")
            try await storage.client.query("""
                CREATE FUNCTION hiccup(code text) RETURNS SETOF int LANGUAGE plpgsql AS $$
                BEGIN
                    IF nextval('hiccups') = 1 THEN RAISE EXCEPTION 'injected' USING ERRCODE = code; END IF;
                    RETURN NEXT 1;
                END $$
                """)
            try await withWorkflowEngine(storage: storage, registry: activityTransactionRegistry(),
                                         configuration: fastRetry()) { engine in
                let id = "statement-hiccup-\(sqlState)-\(UUID())"
                _ = try await engine.executions.start(StatementHiccup.self, id: id, input: sqlState)
                let output = try await engine.executions.result(of: StatementHiccup.self, id: id)
                #expect(output == 1)
                #expect(try await storage.count("SELECT count(*)::int FROM marks WHERE execution_id = \(id)") == 1)
            }
        }
    }

    @Test("an activity whose connection is terminated under its body is retried without using up an attempt",
          .timeLimit(.minutes(2)))
    func terminatedConnection() async throws {
        try await withTestStorage { storage in
            try await withWorkflowEngine(storage: storage, registry: activityTransactionRegistry(),
                                         configuration: fastRetry()) { engine in
                let id = "terminated-\(UUID())"
                _ = try await engine.executions.start(TerminatedBody.self, id: id, input: 1)
                let output = try await engine.executions.result(of: TerminatedBody.self, id: id)
                #expect(output == 1)
                #expect(runs(id) == 2)
                #expect(try await storage.count("SELECT count(*)::int FROM marks WHERE execution_id = \(id)") == 1)
            }
        }
    }
}

/// No safety-net poll, and a run abandoned after a database failure replayed at once.
private func fastRetry() -> WorkflowEngine.Configuration {
    var configuration = noPoll()
    configuration.storageRetryDelay = .milliseconds(10)
    return configuration
}
