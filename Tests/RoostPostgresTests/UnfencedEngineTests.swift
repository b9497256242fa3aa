import Roost
import RoostPostgres
import RoostTesting
import Testing

@Suite("No unfenced engine next to a cluster")
struct UnfencedEngineTests {
    @Test("""
        an engine without a placement refuses to run on a schema whose runners stored cluster settings, saying what \
        to use instead; one with a placement runs
        """)
    func refusedBesideACluster() async throws {
        try await withTestStorage { storage in
            _ = try await storage.cluster.settings(proposing: ClusterSettings())
            let unfenced = WorkflowEngine(store: storage.store, registry: testRegistry(), logger: TestDatabase.logger)
            let error = await #expect(throws: WorkflowError.self) { try await unfenced.run() }
            #expect(error?.code == .notAllowed)
            #expect(error?.message.contains("RoostRunner Runner") == true)
            let placed = WorkflowEngine(store: storage.store, registry: testRegistry(),
                                        placement: ExecutionPlacement(settings: ClusterSettings()),
                                        logger: TestDatabase.logger)
            try await withRunningEngine(placed) { _ in }
        }
    }
}
