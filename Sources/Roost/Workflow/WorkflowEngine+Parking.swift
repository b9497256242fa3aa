import Foundation
import Logging
import Synchronization

extension WorkflowEngine {
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
            for key in keys { launchContinuation.yield(Launch(key: key, resuming: true)) }
        }
    }
}
