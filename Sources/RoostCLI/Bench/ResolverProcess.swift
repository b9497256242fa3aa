import Foundation
import Roost
import RoostPostgres
import Synchronization

/// A `roost bench resolver` child process: resolves `BenchWait` executions through `RoostClient` from another
/// process, one per request, and answers with the time it called `resolve`.
final class ResolverProcess {
    private let process = Process()
    private let input = Pipe()
    private var lines: AsyncStream<String>.Iterator

    init(configuration: StorageConfiguration) throws {
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        process.arguments = ["bench", "resolver"]
        var environment = ProcessInfo.processInfo.environment
        environment["ROOST_DATABASE_URL"] = configuration.url
        environment["ROOST_SCHEMA"] = configuration.schema
        process.environment = environment
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        let (stream, continuation) = AsyncStream.makeStream(of: String.self)
        lines = stream.makeAsyncIterator()
        let partial = Mutex("")
        output.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            guard !data.isEmpty else {
                continuation.finish()
                handle.readabilityHandler = nil
                return
            }
            let complete = partial.withLock { buffer -> [String] in
                buffer += String(decoding: data, as: UTF8.self)
                var parts = buffer.components(separatedBy: "\n")
                buffer = parts.removeLast()
                return parts
            }
            for line in complete { continuation.yield(line) }
        }
        try process.run()
    }

    /// Asks the child to resolve an execution and returns when it called `resolve`.
    func resolve(_ id: String) async throws -> Date {
        input.fileHandleForWriting.write(Data("\(id)\n".utf8))
        guard let line = await lines.next(), let date = Timestamp.parse(line) else {
            throw WorkflowError(.storageUnavailable, "the resolver process stopped answering")
        }
        return date
    }

    func stop() {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}
