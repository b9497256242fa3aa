import Foundation
import Roost

/// One tick of a schedule: records its effect once.
///
/// Input `{"scheduledAt": ISO-8601}`, the tick's time; output the same.
public struct Tick: Workflow {
    /// The tick.
    public struct Input: Codable, Sendable {
        /// When the tick was scheduled.
        public var scheduledAt: Date
        /// Creates an input.
        public init(scheduledAt: Date) { self.scheduledAt = scheduledAt }
    }

    /// Creates the workflow.
    public init() {}

    public func run(_ input: Input, context: WorkflowContext) async throws -> Input {
        try await context.activity("tick") { tx in try await Examples.effect(tx, step: "tick") }
        return input
    }
}

extension Examples {
    /// The example schedule `tick-every-second`: a `Tick` every second (UTC), missed ticks of the last hour run
    /// once each. `roost runner` registers it with `ROOST_EXAMPLE_SCHEDULES=on`.
    public static var schedules: [Schedule] {
        // The expression is a constant known to be valid.
        [try! Schedule("tick-every-second", cron: "* * * * * *", starting: Tick.self) { Tick.Input(scheduledAt: $0) }]
    }
}
