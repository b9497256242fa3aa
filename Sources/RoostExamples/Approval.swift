import Roost

/// Submits a request, waits for a decision resolved from outside, cools off, then applies it.
///
/// Input `{"requestId": String, "coolOffMs": Int}`; deferred `decision` of shape `{"approved": Bool, "by": String}`;
/// output: the decision.
public struct Approval: Workflow {
    /// The request.
    public struct Input: Codable, Sendable {
        /// The request's id.
        public var requestId: String
        /// How long to wait after the decision before applying it, in milliseconds.
        public var coolOffMs: Int
        /// Creates an input.
        public init(requestId: String, coolOffMs: Int) {
            self.requestId = requestId
            self.coolOffMs = coolOffMs
        }
    }

    /// The decision someone resolves.
    public struct Decision: Codable, Sendable, Equatable {
        /// Whether the request is approved.
        public var approved: Bool
        /// Who decided.
        public var by: String
        /// Creates a decision.
        public init(approved: Bool, by: String) {
            self.approved = approved
            self.by = by
        }
    }

    /// The decision the workflow waits for.
    public static let decision = Deferred<Decision>("decision")
    public static var deferreds: [any DeferredDeclaration] { [decision] }

    /// Creates the workflow.
    public init() {}

    public func run(_ input: Input, context: WorkflowContext) async throws -> Decision {
        try await context.activity("submit") { tx in try await Examples.effect(tx, step: "submit") }
        let decision = try await context.awaitDeferred(Self.decision, timeout: .seconds(86_400))
        try await context.sleep("cool-off", for: .milliseconds(input.coolOffMs))
        try await context.activity("apply") { tx in try await Examples.effect(tx, step: "apply") }
        return decision
    }
}
