import Foundation
import Synchronization

/// A `roost runner` child process for multi-process tests: started with an environment, its output captured line by
/// line so a test can await a log line instead of sleeping, and killed or stopped with any signal.
public final class RunnerProcess: Sendable {
    private struct Waiting {
        var predicate: @Sendable (String) -> Bool
        var count: Int
        var continuation: CheckedContinuation<Bool, Never>
    }

    private struct State {
        var lines: [String] = []
        var partial = ""
        var waiting: [Int: Waiting] = [:]
        var next = 0
        var ended = false
        var endWaiters: [CheckedContinuation<Void, Never>] = []
    }

    /// A name for messages ("runner-1").
    public let name: String
    private let process: Process
    private let state = Mutex(State())

    /// The `roost` executable: `ROOST_BINARY`, else `.build/debug/roost` under the current directory.
    public static var binary: String {
        if let path = ProcessInfo.processInfo.environment["ROOST_BINARY"], !path.isEmpty { return path }
        return FileManager.default.currentDirectoryPath + "/.build/debug/roost"
    }

    /// Starts `roost runner`, or another `roost` command, with the given environment added to this process's.
    /// - Parameters:
    ///   - name: A name for messages.
    ///   - arguments: The command's arguments. Defaults to `runner`.
    ///   - environment: Variables to set (`ROOST_DATABASE_URL`, `ROOST_SCHEMA`, …).
    public init(name: String, arguments: [String] = ["runner"], environment: [String: String]) throws {
        self.name = name
        process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let pipe = Pipe()
        // Other children this process spawns must not inherit the pipe: a copy of its write end would keep the
        // output from ever ending.
        _ = fcntl(pipe.fileHandleForReading.fileDescriptor, F_SETFD, FD_CLOEXEC)
        _ = fcntl(pipe.fileHandleForWriting.fileDescriptor, F_SETFD, FD_CLOEXEC)
        process.standardOutput = pipe
        process.standardError = pipe
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
                self?.endOfOutput()
                return
            }
            self?.append(String(decoding: data, as: UTF8.self))
        }
        try process.run()
    }

    /// The process id.
    public var pid: Int32 { process.processIdentifier }

    /// Every line the runner printed so far.
    public var output: String { state.withLock { ($0.lines + [$0.partial]).joined(separator: "\n") } }

    /// Sends a signal (`SIGKILL`, `SIGSTOP`, `SIGCONT`, `SIGTERM`).
    public func signal(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    /// Waits until the process has exited and all its output has been read, and returns its exit status.
    public func waitForExit() async -> Int32 {
        let status = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                self.process.waitUntilExit()
                continuation.resume(returning: self.process.terminationStatus)
            }
        }
        // The output ends when the last copy of the pipe's write end closes. A child spawned by another thread in
        // the instant before the pipe was marked close-on-exec may hold one: do not wait for it for ever.
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let ended = self.state.withLock { state in
                        if !state.ended { state.endWaiters.append(continuation) }
                        return state.ended
                    }
                    if ended { continuation.resume() }
                }
            }
            group.addTask { try? await Task.sleep(for: .seconds(5)) }
            await group.next()
            group.cancelAll()
            endOfOutput()
        }
        return status
    }

    private func endOfOutput() {
        let waiters = state.withLock { state in
            state.ended = true
            defer { state.endWaiters = [] }
            return state.endWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Kills the process with `SIGKILL` and waits until it is gone.
    public func kill9() async {
        signal(SIGKILL)
        _ = await waitForExit()
    }

    /// Waits until `count` printed lines (counting those already printed) contain `fragment`.
    /// - Parameters:
    ///   - fragment: The text to look for.
    ///   - count: How many lines must contain it. Defaults to 1.
    ///   - timeout: A guard against a hung test, not a timing assertion. Defaults to 60 seconds.
    /// - Throws: ``RunnerProcessError`` with the runner's output if the lines did not come in time.
    public func waitForLine(containing fragment: String, count: Int = 1,
                            timeout: Duration = .seconds(60)) async throws {
        let predicate: @Sendable (String) -> Bool = { $0.contains(fragment) }
        let id = state.withLock { state -> Int in
            state.next += 1
            return state.next
        }
        let found = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let done = self.state.withLock { state -> Bool in
                        let seen = state.lines.filter(predicate).count
                        if seen >= count { return true }
                        state.waiting[id] = Waiting(predicate: predicate, count: count - seen,
                                                    continuation: continuation)
                        return false
                    }
                    if done { continuation.resume(returning: true) }
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            let pending = self.state.withLock { $0.waiting.removeValue(forKey: id) }
            pending?.continuation.resume(returning: false)
            group.cancelAll()
            return first
        }
        guard found else {
            throw RunnerProcessError(message: "\(name) did not print \(count) line(s) containing '\(fragment)' "
                                     + "within \(timeout); its output:\n\(output)")
        }
    }

    private func append(_ text: String) {
        let ready = state.withLock { state -> [CheckedContinuation<Bool, Never>] in
            state.partial += text
            var lines = state.partial.components(separatedBy: "\n")
            state.partial = lines.removeLast()
            state.lines += lines
            var ready: [CheckedContinuation<Bool, Never>] = []
            for (id, var waiting) in state.waiting {
                waiting.count -= lines.filter(waiting.predicate).count
                if waiting.count <= 0 {
                    ready.append(waiting.continuation)
                    state.waiting[id] = nil
                } else {
                    state.waiting[id] = waiting
                }
            }
            return ready
        }
        for continuation in ready { continuation.resume(returning: true) }
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// A runner process did not do what a test awaited; the message carries its output.
public struct RunnerProcessError: Error, CustomStringConvertible {
    /// What happened, with the runner's output.
    public var message: String
    public var description: String { message }
}
