import Foundation
import HeapModule

/// Executions whose runs were parked: their tasks ended while they waited, and only their keys (and due times)
/// stay in memory. A wake-up, or their due time coming near, resumes them by replay.
struct ParkedExecutions: Sendable {
    private struct Entry: Comparable, Sendable {
        var due: Date
        var key: ExecutionKey
        static func < (lhs: Entry, rhs: Entry) -> Bool { lhs.due < rhs.due }
    }

    private var timed: [ExecutionKey: Date] = [:]
    private var untimed: Set<ExecutionKey> = []
    /// The shard of each parked execution (in a cluster).
    private var shardOf: [ExecutionKey: Int] = [:]
    /// Due times by urgency; entries whose execution was resumed or re-parked are skipped lazily.
    private var queue = Heap<Entry>()

    /// How many executions are parked.
    var count: Int { timed.count + untimed.count }

    /// Parks an execution of a shard (if in a cluster) until `due` (or until woken, if `nil`).
    /// - Returns: Whether the earliest due time moved earlier.
    mutating func park(_ key: ExecutionKey, until due: Date?, shard: Int?) -> Bool {
        if let shard { shardOf[key] = shard }
        guard let due else {
            untimed.insert(key)
            return false
        }
        let earliest = nextDue
        timed[key] = due
        queue.insert(Entry(due: due, key: key))
        return earliest.map { due < $0 } ?? true
    }

    /// Whether an execution is parked.
    func contains(_ key: ExecutionKey) -> Bool {
        untimed.contains(key) || timed[key] != nil
    }

    /// Takes an execution out of the parked set.
    /// - Returns: Whether it was parked.
    mutating func resume(_ key: ExecutionKey) -> Bool {
        shardOf[key] = nil
        return untimed.remove(key) != nil || timed.removeValue(forKey: key) != nil
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
