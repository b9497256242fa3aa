import Roost
import RoostPostgres

/// Reserves, charges and confirms an order: three activities, each one prepared SQL statement, so each commits with
/// its journal entry in one round trip (``WorkflowContext/activity(_:retry:prepared:)``).
///
/// Input `{"orderId": String, "amount": Int}`; output `{"orderId": String, "status": "confirmed"}`.
public struct Order: Workflow {
    /// The order to process.
    public struct Input: Codable, Sendable {
        /// The order's id.
        public var orderId: String
        /// The amount to charge.
        public var amount: Int
        /// Creates an input.
        public init(orderId: String, amount: Int) {
            self.orderId = orderId
            self.amount = amount
        }
    }

    /// The confirmed order.
    public struct Output: Codable, Sendable, Equatable {
        /// The order's id.
        public var orderId: String
        /// Always `confirmed`.
        public var status: String
        /// Creates an output.
        public init(orderId: String, status: String) {
            self.orderId = orderId
            self.status = status
        }
    }

    /// Its activities, in order.
    public static let steps = ["reserve", "charge", "confirm"]

    /// Creates the workflow.
    public init() {}

    public func run(_ input: Input, context: WorkflowContext) async throws -> Output {
        for step in Self.steps {
            try await context.activity(step, prepared: RecordEffect(executionId: context.executionId, step: step))
        }
        return Output(orderId: input.orderId, status: "confirmed")
    }
}
