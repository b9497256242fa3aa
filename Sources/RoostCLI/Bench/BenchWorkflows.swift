import Foundation
import PostgresNIO
import Roost
import RoostExamples
import RoostPostgres

/// Waits for `go`, then reports when it resumed: the wake-up latency probe.
struct BenchWait: Workflow {
    static let go = Deferred<Bool>("go")
    static var deferreds: [any DeferredDeclaration] { [go] }

    func run(_ input: Int, context: WorkflowContext) async throws -> Date {
        _ = try await context.awaitDeferred(Self.go)
        return try context.now()
    }
}

/// Sleeps until a given time, then reports when the sleep returned: the timer lateness probe.
struct BenchSleep: Workflow {
    func run(_ dueAt: Date, context: WorkflowContext) async throws -> Date {
        try await context.sleep("nap", until: dueAt)
        return try context.now()
    }
}

/// `Order` with its three activities written as bodies (`BEGIN`, the `INSERT`, the journal entry, `COMMIT`)
/// rather than as single statements: what the statement form saves.
struct OrderWithBodies: Workflow {
    func run(_ input: Order.Input, context: WorkflowContext) async throws -> Order.Output {
        for step in ["reserve", "charge", "confirm"] {
            try await context.activity(step) { tx in
                try await tx.query("""
                    INSERT INTO example_effects (execution_id, step) VALUES (\(context.executionId), \(step))
                    """)
            }
        }
        return Order.Output(orderId: input.orderId, status: "confirmed")
    }
}

/// The benchmark's workflows plus the examples.
enum BenchRegistry {
    static var registry: WorkflowRegistry {
        var registry = Examples.registry
        registry.register(BenchWait())
        registry.register(BenchSleep())
        registry.register(OrderWithBodies())
        return registry
    }
}
