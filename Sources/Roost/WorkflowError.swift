/// An error from the workflow runtime: what happened, to what, and what to do.
///
/// Every error the runtime raises for a workflow or an execution is a `WorkflowError`. Its ``code`` is stable and
/// meant for programs (the CLI prints it, the JSON forms carry it); its ``message`` is meant for people.
public struct WorkflowError: Error, Sendable, CustomStringConvertible {
    /// A stable, extensible classification of a ``WorkflowError``.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The code's stable text, as it appears in JSON output.
        public let rawValue: String

        /// Creates a code from its stable text.
        public init(_ rawValue: String) { self.rawValue = rawValue }

        public var description: String { rawValue }

        /// No workflow with that name is registered.
        public static let unknownWorkflow = Code("unknown_workflow")
        /// No execution with that workflow and id exists.
        public static let unknownExecution = Code("unknown_execution")
        /// The execution id exists with a different input.
        public static let conflict = Code("conflict")
        /// A payload is not valid JSON or does not have the expected shape.
        public static let invalidPayload = Code("invalid_payload")
        /// A payload is larger than the configured limit.
        public static let payloadTooLarge = Code("payload_too_large")
        /// An argument is invalid (an empty id, a negative timeout, …).
        public static let invalidArgument = Code("invalid_argument")
        /// A replayed durable call does not match the one recorded at the same position.
        public static let nonDeterminism = Code("non_determinism")
        /// The execution was cancelled.
        public static let cancelled = Code("cancelled")
        /// An activity failed after its last attempt.
        public static let activityFailed = Code("activity_failed")
        /// The workflow's `run` threw.
        public static let workflowFailed = Code("workflow_failed")
        /// A wait ran past its timeout.
        public static let timedOut = Code("timed_out")
        /// The execution is in a state that does not allow the operation (a lost race).
        public static let notAllowed = Code("not_allowed")
        /// A deferred's name is not declared by the workflow.
        public static let unknownDeferred = Code("unknown_deferred")
        /// The database could not be reached or failed; the operation may be retried.
        public static let storageUnavailable = Code("storage_unavailable")
    }

    /// What kind of error this is.
    public var code: Code
    /// A human-readable message saying what happened, to what, and what to do.
    public var message: String
    /// The underlying error, if any.
    public var cause: (any Error)?
    /// Where the error was raised.
    public var file: String
    /// Where the error was raised.
    public var line: Int

    /// Creates an error.
    /// - Parameters:
    ///   - code: The classification.
    ///   - message: A message for people.
    ///   - cause: The underlying error, if any.
    public init(_ code: Code, _ message: String, cause: (any Error)? = nil,
                file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.cause = cause
        self.file = file
        self.line = line
    }

    public var description: String { "\(code): \(message)" }
}
