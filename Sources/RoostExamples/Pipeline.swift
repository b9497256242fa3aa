import Roost

/// Runs numbered steps with a durable pause after each.
///
/// Input `{"steps": Int, "sleepMs": Int}`; for each i from 1: activity `step-i`, then sleep `pause-i`;
/// output `{"steps": n}`.
public struct Pipeline: Workflow {
    /// How many steps and how long to pause.
    public struct Input: Codable, Sendable {
        /// The number of steps.
        public var steps: Int
        /// The pause after each step, in milliseconds.
        public var sleepMs: Int
        /// Creates an input.
        public init(steps: Int, sleepMs: Int) {
            self.steps = steps
            self.sleepMs = sleepMs
        }
    }

    /// How many steps ran.
    public struct Output: Codable, Sendable, Equatable {
        /// The number of steps.
        public var steps: Int
        /// Creates an output.
        public init(steps: Int) { self.steps = steps }
    }

    /// Creates the workflow.
    public init() {}

    public func run(_ input: Input, context: WorkflowContext) async throws -> Output {
        guard input.steps >= 0 else {
            throw WorkflowError(.invalidArgument, "steps must not be negative, got \(input.steps)")
        }
        for index in stride(from: 1, through: input.steps, by: 1) {
            try await context.activity("step-\(index)") { tx in try await Examples.effect(tx, step: "step-\(index)") }
            try await context.sleep("pause-\(index)", for: .milliseconds(input.sleepMs))
        }
        return Output(steps: input.steps)
    }
}
