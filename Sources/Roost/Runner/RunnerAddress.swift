/// A runner's address, `host:port`: where it listens for other runners and how they reach it.
public struct RunnerAddress: Hashable, Sendable, CustomStringConvertible {
    /// The host name or IP address (IPv6 in brackets: `[::1]:7420`).
    public var host: String
    /// The TCP port.
    public var port: Int

    /// An address.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port`.
    /// - Throws: ``WorkflowError`` `invalid_argument` saying what is wrong.
    public init(parsing text: String) throws {
        guard let colon = text.lastIndex(of: ":") else {
            throw WorkflowError(.invalidArgument, "runner address '\(text)' must be host:port, like 127.0.0.1:7420")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, !host.contains(where: { $0 == " " || $0 == "/" }) else {
            throw WorkflowError(.invalidArgument, "runner address '\(text)' has no valid host before the port")
        }
        guard let port = Int(text[text.index(after: colon)...]), (1...65_535).contains(port) else {
            throw WorkflowError(.invalidArgument, "runner address '\(text)' must end in a port from 1 to 65535")
        }
        self.init(host: host, port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
