import PostgresNIO

/// Errors that come from the database or the way to it rather than from an activity's own SQL: a lost connection,
/// a server shutting down or restarting, a serialization failure or deadlock, a server that became read-only in a
/// failover. An activity that meets one is retried as infrastructure (its run replayed after a back-off) and uses up
/// none of its attempts; only its own errors count against its retry policy.
enum DatabaseHiccup {
    /// SQLSTATE classes that are never the statement's fault: connection exceptions, insufficient resources,
    /// system errors.
    private static let classes: Set<Substring> = ["08", "53", "58"]
    /// Single SQLSTATEs of the same kind: serialization failure, deadlock, a read-only transaction (a standby or a
    /// demoted primary), and the operator interventions and shutdowns of class 57 (not `57014`, a statement timeout
    /// or cancel, which may be the statement's own).
    private static let states: Set<String> = ["40001", "40P01", "25006", "57P01", "57P02", "57P03", "57P04", "57P05"]
    /// postgres-nio's own codes for a connection that went away.
    private static let connectionCodes: Set<PSQLError.Code> = [
        .clientClosedConnection, .serverClosedConnection, .connectionError, .uncleanShutdown, .poolClosed,
    ]

    /// Whether `error`, met by an activity's SQL on `connection`, is the database's rather than the activity's.
    static func isHiccup(_ error: any Error, on connection: PostgresConnection) -> Bool {
        connection.isClosed || isHiccup(error)
    }

    /// Whether `error` is the database's rather than the statement's.
    static func isHiccup(_ error: any Error) -> Bool {
        if let error = error as? StorageError { return error.code == .connectionClosed }
        guard let error = error as? PSQLError else { return false }
        guard let state = error.serverInfo?[.sqlState] else { return connectionCodes.contains(error.code) }
        return states.contains(state) || classes.contains(state.prefix(2))
    }
}
