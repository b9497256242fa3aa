import Synchronization

/// This process's presence in PostgreSQL: the storage's listening connection carries `application_name` = ``name``
/// while it is connected. When the process dies, its connections close at once and the name disappears from
/// `pg_stat_activity`, which lets other runners declare it dead without waiting for its lease TTL.
final class SessionPresence: Sendable {
    /// The application name the listening connection sets: unique to this process.
    let name: String
    /// The application name of the pool's other connections: ``name`` and `/pool`, so that they do not count as
    /// the presence.
    var poolName: String { name + "/pool" }
    private let connected = Mutex(false)

    init(name: String) {
        self.name = name
    }

    /// Whether the connection carrying the name is up.
    var isConnected: Bool { connected.withLock { $0 } }

    /// The listening connection set the name, or lost it.
    func set(connected up: Bool) {
        connected.withLock { $0 = up }
    }

    /// Waits until the name is set or `timeout` passes; it is set moments after the storage starts.
    /// - Returns: Whether it is set.
    func awaitConnected(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !isConnected, ContinuousClock.now < deadline, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(10))
        }
        return isConnected
    }
}
