import Foundation
import PostgresNIO
import Roost
import RoostExamples
import RoostPostgres
import RoostTesting
import Testing

@Suite("Batch starts")
struct BatchStartTests {
    @Test("a batch start inserts its members in one statement, returns existing executions by id and refuses each bad member alone")
    func badMembersAlone() async throws {
        try await withTestStorage { storage in
            let executions = Executions(store: storage.store, registry: testRegistry())
            _ = try await executions.start(workflow: "AwaitValue", id: "existing", input: "1")
            let requests: [Executions.StartRequest] = [
                .init(workflow: "AwaitValue", id: "new-1", input: "1"),
                .init(workflow: "AwaitValue", id: "existing", input: "1"),
                .init(workflow: "AwaitValue", id: "existing", input: "2"),
                .init(workflow: "AwaitValue", id: "malformed", input: "{"),
                .init(workflow: "AwaitValue", id: "mistyped", input: #""one""#),
                .init(workflow: "Nope", id: "unknown", input: "1"),
                .init(workflow: "AwaitValue", id: "", input: "1"),
                .init(workflow: "AwaitValue", id: "new-2", input: "2"),
                .init(workflow: "AwaitValue", id: "new-2", input: "2"),
            ]
            let results = try await executions.start(requests)
            let codes = results.map { result -> String in
                switch result {
                case .success(let started): started.created ? "created" : "existing"
                case .failure(let error): error.code.rawValue
                }
            }
            #expect(codes == ["created", "existing", "conflict", "invalid_payload", "invalid_payload",
                              "unknown_workflow", "invalid_argument", "created", "existing"])
            let stored = try await storage.count("SELECT count(*)::int FROM executions")
            #expect(stored == 3, "existing, new-1 and new-2")
            let pending = try await storage.count("""
                SELECT count(*)::int FROM executions WHERE id IN ('new-1', 'new-2') AND status = 'pending'
                  AND wake_pending AND attempt = 0
                """)
            #expect(pending == 2)
        }
    }

    @Test("an input the database refuses fails only its own member of the batch")
    func databaseRefusesOneMember() async throws {
        try await withTestStorage { storage in
            let executions = Executions(store: storage.store)
            // Valid JSON that PostgreSQL's jsonb refuses.
            let results = try await executions.start([
                .init(workflow: "AwaitValue", id: "fine", input: "1"),
                .init(workflow: "AwaitValue", id: "nul", input: #""a\u0000b""#),
                .init(workflow: "AwaitValue", id: "also-fine", input: "3"),
            ])
            #expect(results.map { (try? $0.get())?.created } == [true, nil, true])
            if case .failure(let error) = results[1] { #expect(error.code == .invalidPayload) }
            #expect(try await storage.count("SELECT count(*)::int FROM executions") == 2)
        }
    }

    @Test("a batch a client starts is announced with one notification and run by the engine", .timeLimit(.minutes(2)))
    func clientBatchRuns() async throws {
        try await withTestStorage { storage in
            let engine = WorkflowEngine(store: storage.store, registry: testRegistry(), configuration: noPoll(),
                                        logger: TestDatabase.logger)
            try await withRunningEngine(engine) { engine in
                let ids = (0..<50).map { "batch-\($0)" }
                let results = try await withClient(of: storage) { client in
                    try await client.start(Order.self, ids.map { ($0, Order.Input(orderId: $0, amount: 1)) })
                }
                #expect(results.allSatisfy { (try? $0.get())?.created == true })
                for id in ids {
                    let output = try await engine.executions.result(of: Order.self, id: id, timeout: .seconds(60))
                    #expect(output.status == "confirmed")
                }
            }
        }
    }
}
