import Foundation
import NIOSSL
import PostgresNIO

/// Where and how Roost stores its state: one PostgreSQL database and one schema, for every query.
public struct StorageConfiguration: Sendable {
    /// The server's host. Defaults to `127.0.0.1`.
    public var host: String = "127.0.0.1"
    /// The server's port. Defaults to 5432.
    public var port: Int = 5432
    /// The user name. Defaults to `postgres`.
    public var username: String = "postgres"
    /// The password, if any.
    public var password: String?
    /// The database. Defaults to the user name.
    public var database: String?
    /// Whether to use TLS: `disable`, `prefer` or `require`, as libpq's `sslmode`. Defaults to `disable` for a
    /// loopback host and `prefer` otherwise.
    public var tlsMode: String = "prefer"
    /// The schema every table lives in. Defaults to `roost`.
    public var schema: String = "roost"
    /// The most connections the pool opens. Defaults to 20.
    public var maximumConnections: Int = 20
    /// Whether this process listens for notifications (wake-ups, completions) from other processes. When off,
    /// the batched poll alone delivers them. Defaults to on.
    public var notifications: Bool = true

    /// Creates a configuration for a server.
    public init(host: String = "127.0.0.1", port: Int = 5432, username: String = "postgres",
                password: String? = nil, database: String? = nil, schema: String = "roost") throws {
        self.host = host
        tlsMode = Self.defaultTLSMode(host: host)
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.schema = schema
        try validate()
    }

    /// Creates a configuration from a URL such as `postgres://user:password@127.0.0.1:5432/db?sslmode=disable`.
    /// - Throws: ``StorageError`` `invalid_configuration` naming what is wrong.
    public init(url: String, schema: String = "roost") throws {
        guard let components = URLComponents(string: url),
              components.scheme == "postgres" || components.scheme == "postgresql",
              let host = components.host, !host.isEmpty
        else {
            throw StorageError(.invalidConfiguration,
                               "'\(Self.redacted(url))' is not a database URL of the form "
                               + "postgres://user[:password]@host[:port]/database")
        }
        self.host = host
        tlsMode = Self.defaultTLSMode(host: host)
        port = components.port ?? 5432
        username = components.user.flatMap { $0.removingPercentEncoding } ?? "postgres"
        password = components.password.flatMap { $0.removingPercentEncoding }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        database = path.isEmpty ? nil : path
        if let mode = components.queryItems?.first(where: { $0.name == "sslmode" })?.value {
            tlsMode = mode
        }
        self.schema = schema
        try validate()
    }

