import Foundation
import Logging
import OpenAPIKit30
import Roost
import RoostHTTP
import RoostPostgres
import RoostTesting
import Testing
import Yams

@Suite("docs/openapi.yaml")
struct OpenAPITests {
    /// The document as an OpenAPI parser reads it.
    static func document() throws -> OpenAPI.Document {
        let root = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("docs/openapi.yaml"), encoding: .utf8)
        return try YAMLDecoder().decode(OpenAPI.Document.self, from: text)
    }

    @Test("is a valid OpenAPI 3.0 document, as OpenAPIKit parses and validates it")
    func valid() throws {
        let document = try Self.document()
        try document.validate()
        #expect(document.openAPIVersion.rawValue.hasPrefix("3.0"))
    }

    @Test("describes exactly the routes a runner serves (with metrics and cluster status, as roost runner does)")
    func matchesRoutes() async throws {
        let document = try Self.document()
        let documented = document.paths.flatMap { path, item in
            (item.pathItemValue?.endpoints ?? []).map { "\($0.method.rawValue) \(path.rawValue)" }
        }
        try await TestDatabase.withStorage { storage in
            let api = RunnerHTTPAPI(configuration: .init(address: RunnerAddress(host: "127.0.0.1", port: 1)),
                                    executions: Executions(store: storage.store),
                                    readiness: { .init(ready: true) }, metrics: { "" },
                                    cluster: { _ in throw CancellationError() },
                                    schedules: { [] },
                                    logger: TestDatabase.logger)
            #expect(Set(api.routes) == Set(documented))
            #expect(api.routes.count == documented.count)
        }
    }
}
