import Foundation
import Tracing

/// The span of a wake-up, `roost.execution.wake`: from the moment a waiting run could go on (its deferred's
/// resolve, its timer's due time) to the moment it did, as a child of the run's span. Its length is the wake-up's
/// latency, whichever runner or process the resolve came from.
enum WakeUpSpan {
    /// What ended a wait.
    enum Cause: String {
        case deferred
        case timer
    }

    /// Records a wake-up that ends now.
    static func record(_ cause: Cause, name: String, since: Date, workflow: String, execution: String) {
        let nanoseconds = UInt64(max(0, min(since, Date()).timeIntervalSince1970) * 1_000_000_000)
        let span = startSpan("roost.execution.wake", at: DefaultTracerClock.Instant(nanosecondsSinceEpoch: nanoseconds))
        span.attributes["roost.workflow"] = workflow
        span.attributes["roost.execution"] = execution
        span.attributes["roost.wake.cause"] = cause.rawValue
        span.attributes["roost.wake.name"] = name
        span.end()
    }
}
