import Foundation
import PostgresNIO
import Roost
import RoostExamples
import RoostPostgres
import RoostTesting
import Testing

@Suite("Executions")
struct ExecutionTests {
    @Test("starting an existing id returns it and runs nothing again; a different input is a conflict")
    func idempotentStart() async throws {
        try await withTestStorage { storage in
            try await withWorkflowEngine(storage: storage, registry: testRegistry()) { engine in
                let input = Order.Input(orderId: "o", amount: 1)
                _ = try await engine.executions.start(Order.self, id: "o", input: input)
                _ = try await engine.executions.result(of: Order.self, id: "o")
                let again = try await engine.executions.start(workflow: "Order", id: "o",
                                                              input: #"{"amount": 1, "orderId": "o"}"#)
                #expect(!again.created)
                #expect(again.record.status == .completed)
                let error = await #expect(throws: WorkflowError.self) {
                    _ = try await engine.executions.start(Order.self, id: "o", input: .init(orderId: "o", amount: 2))
                }
                #expect(error?.code == .conflict)
                #expect(try await storage.effects("o") == ["reserve": 1, "charge": 1, "confirm": 1])
            }
        }
    }

    @Test("cancel stores the outcome at once, wakes the sleeper, and the workflow commits nothing more")
    func cancelSleeping() async throws {
        try await withTestStorage { storage in
            try await withWorkflowEngine(storage: storage, registry: testRegistry(), configuration: noPoll()) { engine in
                let events = EngineEvents(engine)
                let key = try await engine.executions.start(CancelMe.self, id: "c", input: 1).record.key
                try await events.suspended(key)
                let outcome = try await engine.executions.cancel(workflow: "CancelMe", id: "c")
                #expect(outcome.cancelled && outcome.status == .cancelled)
                try await events.ended(key)
                #expect(engine.hostedCount == 0, "the registry holds nothing for a finished execution")
                let record = try await engine.executions.status(workflow: "CancelMe", id: "c")
                #expect(record.status == .cancelled)
                #expect(record.error?.code == "cancelled")
                #expect(try await storage.count("SELECT count(*)::int FROM marks WHERE step = 'after'") == 0)
                let again = try await engine.executions.cancel(workflow: "CancelMe", id: "c")
                #expect(!again.cancelled && again.status == .cancelled)
            }
        }
    }

    @Test("a cancel from another process wakes the sleeper through NOTIFY")
    func cancelFromElsewhere() async throws {
        try await withTestStorage { storage in
            try await withWorkflowEngine(storage: storage, registry: testRegistry(), configuration: noPoll()) { engine in
                let events = EngineEvents(engine)
                let key = try await engine.executions.start(CancelMe.self, id: "c2", input: 1).record.key
                try await events.suspended(key)
                try await withClient(of: storage) { client in
                    let outcome = try await client.cancel(workflow: "CancelMe", id: "c2")
                    #expect(outcome.cancelled)
                }
                try await events.ended(key)
                #expect(engine.hostedCount == 0)
            }
        }
    }

    @Test("a cancel from another process ends a parked sleeper: the woken run finds it cancelled and stops")
    func cancelParkedFromElsewhere() async throws {
        var configuration = noPoll()
        configuration.parkAfter = .milliseconds(10)
        try await withTestStorage { storage in
            try await withWorkflowEngine(storage: storage, registry: testRegistry(), configuration: configuration) {
                engine in
                let events = EngineEvents(engine)
                let key = try await engine.executions.start(CancelMe.self, id: "parked", input: 1).record.key
                try await events.first { $0 == .parked(key) }
                try await withClient(of: storage) { client in
                    let outcome = try await client.cancel(workflow: "CancelMe", id: "parked")
                    #expect(outcome.cancelled)
                }
                try await events.first { $0 == .stopped(key) }
                #expect(engine.hostedCount == 0)
            }
        }
    }

    @Test("cancelling a finished execution is a no-op that says nothing was cancelled")
    func cancelFinished() async throws {
        try await withTestStorage { storage in
            try await withWorkflowEngine(storage: storage, registry: testRegistry()) { engine in
                _ = try await engine.executions.start(Order.self, id: "done", input: .init(orderId: "done", amount: 1))
                _ = try await engine.executions.result(of: Order.self, id: "done")
                let outcome = try await engine.executions.cancel(workflow: "Order", id: "done")
                #expect(!outcome.cancelled && outcome.status == .completed)
            }
        }
    }

    @Test("status and list report executions with filters; unknown ids are a clear error")
    func statusAndList() async throws {
        try await withTestStorage { storage in
            try await withClient(of: storage) { client in
                _ = try await client.start(Order.self, id: "l1", input: .init(orderId: "l1", amount: 1))
                _ = try await client.start(Reminder.self, id: "l2", input: .init(delayMs: 1))
                let status = try await client.status(workflow: "Order", id: "l1")
                #expect(status.status == .pending)
                #expect(try await client.list(ExecutionFilter(workflow: "Reminder")).map(\.id) == ["l2"])
                #expect(try await client.list(ExecutionFilter(status: .pending)).count == 2)
                #expect(try await client.list(ExecutionFilter(status: .completed)).isEmpty)
                let error = await #expect(throws: WorkflowError.self) {
                    _ = try await client.status(workflow: "Order", id: "nope'; DROP TABLE executions; --")
                }
                #expect(error?.code == .unknownExecution)
                #expect(error?.message.contains("nope") == true)
            }
        }
    }

    @Test("bad input is refused with a precise error and nothing is stored")
    func badInput() async throws {
        try await withTestStorage { storage in
            let executions = Executions(store: storage.store, registry: testRegistry(), maximumPayloadBytes: 1024)
            let cases: [(String, String, WorkflowError.Code, String)] = [
                ("Nope", "{}", .unknownWorkflow, "registered: "),
                ("Order", "{not json", .invalidPayload, "not valid JSON"),
                ("Order", #"{"orderId": 5, "amount": 1}"#, .invalidPayload, "'orderId'"),
                ("Order", #"{"orderId": "x"}"#, .invalidPayload, "missing key 'amount'"),
                ("Order", #"{"orderId": "\#(String(repeating: "x", count: 2000))", "amount": 1}"#,
                 .payloadTooLarge, "limit of 1024 bytes"),
                ("Order", #"{"orderId": "\u0000", "amount": 1}"#, .invalidPayload, "refused"),
            ]
            for (workflow, input, code, fragment) in cases {
                let error = await #expect(throws: WorkflowError.self) {
                    _ = try await executions.start(workflow: workflow, id: "bad", input: input)
                }
                #expect(error?.code == code)
                #expect(error?.message.contains(fragment) == true, "\(error?.message ?? "")")
            }
            let empty = await #expect(throws: WorkflowError.self) {
                _ = try await executions.start(workflow: "Order", id: "", input: "{}")
            }
            #expect(empty?.code == .invalidArgument)
            #expect(try await storage.count("SELECT count(*)::int FROM executions") == 0)
            let unicode = "ünï-∂‘\"; DROP TABLE executions; --"
            _ = try await executions.start(Order.self, id: unicode, input: .init(orderId: unicode, amount: 1))
            #expect(try await executions.status(workflow: "Order", id: unicode).id == unicode)
        }
    }
}
