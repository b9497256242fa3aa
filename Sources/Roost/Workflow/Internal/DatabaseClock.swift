import Foundation
import Synchronization

/// The database's clock as this process can tell it (DESIGN decision 18): its own clock plus the offset last
/// measured against the database's `now()`.
///
/// The offset is taken as if the database read its clock at the latest moment it could have, when its answer
/// arrived. The estimate therefore never runs ahead of the database by more than the clocks drift between two
/// measurements, and a due time compared with it never fires early by the database's clock. It may fire late by up
/// to one round trip.
final class DatabaseClock: Sendable {
    private let local: @Sendable () -> Date
    private let offset = Mutex<TimeInterval>(0)

    /// A clock that reads `local` (the process's own clock, injected by tests that skew it) and corrects it.
    init(local: @escaping @Sendable () -> Date) {
        self.local = local
    }

    /// The database's time now, as estimated.
    var now: Date { local().addingTimeInterval(offset.withLock { $0 }) }

    /// How long from now until `date` by the database's clock.
    func interval(until date: Date) -> TimeInterval { date.timeIntervalSince(now) }

    /// Measures the offset against the database.
    /// - Parameter read: Reads the database's `now()`.
    func measure(_ read: () async throws -> Date) async throws {
        let databaseNow = try await read()
        let received = local()
        offset.withLock { $0 = databaseNow.timeIntervalSince(received) }
    }
}
