import Foundation

/// Where cron schedules keep their definitions and progress, so that each tick starts once across failovers and
/// `roost schedule list` can show them.
public protocol ScheduleStore: Sendable {
    /// Stores a schedule's definition (replacing an earlier one of that name) and returns the time its ticks
    /// count from: the last tick started, or when the schedule was first registered.
    func register(_ schedule: ScheduleRecord) async throws -> Date

    /// Records that the schedule started every tick up to `tick`, and when the next one is due, under the lease of
    /// the schedule's shard.
    /// - Throws: ``ShardLeaseLost`` if the lease is no longer held.
    func recordTick(schedule: String, tick: Date, next: Date?, lease: ShardLease) async throws

    /// Every stored schedule, by name.
    func schedules() async throws -> [ScheduleRecord]

    /// The database's clock, which ticks are due by (never a runner's own).
    func databaseNow() async throws -> Date
}

/// A schedule as stored.
public struct ScheduleRecord: Sendable, Hashable {
    /// The schedule's name.
    public var name: String
    /// Its cron expression.
    public var cron: String
    /// The time zone the expression is read in.
    public var timeZone: String
    /// The workflow each tick starts.
    public var workflow: String
    /// Its catch-up policy, described.
    public var catchUp: String
    /// The last tick started.
    public var lastTick: Date?
    /// The next tick due.
    public var nextTick: Date?
    /// The live runner that runs it now, if any (see ``read(from:cluster:)``).
    public var runner: String?

    /// Creates a record.
    public init(name: String, cron: String, timeZone: String, workflow: String, catchUp: String,
                lastTick: Date? = nil, nextTick: Date? = nil, runner: String? = nil) {
        self.name = name
        self.cron = cron
        self.timeZone = timeZone
        self.workflow = workflow
        self.catchUp = catchUp
        self.lastTick = lastTick
        self.nextTick = nextTick
        self.runner = runner
    }

    /// Every stored schedule, each with the live runner that holds its shard.
    public static func read(from store: any ScheduleStore, cluster: any ClusterStore) async throws
        -> [ScheduleRecord] {
        let status = try await cluster.status()
        return try await store.schedules().map { record in
            var record = record
            record.runner = status.runner(ofSingleton: Schedule.singletonName(record.name))
            return record
        }
    }
}

extension ScheduleRecord {
    /// The schedule as a JSON object, as `roost schedule list --json` and the HTTP API show it.
    package var jsonObject: [String: Any] {
        ["name": name, "cron": cron, "timeZone": timeZone, "workflow": workflow, "catchUp": catchUp,
         "lastTick": JSONText.date(lastTick), "nextTick": JSONText.date(nextTick), "runner": runner ?? NSNull()]
    }
}
