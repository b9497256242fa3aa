/// The error an activity raises, live and on every replay, once its last attempt has failed.
///
/// Catch it in a workflow to compensate; left uncaught it fails the execution with code `activity_failed`.
public struct ActivityFailure: Error, Sendable, CustomStringConvertible {
    /// The activity's name.
    public var activity: String
    /// How many attempts were made.
    public var attempts: Int
    /// The last attempt's error, as recorded in the journal.
    public var lastError: FailureInfo

    /// Creates the failure of `activity` after `attempts` attempts.
    public init(activity: String, attempts: Int, lastError: FailureInfo) {
        self.activity = activity
        self.attempts = attempts
        self.lastError = lastError
    }

    public var description: String {
        "activity '\(activity)' failed after \(attempts) attempt\(attempts == 1 ? "" : "s"): \(lastError.message)"
    }
}
