import Foundation
import Roost

/// Greets someone once a person approves: records the request, pauses durably, waits for the approval and sends
/// the greeting. Each activity writes one row to `hello_effects` in its transaction.
public struct Greeting: Workflow {
    /// Whom to greet.
    public struct Input: Codable, Sendable {
        /// The name.
        public var name: String
        /// Creates an input.
        public init(name: String) { self.name = name }
    }

    /// The approval a person gives: `true` sends the greeting.
    public static let approval = Deferred<Bool>("approval")
    public static var deferreds: [any DeferredDeclaration] { [approval] }

    /// Creates the workflow.
    public init() {}

    public func run(_ input: Input, context: WorkflowContext) async throws -> String {
        try await context.activity("record") { tx in try await HelloTables.effect(tx, step: "record") }
        try await context.sleep("pause", for: .milliseconds(200))
        guard try await context.awaitDeferred(Self.approval, timeout: .seconds(86_400)) else {
            return "no greeting for \(input.name)"
        }
        try await context.activity("send") { tx in try await HelloTables.effect(tx, step: "send") }
        return "hello \(input.name)"
    }
}

/// One tick of the application's schedule: records its effect once.
public struct Chime: Workflow {
    /// Creates the workflow.
    public init() {}

    public func run(_ input: Date, context: WorkflowContext) async throws -> Date {
        try await context.activity("chime") { tx in try await HelloTables.effect(tx, step: "chime") }
        return input
    }
}
