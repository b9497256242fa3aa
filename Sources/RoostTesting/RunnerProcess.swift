import Foundation
import Synchronization

/// A `roost runner` child process for multi-process tests, or one of any application's executable whose `main` is
/// `RoostCommand.main(application:)`: started with an environment, its output captured line by line so a test can
/// await a log line instead of sleeping, and killed or stopped with any signal.
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
        var exitStatus: Int32?
        var exitWaiters: [CheckedContinuation<Int32, Never>] = []
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
    ///   - executable: The executable's path. Defaults to ``binary``.
    ///   - arguments: The command's arguments. Defaults to `runner`.
    ///   - environment: Variables to set (`ROOST_DATABASE_URL`, `ROOST_SCHEMA`, …).
    public init(name: String, executable: String = RunnerProcess.binary, arguments: [String] = ["runner"],
                environment: [String: String]) throws {
        self.name = name
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        // The output travels through a socket pair whose ends are close-on-exec from the start: another child
        // spawned at the same moment by another thread never inherits the child's end (which would keep the
        // output from ending). The child gets it as its output through dup2, which clears the flag on the copy.
        var ends: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends) == 0 else {
            throw RunnerProcessError(message: "cannot make a socket pair for the output of \(name): errno \(errno)")
        }
        let reader = FileHandle(fileDescriptor: ends[0], closeOnDealloc: true)
        let writer = FileHandle(fileDescriptor: ends[1], closeOnDealloc: true)
        process.standardOutput = writer
        process.standardError = writer
        process.terminationHandler = { [weak self] process in self?.exited(process.terminationStatus) }
        do {
            try process.run()
        } catch {
            try? reader.close()
            try? writer.close()
            throw error
        }
        try writer.close()
        // A thread of its own reads until the end of the output and owns the read end until then, so the
        // descriptor is never closed under a pending read, whenever this object goes away.
        let thread = Thread { [weak self] in
            while true {
                let data = reader.availableData
                if data.isEmpty { break }
                self?.append(String(decoding: data, as: UTF8.self))
            }
            try? reader.close()
            self?.endOfOutput()
        }
        thread.name = "output of \(name)"
        thread.start()
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
            let status = state.withLock { state in
                if state.exitStatus == nil { state.exitWaiters.append(continuation) }
                return state.exitStatus
            }
            if let status { continuation.resume(returning: status) }
        }
        // The output ends as the process exits (its output's only write end closes); a guard against a hung test
        // all the same.
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

    private func exited(_ status: Int32) {
        let waiters = state.withLock { state in
            state.exitStatus = status
            defer { state.exitWaiters = [] }
            return state.exitWaiters
        }
        for waiter in waiters { waiter.resume(returning: status) }
    }

    private func endOfOutput() {
        let (waiters, lineWaiters) = state.withLock { state in
            state.ended = true
            defer {
                state.endWaiters = []
                state.waiting = [:]
            }
            return (state.endWaiters, state.waiting.values.map(\.continuation))
        }
        for waiter in waiters { waiter.resume() }
        // Lines awaited but not printed never will be.
        for waiter in lineWaiters { waiter.resume(returning: false) }
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
    /// - Throws: ``RunnerProcessError`` with the runner's output if the lines did not come before its output ended
    ///   (the process exited) or in time.
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
                    let done = self.state.withLock { state -> Bool? in
                        let seen = state.lines.filter(predicate).count
                        if seen >= count { return true }
                        // The output ended (the process exited): the line can no longer come.
                        if state.ended { return false }
                        state.waiting[id] = Waiting(predicate: predicate, count: count - seen,
                                                    continuation: continuation)
                        return nil
                    }
                    if let done { continuation.resume(returning: done) }
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
                                     + "before its output ended or within \(timeout); its output:\n\(output)")
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
