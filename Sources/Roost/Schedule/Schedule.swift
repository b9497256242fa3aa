import Foundation

/// A durable cron schedule: every tick of its expression starts one execution of a workflow, with the id
/// `<name>@<tick time, ISO 8601 UTC>`. Starting is idempotent by id, so each tick runs exactly once however often
/// runners fail over or restart. The holder of the schedule's shard runs it; ticks missed while no runner held it
/// are handled by its ``CatchUp`` policy.
///
/// ```swift
/// let nightly = try Schedule("nightly-report", cron: "0 0 2 * * *", timeZone: TimeZone(identifier: "Europe/Paris")!,
///                            starting: Report.self) { tick in Report.Input(day: tick) }
/// ```
public struct Schedule: Sendable {
    /// What to do with ticks that passed while no runner ran the schedule.
    public enum CatchUp: Sendable, Hashable, CustomStringConvertible {
        /// Skip missed ticks older than this; run the more recent ones, each once.
        case skip(olderThan: Duration)
        /// Run every missed tick once, the oldest first.
        case runEach

        public var description: String {
            switch self {
            case .skip(let age): "skip older than \(Int(age.seconds)) s"
            case .runEach: "run each"
            }
        }
    }

    /// The schedule's name, unique in the cluster.
    public let name: String
    /// When it ticks.
    public let cron: CronExpression
    /// The time zone the expression is read in.
    public let timeZone: TimeZone
    /// What happens to missed ticks.
    public let catchUp: CatchUp
    /// The workflow each tick starts.
    public let workflow: String
    let input: @Sendable (Date) throws -> String

    /// A schedule that starts `workflow` on every tick, with the input `input` makes for the tick's time.
    /// - Throws: ``WorkflowError`` `invalid_argument` for an invalid expression or name.
    public init<W: Workflow>(_ name: String, cron: String, timeZone: TimeZone = TimeZone(identifier: "UTC")!,
                             catchUp: CatchUp = .skip(olderThan: .seconds(3_600)), starting workflow: W.Type,
                             input: @escaping @Sendable (Date) -> W.Input) throws {
        guard !name.isEmpty, name.utf8.count <= 200, !name.contains("@") else {
            throw WorkflowError(.invalidArgument, "schedule name '\(name)' must have 1 to 200 bytes and no '@'")
        }
        self.name = name
        self.cron = try CronExpression(cron)
        self.timeZone = timeZone
        self.catchUp = catchUp
        self.workflow = W.name
        let coder = PayloadCoder()
        self.input = { tick in try coder.encode(input(tick), what: "input of \(W.name) for schedule '\(name)'") }
    }

    /// The id of the execution a tick starts.
    public func executionID(for tick: Date) -> String {
        "\(name)@\(Self.tickFormat.format(tick))"
    }

    /// The next ticks to start after `last`, the last tick started, up to `now`: at most `batch`, the oldest first.
    /// With ``CatchUp/skip(olderThan:)``, ticks older than its limit are passed over, and `skipped` says from when.
    func due(after last: Date, now: Date, batch: Int) -> (ticks: [Date], skipped: ClosedRange<Date>?) {
        var cursor = last
        var skipped: ClosedRange<Date>?
        if case .skip(let age) = catchUp {
            let oldest = now.addingTimeInterval(-age.seconds)
            if let first = cron.next(after: last, in: timeZone), first < oldest {
                // The first tick at or after `oldest` comes after the second before it.
                cursor = max(last, oldest.addingTimeInterval(-1))
                skipped = first...oldest
            }
        }
        var ticks: [Date] = []
        while ticks.count < batch, let tick = cron.next(after: cursor, in: timeZone), tick <= now {
            ticks.append(tick)
            cursor = tick
        }
        return (ticks, skipped)
    }

    private static let tickFormat = Date.ISO8601FormatStyle(timeZone: TimeZone(identifier: "UTC")!)
}
