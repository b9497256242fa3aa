import Foundation
import Roost

/// Sleeps durably, then reminds.
///
/// Input `{"delayMs": Int}`; output `{"dueAt": ISO-8601, "firedAt": ISO-8601}`, `firedAt` read when the sleep
/// returned.
public struct Reminder: Workflow {
    /// How long to wait.
    public struct Input: Codable, Sendable {
        /// The delay in milliseconds.
        public var delayMs: Int
        /// Creates an input.
        public init(delayMs: Int) { self.delayMs = delayMs }
    }

    /// When the reminder was due and when it fired.
    public struct Output: Codable, Sendable {
        /// The sleep's stored due time.
        public var dueAt: Date
        /// When the sleep returned.
        public var firedAt: Date
    }

    /// Creates the workflow.
    public init() {}

    public func run(_ input: Input, context: WorkflowContext) async throws -> Output {
        let dueAt = try context.now().addingTimeInterval(Double(input.delayMs) / 1000)
        try await context.sleep("delay", until: dueAt)
        let firedAt = try context.now()
        try await context.activity("remind") { tx in try await Examples.effect(tx, step: "remind") }
        return Output(dueAt: dueAt, firedAt: firedAt)
    }
}
