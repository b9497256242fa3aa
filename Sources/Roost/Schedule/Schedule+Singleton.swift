import Foundation
import Logging

extension Schedule {
    /// How many due ticks one round starts before it records its progress.
    static let batch = 100

    /// The name of the singleton that runs schedule `name`.
    public static func singletonName(_ name: String) -> String {
        "schedule:\(name)"
    }

    /// The schedule as a singleton, `schedule:<name>`: it runs on the holder of that name's shard, which starts
    /// each tick's execution through `executions` and records its progress in `store`.
    public func singleton(store: any ScheduleStore, executions: Executions) -> Singleton {
        Singleton(Self.singletonName(name)) { context in
            try await run(context, store: store, executions: executions)
        }
    }

    private func run(_ context: SingletonContext, store: any ScheduleStore, executions: Executions) async throws {
        var logger = context.logger
        logger[metadataKey: "roost.schedule"] = "\(name)"
        // Ticks are due by the database's clock, read each round: a runner whose own clock is off starts them on
        // time all the same.
        var cursor = try await store.register(ScheduleRecord(
            name: name, cron: cron.description, timeZone: timeZone.identifier, workflow: workflow,
            catchUp: catchUp.description, nextTick: cron.next(after: try await store.databaseNow(), in: timeZone)))
        while true {
            let now = try await store.databaseNow()
            let read = ContinuousClock.now
            let (ticks, skipped) = due(after: cursor, now: now, batch: Self.batch)
            if let skipped {
                logger.warning("skipped missed ticks older than the catch-up limit", metadata: [
                    "roost.from": "\(Timestamp.format(skipped.lowerBound))",
                    "roost.until": "\(Timestamp.format(skipped.upperBound))",
                ])
                cursor = max(cursor, skipped.upperBound.addingTimeInterval(-1))
            }
            for tick in ticks {
                let id = executionID(for: tick)
                let started = try await executions.start(workflow: workflow, id: id, input: try input(tick))
                if started.created { logger.debug("schedule tick started", metadata: ["roost.execution": "\(id)"]) }
            }
            if let last = ticks.last {
                try await store.recordTick(schedule: name, tick: last, next: cron.next(after: last, in: timeZone),
                                           lease: context.lease)
                cursor = last
            }
            if ticks.count == Self.batch { continue }
            guard let next = cron.next(after: max(cursor, now), in: timeZone) else {
                logger.warning("the schedule has no next tick; it stops here")
                return
            }
            try await Task.sleep(until: read + .seconds(max(0, next.timeIntervalSince(now))), clock: .continuous)
        }
    }
}
