import Foundation

/// Why an execution's run must stop making durable calls.
enum StopReason: Sendable {
    /// The execution was cancelled; the workflow sees a `cancelled` error.
    case cancelled
    /// The execution is no longer writable by this run (finished elsewhere).
    case lost(ExecutionStatus?)
    /// The replayed code diverged from the journal; the execution fails with this error.
    case nonDeterminism(WorkflowError)
    /// The database failed; the run is abandoned and replayed later.
    case storage(any Error)
    /// The process is shutting down; the run is abandoned and replayed by the next start.
    case shutdown
    /// The run waited long enough to be parked: its task ends, and a wake-up or its due time (if any) replays it.
    case parked(Date?)
    /// The execution's shard left this runner; its next owner replays it.
    case moved

    /// Whether the run ends without writing an outcome: someone else decided it, or the process stops.
    var abandonsRun: Bool {
        switch self {
        case .cancelled, .lost, .shutdown, .parked, .moved: true
        case .nonDeterminism, .storage: false
        }
    }

    /// The error durable calls throw into the workflow once the run is stopped.
    func error(executionId: String) -> any Error {
        switch self {
        case .cancelled:
            return WorkflowError(.cancelled, "execution '\(executionId)' was cancelled")
        case .lost(let status):
            return WorkflowError(.notAllowed, "execution '\(executionId)' is \(status?.rawValue ?? "gone") and "
                                 + "can no longer be changed by this run")
        case .nonDeterminism(let error):
            return error
        case .storage(let error):
            return WorkflowError(.storageUnavailable, "the database failed during execution '\(executionId)': "
                                 + "\(error); the run will be replayed", cause: error)
        case .shutdown, .parked, .moved:
            return CancellationError()
        }
    }
}

/// The replay cursor of one run: the recorded journal, the next position, and deterministic values not yet written.
struct ReplayState: Sendable {
    var recorded: [JournalEntry]
    var next = 0
    var unwritten: [JournalEntry] = []
    var stop: StopReason?
    /// The execution's status as last stored by this run (or found when it was claimed).
    var storedStatus: ExecutionStatus
    /// What the run's last look at the execution (its claim, or a read of its wait state) saw of changes from
    /// outside.
    var wakeMark: WakeMark

    init(journal: [JournalEntry], status: ExecutionStatus, wakeMark: WakeMark = WakeMark()) {
        recorded = journal.sorted { $0.position < $1.position }
        storedStatus = status
        self.wakeMark = wakeMark
    }

    /// Claims the next position for a call, returning its recorded entry if the journal has one.
    mutating func begin(_ kind: JournalEntry.Kind, _ name: String, executionId: String) throws -> (Int, JournalEntry?) {
        if let stop { throw stop.error(executionId: executionId) }
        let position = next
        next += 1
        guard position < recorded.count else { return (position, nil) }
        let entry = recorded[position]
        guard entry.kind == kind, entry.name == name else {
            let error = WorkflowError(.nonDeterminism,
                                      "execution '\(executionId)' diverged from its journal at position \(position): "
                                      + "the journal records \(entry.call) but the workflow called \(kind) '\(name)'")
            stop = .nonDeterminism(error)
            throw error
        }
        return (position, entry)
    }

    /// The error if the workflow returned while the journal records further calls.
    func unreplayedCalls(executionId: String) -> WorkflowError? {
        guard next < recorded.count else { return nil }
        return WorkflowError(.nonDeterminism,
                             "execution '\(executionId)' diverged from its journal at position \(next): the journal "
                             + "records \(recorded[next].call) but the workflow returned")
    }
}
