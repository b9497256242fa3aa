import PostgresNIO

/// An error from the storage layer: configuration, migrations, or the database.
public struct StorageError: Error, Sendable, CustomStringConvertible {
    /// A stable, extensible classification of a ``StorageError``.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The code's stable text.
        public let rawValue: String
        /// Creates a code.
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The configuration is invalid.
        public static let invalidConfiguration = Code("invalid_configuration")
        /// A migration failed, or the database's schema is newer than this build.
        public static let migrationFailed = Code("migration_failed")
        /// The database could not be reached or refused the connection (wrong address, credentials or database).
        public static let databaseUnreachable = Code("database_unreachable")
        /// The database connection closed under an operation; retrying on a new connection may succeed.
        public static let connectionClosed = Code("connection_closed")
        /// Every machine id (0…1023) is taken by a live runner.
        public static let clusterFull = Code("cluster_full")
        /// The database refused an activity's SQL; the message carries PostgreSQL's message and SQLSTATE.
        public static let statementFailed = Code("statement_failed")
    }

    /// What kind of error this is.
    public var code: Code
    /// What happened, to what, and what to do.
    public var message: String
    /// The underlying error, if any.
    public var cause: (any Error)?
    /// Where the error was raised.
    public var file: String
    /// Where the error was raised.
    public var line: Int

    /// Creates an error.
    public init(_ code: Code, _ message: String, cause: (any Error)? = nil, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.cause = cause
        self.file = file
        self.line = line
    }

    public var description: String { "\(code): \(message)" }

    /// An activity's SQL refused by the database, as the activity's recorded failure: PostgreSQL's message and
    /// SQLSTATE, without the detail and query text that may carry the statement's values.
    static func statementFailed(_ error: PSQLError) -> StorageError {
        let message = error.serverInfo?[.message] ?? "unknown error"
        let state = error.serverInfo?[.sqlState] ?? "?????"
        return StorageError(.statementFailed, "the database refused the activity's SQL: \(message) (SQLSTATE \(state))",
                            cause: error)
    }
}