    /// Reads the configuration from the environment: `ROOST_DATABASE_URL`, or else `POSTGRES_HOST`,
    /// `POSTGRES_PORT`, `POSTGRES_USER`, `POSTGRES_PASSWORD`, `POSTGRES_DB`; the schema from `ROOST_SCHEMA`.
    /// - Parameter url: A URL that takes precedence over the environment (a `--database-url` option).
    /// - Throws: ``StorageError`` `invalid_configuration` if no database is configured or a value is invalid.
    public static func fromEnvironment(url: String? = nil,
                                       environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> StorageConfiguration {
        let schema = environment["ROOST_SCHEMA"].flatMap { $0.isEmpty ? nil : $0 } ?? "roost"
        var configuration: StorageConfiguration
        if let url = url ?? environment["ROOST_DATABASE_URL"], !url.isEmpty {
            configuration = try StorageConfiguration(url: url, schema: schema)
        } else if let host = environment["POSTGRES_HOST"], !host.isEmpty {
            let portText = environment["POSTGRES_PORT"] ?? "5432"
            guard let port = Int(portText) else {
                throw StorageError(.invalidConfiguration, "POSTGRES_PORT '\(portText)' is not a port number")
            }
            configuration = try StorageConfiguration(
                host: host, port: port, username: environment["POSTGRES_USER"] ?? "postgres",
                password: environment["POSTGRES_PASSWORD"],
                database: environment["POSTGRES_DB"] ?? environment["POSTGRES_DATABASE"], schema: schema)
        } else {
            throw StorageError(.invalidConfiguration,
                               "no database configured: pass --database-url or set ROOST_DATABASE_URL "
                               + "(scripts/postgres.sh start prints a local one)")
        }
        if let notifications = environment["ROOST_NOTIFICATIONS"] {
            switch notifications.lowercased() {
            case "on", "true", "1": configuration.notifications = true
            case "off", "false", "0": configuration.notifications = false
            default:
                throw StorageError(.invalidConfiguration,
                                   "ROOST_NOTIFICATIONS '\(notifications)' must be 'on' or 'off'")
            }
        }
        if let pool = environment["ROOST_DATABASE_POOL_SIZE"] {
            guard let size = Int(pool), size >= 2 else {
                throw StorageError(.invalidConfiguration,
                                   "ROOST_DATABASE_POOL_SIZE '\(pool)' must be a number of at least 2")
            }
            configuration.maximumConnections = size
        }
        return configuration
    }

    /// TLS buys nothing on loopback, and its negotiation is one more step that can stall while a restarting
    /// server accepts and drops connections.
    static func defaultTLSMode(host: String) -> String {
        ["127.0.0.1", "localhost", "::1"].contains(host) || host.hasPrefix("127.") ? "disable" : "prefer"
    }

    /// Checks the schema name and the TLS mode.
    func validate() throws {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789_")
        guard let first = schema.first, first.isLetter || first == "_", schema.count <= 48,
              schema.allSatisfy({ allowed.contains($0) })
        else {
            throw StorageError(.invalidConfiguration,
                               "schema '\(schema)' must be 1 to 48 lowercase letters, digits or underscores, "
                               + "starting with a letter or an underscore")
        }
        guard ["disable", "prefer", "require", "allow", "verify-ca", "verify-full"].contains(tlsMode) else {
            throw StorageError(.invalidConfiguration,
                               "sslmode '\(tlsMode)' must be one of disable, prefer, require")
        }
        guard (1...65535).contains(port) else {
            throw StorageError(.invalidConfiguration, "port \(port) is not between 1 and 65535")
        }
    }

    /// The URL, password included, for handing the configuration to another process.
    public var url: String {
        var components = URLComponents()
        components.scheme = "postgres"
        components.user = username
        components.password = password
        components.host = host
        components.port = port
        components.path = "/" + (database ?? username)
        components.queryItems = [URLQueryItem(name: "sslmode", value: tlsMode)]
        return components.string ?? redactedURL
    }

    /// The URL without its password, for messages.
    public var redactedURL: String {
        "postgres://\(username)@\(host):\(port)/\(database ?? username)"
    }

    /// A database URL fit for a message: never its password, however the rest of it parses. Everything between
    /// the first `:` after `://` and the last `@` is the password; a URL without an `@` has none, and one that
    /// does not parse is shown only up to `://` (what follows may be a password typed where a port goes).
    static func redacted(_ url: String) -> String {
        guard let separator = url.range(of: "://") else { return "(a value that is not a URL)" }
        let rest = url[separator.upperBound...]
        guard let at = rest.lastIndex(of: "@") else {
            return URLComponents(string: url) != nil ? url : url[..<separator.upperBound] + "…"
        }
        guard let colon = rest[..<at].firstIndex(of: ":") else { return url }
        return url[..<colon] + ":***" + url[at...]
    }

    /// How many seconds opening a connection may take, for the pool's connections and a direct one alike.
    private static let connectTimeoutSeconds: Int64 = 5

    /// What `tlsMode` asks of postgres-nio: `nil` for no TLS, else whether TLS is required (`prefer` is not).
    private var requiresTLS: Bool? {
        switch tlsMode {
        case "disable", "allow": nil
        case "prefer": false
        default: true
        }
    }

    /// One direct connection's configuration, made as the pool's connections are.
    var connectionConfiguration: PostgresConnection.Configuration {
        get throws {
            let tls: PostgresConnection.Configuration.TLS = switch requiresTLS {
            case nil: .disable
            case false?: .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
            case true?: .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            }
            var configuration = PostgresConnection.Configuration(host: host, port: port, username: username,
                                                                 password: password, database: database ?? username,
                                                                 tls: tls)
            configuration.options.connectTimeout = .seconds(Self.connectTimeoutSeconds)
            return configuration
        }
    }

    var clientConfiguration: PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS = switch requiresTLS {
        case nil: .disable
        case false?: .prefer(.makeClientConfiguration())
        case true?: .require(.makeClientConfiguration())
        }
        var configuration = PostgresClient.Configuration(host: host, port: port, username: username,
                                                         password: password, database: database ?? username, tls: tls)
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = .seconds(Self.connectTimeoutSeconds)
        // Unqualified names in activities' SQL resolve in the configured schema, never in `public`.
        configuration.options.additionalStartupParameters = [("search_path", "\"\(schema)\"")]
        return configuration
    }
}
