import Foundation
import Roost
import RoostExamples

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

/// The benchmark's workflows plus the examples.
enum BenchRegistry {
    static var registry: WorkflowRegistry {
        var registry = Examples.registry
        registry.register(BenchWait())
        registry.register(BenchSleep())
        return registry
    }
}
