import Foundation
import Logging
import Synchronization

extension WorkflowEngine {
    /// How far ahead the poll looks for waiting executions whose due time comes: far enough that each is in memory
    /// before ``parkedTimerLoop()`` must resume it, `parkAfter` ahead of its due time, even if a poll fails.
    var dueLookahead: Duration {
        (configuration.parkAfter ?? .zero) + configuration.pollInterval * 2 + .seconds(1)
    }

    /// Resumes parked runs `parkAfter` before their due times, so that they wait out the rest in memory and wake
    /// on time.
    func parkedTimerLoop() async {
        let lead = (configuration.parkAfter ?? .zero).seconds
        while !Task.isCancelled {
            parkedDueChanged.reset()
            let due = parked.withLock { $0.nextDue }
            let wakeAt = due.map { ContinuousClock.now + .seconds(max(0, databaseClock.interval(until: $0) - lead)) }
            await parkedDueChanged.wait(until: wakeAt)
            guard !Task.isCancelled else { return }
            let keys = parked.withLock { $0.takeDue(before: databaseClock.now.addingTimeInterval(lead)) }
            for key in keys { replay(Launch(key: key, resuming: true)) }
        }
    }

    /// Reads the waiting executions of the shards held whose due time comes within ``dueLookahead`` and keeps
    /// those with no run in memory until ``parkedTimerLoop()`` resumes them: one index range per poll, however
    /// many executions wait.
    func collectDueExecutions() async {
        let shards: [Int]? = placement == nil ? nil : self.shards.withLock { Array($0.epochs.keys) }
        if let shards, shards.isEmpty { return }
        do {
            let due = try await store.dueExecutions(
                workflows: registry.names, shards: shards,
                before: databaseClock.now.addingTimeInterval(dueLookahead.seconds), count: 10_000)
            var earlier = false
            for execution in due where !inMemory(execution.key) && holds(shard: execution.shard) {
                if parked.withLock({ $0.park(execution.key, until: execution.due, shard: execution.shard) }) {
                    earlier = true
                }
            }
            if earlier { parkedDueChanged.signal() }
        } catch {
            logger.debug("could not read the executions falling due",
                         metadata: ["roost.error": "\(String(reflecting: error))"])
        }
    }

    /// Whether a run of the execution is in memory, starting, queued to replay, or parked with its due time here.
    func inMemory(_ key: ExecutionKey) -> Bool {
        hosted.contains(key) || queued.withLock { $0.contains(key) } || replayQueued.withLock { $0.contains(key) }
            || parked.withLock { $0.contains(key) }
    }

    /// Clears the wake-up flag a parked run acted on, unless something changed since its last look; if that fails,
    /// the flag stays and the poll replays the execution once more.
    func settleWakeUp(_ key: ExecutionKey, seen: WakeMark) async {
        do {
            try await store.settleWakeUp(key: key, seen: seen)
        } catch {
            logger.debug("could not clear a parked execution's wake-up flag", metadata: [
                "roost.execution.key": "\(key)", "roost.error": "\(String(reflecting: error))",
            ])
        }
    }
}
