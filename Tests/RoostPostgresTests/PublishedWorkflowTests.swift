import Roost
import RoostClient
import RoostPostgres
import RoostTesting
import Testing

@Suite("Workflows the runners publish")
struct PublishedWorkflowTests {
    @Test("""
        a client without a workflow's type starts it once a runner published it, with any JSON input; a name \
        neither it nor a runner has is refused with the names there are
        """)
    func startsWhatRunnersPublished() async throws {
        try await withTestStorage { storage in
            var hosted = WorkflowRegistry()
            hosted.register(AwaitValue())
            try await storage.store.publish(hosted.published(by: "127.0.0.1:7001"))
            let published = try await storage.store.publishedWorkflows()
            #expect(published.map(\.name) == ["AwaitValue"])
            #expect(published.first?.deferreds == ["value": "Int"])
            #expect(published.first?.publishedBy == "127.0.0.1:7001")
            var declaring = WorkflowRegistry()
            for workflow in published { declaring.declare(workflow) }
            #expect(declaring.names.isEmpty, "a declared workflow is never among what an engine claims and runs")

            try await withRoostClient(storage.configuration, registry: WorkflowRegistry(),
                                      logger: TestDatabase.logger) { (client: RoostClient) async throws in
                let started = try await client.start(workflow: "AwaitValue", id: "a-1", input: "7")
                #expect(started.created)
                let refused = await #expect(throws: WorkflowError.self) {
                    _ = try await client.start(workflow: "Nobody", id: "n-1", input: "{}")
                }
                #expect(refused?.code == .unknownWorkflow)
                #expect(refused?.message.contains("AwaitValue") == true)
            }
        }
    }
}
