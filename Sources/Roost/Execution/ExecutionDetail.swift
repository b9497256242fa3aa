import Foundation

/// Everything stored about an execution, for operators: the record, the runner hosting it, its journal with
/// timestamps, its timers and its deferreds.
public struct ExecutionDetail: Sendable {
    /// The execution.
    public var record: ExecutionRecord
    /// The address of the live runner that holds the execution's shard, if any.
    public var owner: String?
    /// Every durable call, by position.
    public var journal: [JournalRecord]
    /// Every deferred the execution awaits or was given.
    public var deferreds: [DeferredRecord]

    /// Creates a detail.
    public init(record: ExecutionRecord, owner: String?, journal: [JournalRecord], deferreds: [DeferredRecord]) {
        self.record = record
        self.owner = owner
        self.journal = journal
        self.deferreds = deferreds
    }

    /// The durable sleeps: each timer's due time and whether it fired.
    public var timers: [(name: String, dueAt: Date?, fired: Bool)] {
        journal.map(\.entry).filter { $0.kind == .sleep }.map { ($0.name, $0.dueAt, $0.state == .completed) }
    }
}

/// A journal entry with when it was first and last written.
public struct JournalRecord: Sendable {
    /// The entry.
    public var entry: JournalEntry
    /// When it was first written.
    public var recordedAt: Date
    /// When it was last written.
    public var updatedAt: Date

    /// Creates a record.
    public init(entry: JournalEntry, recordedAt: Date, updatedAt: Date) {
        self.entry = entry
        self.recordedAt = recordedAt
        self.updatedAt = updatedAt
    }
}

/// A deferred of an execution: resolved with a value, or awaited and still pending.
public struct DeferredRecord: Sendable {
    /// The deferred's name.
    public var name: String
    /// Its value as JSON text, once resolved.
    public var value: String?
    /// When it was resolved.
    public var resolvedAt: Date?
    /// Who resolved it, if known: the name the resolver gave, else the way in (`cli`, `http`, `client`).
    public var resolvedBy: String?

    /// Creates a record.
    public init(name: String, value: String?, resolvedAt: Date?, resolvedBy: String? = nil) {
        self.name = name
        self.value = value
        self.resolvedAt = resolvedAt
        self.resolvedBy = resolvedBy
    }
}

extension ExecutionDetail {
    /// The detail as a JSON object, as `roost workflow show --json` and the HTTP API show it.
    package var jsonObject: [String: Any] {
        var execution = record.jsonObject
        execution["owner"] = owner ?? NSNull()
        return [
            "execution": execution,
            "journal": journal.map { record -> [String: Any] in
                let entry = record.entry
                return [
                    "position": entry.position, "kind": entry.kind.rawValue, "name": entry.name,
                    "state": entry.state.rawValue, "attempts": entry.attempts, "result": JSONText.embed(entry.result),
                    "error": JSONText.failure(entry.error), "dueAt": JSONText.date(entry.dueAt),
                    "durationMs": entry.durationMs ?? NSNull(), "recordedAt": JSONText.date(record.recordedAt),
                    "updatedAt": JSONText.date(record.updatedAt),
                ]
            },
            "timers": timers.map { ["name": $0.name, "dueAt": JSONText.date($0.dueAt), "fired": $0.fired] },
            "deferreds": deferreds.map {
                ["name": $0.name, "state": $0.resolvedAt == nil ? "pending" : "resolved",
                 "value": JSONText.embed($0.value), "resolvedAt": JSONText.date($0.resolvedAt),
                 "resolvedBy": $0.resolvedBy ?? NSNull()] as [String: Any]
            },
        ]
    }
}
