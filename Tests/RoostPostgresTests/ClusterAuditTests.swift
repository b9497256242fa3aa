import Foundation
import PostgresNIO
import Roost
import RoostPostgres
import RoostTesting
import Testing

@Suite("Cluster audit")
struct ClusterAuditTests {
    @Test("a journal write by a runner that did not hold the shard stays in the audit after the owner rewrites the entry")
    func staleWriteKeepsItsTrace() async throws {
        try await withTestStorage { storage in
            _ = try await storage.cluster.settings(proposing: ClusterSettings(shardsPerGroup: 4))
            let (first, second) = (UUID(), UUID())
            _ = try await storage.client.query("""
                INSERT INTO runners (incarnation, address, machine_id, lease_ttl_ms, expires_at, session)
                VALUES (\(first), '127.0.0.1:7001', 0, 1000, now(), 'first'),
                       (\(second), '127.0.0.1:7002', 1, 1000, now(), 'second')
                """)
            _ = try await storage.client.query("""
                INSERT INTO shard_lease_history (shard_group, shard, epoch, owner)
                VALUES ('default', 0, 1, \(first)), ('default', 0, 2, \(second))
                """)
            let key = try #require(try await storage.client.query("""
                INSERT INTO executions (workflow, id, status, input, attempt, shard)
                VALUES ('Order', 'audited', 'waiting', '{}', 1, 0) RETURNING key
                """).collect().first?.decode(Int64.self))
            // 'second' writes at epoch 1, which 'first' held; then it rewrites the entry at its own epoch 2.
            let waiting = #"[{"position": 0, "kind": "sleep", "name": "nap", "state": "waiting", "attempts": 0}]"#
            let completed = #"[{"position": 0, "kind": "sleep", "name": "nap", "state": "completed", "attempts": 0}]"#
            _ = try await storage.client.query("SELECT write_journal(\(key), \(waiting), 'second', 1)")
            _ = try await storage.client.query("SELECT write_journal(\(key), \(completed), 'second', 2)")
            let audit = try await ClusterAudit.read(storage)
            #expect(audit.unfencedEntries == 1, "\(audit)")
        }
    }
}
