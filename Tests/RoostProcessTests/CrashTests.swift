import Foundation
import PostgresNIO
import Roost
import RoostClient
import RoostExamples
import RoostPostgres
import RoostTesting
import Testing

@Suite("Crash recovery with roost runner processes", .serialized)
struct CrashTests {
    @Test("kill -9 mid-activity, mid-sleep and mid-wait: every execution completes, each effect exactly once")
    func killNine() async throws {
        try await withProcesses { harness in
            let client = harness.client
            var runner = try await harness.startRunner("runner-1")
            let orders = (0..<150).map { "order-\($0)" }
            let pipelines = (0..<40).map { "pipeline-\($0)" }
            let approvals = (0..<40).map { "approval-\($0)" }
            for id in orders { _ = try await client.start(Order.self, id: id, input: .init(orderId: id, amount: 1)) }
            for id in approvals {
                _ = try await client.start(Approval.self, id: id, input: .init(requestId: id, coolOffMs: 300))
            }

            // Mid-activity: as soon as the first order completes, others are between or inside activities.
            _ = try await client.result(of: Order.self, id: orders[0], timeout: .seconds(60))
            await runner.kill9()
            runner = try await harness.startRunner("runner-2")

            // Mid-sleep: pipelines start on the new runner; each sleeps twice for 1.5 s after an activity, so once
            // the runner has printed a suspension per pipeline, they sleep or run; approvals still wait.
            for id in pipelines {
                _ = try await client.start(Pipeline.self, id: id, input: .init(steps: 2, sleepMs: 1_500))
            }
            try await runner.waitForLine(containing: "roost.workflow=Pipeline [Roost] execution suspended",
                                         count: pipelines.count)
            await runner.kill9()

            // Decisions arrive while no runner is up.
            for id in approvals {
                try await client.resolve(Approval.decision, of: Approval.self, id: id,
                                         value: .init(approved: true, by: "ops"))
            }
            runner = try await harness.startRunner("runner-3")
            _ = try await client.result(of: Approval.self, id: approvals[0], timeout: .seconds(60))
            await runner.kill9()
            runner = try await harness.startRunner("runner-4")

            for id in orders {
                let output = try await client.result(of: Order.self, id: id, timeout: .seconds(60))
                try require(output.status == "confirmed", "\(id) confirmed")
                let effects = try await harness.effects(id)
                try require(effects == ["reserve": 1, "charge": 1, "confirm": 1], "\(id) effects exactly once: \(effects)")
            }
            for id in pipelines {
                let output = try await client.result(of: Pipeline.self, id: id, timeout: .seconds(60))
                try require(output.steps == 2, "\(id) completed")
                let effects = try await harness.effects(id)
                try require(effects == ["step-1": 1, "step-2": 1], "\(id) effects exactly once: \(effects)")
            }
            for id in approvals {
                let decision = try await client.result(of: Approval.self, id: id, timeout: .seconds(60))
                try require(decision == .init(approved: true, by: "ops"), "\(id) decision")
                let effects = try await harness.effects(id)
                try require(effects == ["submit": 1, "apply": 1], "\(id) effects exactly once: \(effects)")
            }
            // A later runner wrote the journal of each execution it resumed: a running one (its attempt grows) or a
            // waiting one (woken where it waited, its attempt unchanged).
            let audit = try await ClusterAudit.read(harness.storage)
            try require(audit.moved > 0, "some executions were resumed by a later runner: \(audit)")
            #expect(try await client.list(ExecutionFilter(status: .completed, limit: 1_000)).count == 230)
        }
    }

    @Test("a sleep's stored due time is unchanged across a kill -9 and the sleep returns no earlier")
    func dueTimeSurvivesKill() async throws {
        try await withProcesses { harness in
            let client = harness.client
            let runner = try await harness.startRunner("runner-1")
            _ = try await client.start(Reminder.self, id: "reminder", input: .init(delayMs: 2_000))
            try await runner.waitForLine(containing: "roost.execution=reminder")
            let key = try await client.status(workflow: "Reminder", id: "reminder").key
            let before = try await harness.storage.store.journal(key: key).first { $0.kind == .sleep }?.dueAt
            await runner.kill9()
            try await harness.startRunner("runner-2")
            let output = try await client.result(of: Reminder.self, id: "reminder", timeout: .seconds(60))
            let after = try await harness.storage.store.journal(key: key).first { $0.kind == .sleep }?.dueAt
            let due = try #require(before)
            #expect(after == due)
            #expect(output.dueAt == due)
            #expect(output.firedAt >= due)
            #expect(try await harness.effects("reminder") == ["remind": 1])
        }
    }

    @Test("cancels and resolves racing from two clients against a runner process end each execution exactly one way")
    func cancelResolveRace() async throws {
        try await withProcesses { harness in
            let runner = try await harness.startRunner("runner-1")
            let ids = (0..<100).map { "race-\($0)" }
            for id in ids {
                _ = try await harness.client.start(Approval.self, id: id, input: .init(requestId: id, coolOffMs: 0))
            }
            try await runner.waitForLine(containing: "execution suspended", count: ids.count)
            let outcomes = try await withRoostClient(harness.storage.configuration, logger: TestDatabase.logger) {
                canceller in
                try await withRoostClient(harness.storage.configuration, logger: TestDatabase.logger) { resolver in
                    try await withThrowingTaskGroup(of: (String, Bool).self) { group in
                        for id in ids {
                            group.addTask {
                                async let cancelled = canceller.cancel(workflow: "Approval", id: id)
                                _ = try await resolver.resolve(Approval.decision, of: Approval.self, id: id,
                                                               value: .init(approved: true, by: "race"))
                                return (id, try await cancelled.cancelled)
                            }
                        }
                        var outcomes: [String: Bool] = [:]
                        for try await (id, cancelled) in group { outcomes[id] = cancelled }
                        return outcomes
                    }
                }
            }
            for id in ids {
                let record = try await harness.client.result(workflow: "Approval", id: id, timeout: .seconds(60))
                let effects = try await harness.effects(id)
                if outcomes[id] == true {
                    try require(record.status == .cancelled, "\(id) reported cancelled but is \(record.status)")
                    try require((effects["apply"] ?? 0) <= 1, "\(id) applied at most once")
                } else {
                    try require(record.status == .completed, "\(id) not cancelled but is \(record.status)")
                    try require(effects["apply"] == 1, "\(id) applied exactly once")
                }
                try require(effects["submit"] == 1, "\(id) submitted exactly once")
            }
        }
    }

    @Test("SIGTERM stops the runner gracefully and the next runner resumes its executions")
    func gracefulShutdown() async throws {
        try await withProcesses { harness in
            let runner = try await harness.startRunner("runner-1")
            _ = try await harness.client.start(Pipeline.self, id: "graceful", input: .init(steps: 2, sleepMs: 500))
            try await runner.waitForLine(containing: "roost.execution=graceful")
            runner.signal(SIGTERM)
            let status = await runner.waitForExit()
            try require(status == 0, "exit status 0 after SIGTERM, got \(status)")
            try require(runner.output.contains("workflow engine stopped"), "the engine stopped gracefully")
            try await harness.startRunner("runner-2")
            let output = try await harness.client.result(of: Pipeline.self, id: "graceful", timeout: .seconds(60))
            #expect(output.steps == 2)
            #expect(try await harness.effects("graceful") == ["step-1": 1, "step-2": 1])
        }
    }
}
