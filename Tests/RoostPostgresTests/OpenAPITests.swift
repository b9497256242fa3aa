import Foundation
import Logging
import Roost
import RoostHTTP
import RoostPostgres
import RoostTesting
import Testing
import Yams

@Suite("docs/openapi.yaml")
struct OpenAPITests {
    @Test("describes exactly the routes a runner serves (with metrics and cluster status, as roost runner does)")
    func matchesRoutes() async throws {
        let root = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("docs/openapi.yaml"), encoding: .utf8)
        let document = try #require(try Yams.load(yaml: text) as? [String: Any])
        #expect((document["openapi"] as? String)?.hasPrefix("3.") == true)
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        let methods = Set(["get", "post", "put", "patch", "delete"])
        let documented = Set(paths.flatMap { path, item in
            item.keys.filter(methods.contains).map { "\($0.uppercased()) \(path)" }
        })
        try await TestDatabase.withStorage { storage in
            let api = RunnerHTTPAPI(configuration: .init(address: RunnerAddress(host: "127.0.0.1", port: 1)),
                                    executions: Executions(store: storage.store),
                                    readiness: { .init(ready: true) }, metrics: { "" },
                                    cluster: { _ in throw CancellationError() },
                                    schedules: { [] },
                                    logger: TestDatabase.logger)
            #expect(Set(api.routes) == documented)
            #expect(api.routes.count == documented.count)
        }
    }
}
