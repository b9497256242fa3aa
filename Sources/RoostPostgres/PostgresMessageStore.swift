import Foundation
import Logging
import PostgresNIO
import Roost

/// The ``MessageStore`` on PostgreSQL: table `entity_messages` in the configured schema. Arguments and reply values
/// are kept as JSON text, so a stored call reads plainly in `psql`. A reply is stored by one statement that first
/// share-locks the shard's lease row at the owner's epoch with the schema's `hold_lease` function (as
/// ``PostgresClusterStore/withFencedTransaction(_:_:)`` does), so a runner that lost the shard stores nothing.
public final class PostgresMessageStore: MessageStore {
    let client: PostgresClient
    let schema: String
    let logger: Logger

    init(client: PostgresClient, schema: String, logger: Logger) {
        self.client = client
        self.schema = "\"\(schema)\""
        self.logger = logger
    }

    public func accept(_ call: PersistedCall) async throws -> MessageAcceptance {
        let saved = try await client.guardedRows("""
            INSERT INTO \(unescaped: schema).entity_messages
                (entity_type, entity_id, request_id, shard_group, shard, target, generics, arguments)
            VALUES (\(call.address.type), \(call.address.id), \(call.requestID), \(call.shard.group),
                    \(call.shard.index), \(call.target), \(call.generics), \(call.arguments.map(Self.text)))
            ON CONFLICT (entity_type, entity_id, request_id) DO NOTHING
            RETURNING seq
            """, logger: logger)
        if !saved.isEmpty { return .saved }
        guard let existing = try await state(of: call.address, requestID: call.requestID) else {
            // Purged between the insert and the read: only a call completed longer ago than the retention is.
            return try await accept(call)
        }
        return .existing(existing)
    }

    public func state(of address: EntityAddress, requestID: String) async throws -> MessageState? {
        let rows = try await client.guardedRows("""
            SELECT shard_group, shard, target, generics, arguments, completed_at IS NOT NULL,
                   reply_value, reply_error_code, reply_error_message
            FROM \(unescaped: schema).entity_messages
            WHERE entity_type = \(address.type) AND entity_id = \(address.id) AND request_id = \(requestID)
            """, logger: logger)
        guard let row = rows.first else { return nil }
        let (group, shard, target, generics, arguments, completed, value, code, message) = try row.decode(
            (String, Int, String, [String], [String], Bool, String?, String?, String?).self)
        let call = PersistedCall(address: address, requestID: requestID, shard: ShardID(group: group, index: shard),
                                 target: target, generics: generics, arguments: arguments.map { Data($0.utf8) })
        guard completed else { return .pending(call) }
        return .completed(call, Self.reply(value: value, code: code, message: message))
    }

    public func complete(_ address: EntityAddress, requestID: String, reply: EntityReply,
                         lease: ShardLease) async throws -> EntityReply? {
        let stored = try await client.guardedRows("""
            WITH fence AS (
                SELECT \(unescaped: schema).hold_lease(\(lease.shard.group), \(lease.shard.index),
                                                       \(lease.epoch)) AS held
            )
            UPDATE \(unescaped: schema).entity_messages
            SET completed_at = now(), reply_value = \(reply.value.map(Self.text)),
                reply_error_code = \(reply.error?.code), reply_error_message = \(reply.error?.message)
            WHERE entity_type = \(address.type) AND entity_id = \(address.id) AND request_id = \(requestID)
              AND completed_at IS NULL AND (SELECT held FROM fence)
            RETURNING 1
            """, logger: logger)
        if !stored.isEmpty { return nil }
        switch try await state(of: address, requestID: requestID) {
        case .completed(_, let earlier): return earlier
        case .pending: throw ShardLeaseLost(lease: lease)
        case nil: return nil
        }
    }

    public func pending(in shards: [ShardID], olderThan age: Duration, limit: Int) async throws -> [PersistedCall] {
        guard !shards.isEmpty else { return [] }
        var calls: [PersistedCall] = []
        for row in try await client.guardedRows("""
            SELECT m.entity_type, m.entity_id, m.request_id, m.shard_group, m.shard, m.target, m.generics, m.arguments
            FROM unnest(\(shards.map(\.group))::text[], \(shards.map(\.index))::int[]) AS w(shard_group, shard)
            JOIN \(unescaped: schema).entity_messages m ON m.shard_group = w.shard_group AND m.shard = w.shard
            WHERE m.completed_at IS NULL
              AND m.created_at <= now() - \(age.wholeMilliseconds) * interval '1 millisecond'
            ORDER BY m.seq
            LIMIT \(limit)
            """, logger: logger) {
            let (type, id, requestID, group, shard, target, generics, arguments) = try row.decode(
                (String, String, String, String, Int, String, [String], [String]).self)
            calls.append(PersistedCall(address: EntityAddress(type: type, id: id), requestID: requestID,
                                       shard: ShardID(group: group, index: shard), target: target,
                                       generics: generics, arguments: arguments.map { Data($0.utf8) }))
        }
        return calls
    }

    public func purge(completedBefore age: Duration, limit: Int) async throws -> Int {
        let rows = try await client.guardedRows("""
            WITH gone AS (
                DELETE FROM \(unescaped: schema).entity_messages
                WHERE (entity_type, entity_id, request_id) IN (
                    SELECT entity_type, entity_id, request_id FROM \(unescaped: schema).entity_messages
                    WHERE completed_at < now() - \(age.wholeMilliseconds) * interval '1 millisecond'
                    ORDER BY completed_at LIMIT \(limit))
                RETURNING 1
            )
            SELECT count(*)::int FROM gone
            """, logger: logger)
        return try rows.first?.decode(Int.self) ?? 0
    }

    private static func text(_ json: Data) -> String {
        String(decoding: json, as: UTF8.self)
    }

    private static func reply(value: String?, code: String?, message: String?) -> EntityReply {
        if let code { return EntityReply(error: EntityCallError(code, message ?? "")) }
        return EntityReply(value: value.map { Data($0.utf8) })
    }
}
