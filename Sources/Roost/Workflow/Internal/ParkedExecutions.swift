import Foundation
import HeapModule

/// Waiting executions with no run in memory whose due time is near: parked by their runs, or read by the poll
/// ahead of their due times. Only their keys, due times and shards are in memory, until the due time comes near
/// and resumes them by replay (or a wake-up does first). Waiting executions further from their due time, or with
/// none, keep nothing in memory.
struct ParkedExecutions: Sendable {
    private struct Entry: Comparable, Sendable {
        var due: Date
        var key: ExecutionKey
        static func < (lhs: Entry, rhs: Entry) -> Bool { lhs.due < rhs.due }
    }

    private var timed: [ExecutionKey: Date] = [:]
    /// The shard of each parked execution (in a cluster).
    private var shardOf: [ExecutionKey: Int] = [:]
    /// Due times by urgency; entries whose execution was resumed or re-parked are skipped lazily.
    private var queue = Heap<Entry>()

    /// How many executions are parked.
    var count: Int { timed.count }

    /// Parks an execution of a shard (if in a cluster) until `due`.
    /// - Returns: Whether the earliest due time moved earlier.
    mutating func park(_ key: ExecutionKey, until due: Date, shard: Int?) -> Bool {
        if let shard { shardOf[key] = shard }
        let earliest = nextDue
        timed[key] = due
        queue.insert(Entry(due: due, key: key))
        return earliest.map { due < $0 } ?? true
    }

    /// Whether an execution is parked.
    func contains(_ key: ExecutionKey) -> Bool {
        timed[key] != nil
    }

    /// Takes an execution out of the parked set.
    /// - Returns: Whether it was parked.
    mutating func resume(_ key: ExecutionKey) -> Bool {
        shardOf[key] = nil
        return timed.removeValue(forKey: key) != nil
    }

    /// Forgets the parked executions of shards that left: their next owner runs them.
    mutating func remove(shards: Set<Int>) {
        for (key, shard) in shardOf where shards.contains(shard) { _ = resume(key) }
    }

    /// The earliest due time of a parked execution.
    var nextDue: Date? {
        mutating get {
            while let top = queue.min, timed[top.key] != top.due { queue.removeMin() }
            return queue.min?.due
        }
    }

    /// Takes every parked execution due before `limit`.
    mutating func takeDue(before limit: Date) -> [ExecutionKey] {
        var keys: [ExecutionKey] = []
        while let due = nextDue, due < limit {
            let entry = queue.removeMin()
            timed[entry.key] = nil
            shardOf[entry.key] = nil
            keys.append(entry.key)
        }
        return keys
    }
}
