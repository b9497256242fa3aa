import Foundation

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

    /// Whether the host is an IPv4 or IPv6 address rather than a name.
    public var isIPAddress: Bool {
        var ipv4 = in_addr()
        var ipv6 = in6_addr()
        return inet_pton(AF_INET, host, &ipv4) == 1 || inet_pton(AF_INET6, host, &ipv6) == 1
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
