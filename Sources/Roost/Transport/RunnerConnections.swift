import GRPCCore
import GRPCNIOTransportHTTP2
import Instrumentation
import ServiceContextModule
import Tracing
import Synchronization

/// gRPC clients to other runners, one per address, created on first use. Their connections run in the task
/// group of ``run()``; clients to runners that left are shut down.
final class RunnerConnections: Sendable {
    typealias Client = GRPCClient<HTTP2ClientTransport.Posix>
    private let clients = Mutex<[String: Client]>([:])
    private let started: AsyncStream<Client>
    private let startedContinuation: AsyncStream<Client>.Continuation
    private let interceptors: [any ClientInterceptor]
    private let security: HTTP2ClientTransport.Posix.TransportSecurity

    /// Connections whose calls carry `secret`, if any, over mutual TLS if `tls` is given.
    init(secret: String?, tls: ClusterTLS?) {
        (started, startedContinuation) = AsyncStream.makeStream(of: Client.self)
        interceptors = secret.map { [ClusterSecret.ClientSide(secret: ClusterSecret(value: $0))] } ?? []
        security = tls?.client ?? .plaintext
    }

    /// Runs every client's connections until ``shutdown()``.
    func run() async {
        await withDiscardingTaskGroup { group in
            for await client in started {
                group.addTask { try? await client.runConnections() }
            }
        }
    }

    /// Shuts every client down and ends ``run()`` once their calls have finished.
    func shutdown() {
        startedContinuation.finish()
        for client in clients.withLock({ clients in defer { clients = [:] }; return Array(clients.values) }) {
            client.beginGracefulShutdown()
        }
    }

    /// Shuts down clients to addresses that are no longer live runners.
    func keep(only addresses: Set<String>) {
        let gone = clients.withLock { clients in
            let gone = clients.filter { !addresses.contains($0.key) }
            for address in gone.keys { clients[address] = nil }
            return Array(gone.values)
        }
        for client in gone { client.beginGracefulShutdown() }
    }

    /// Sends an entity call to a runner in a client span, whose tracing context travels in the call's metadata.
    /// - Throws: `RPCError` if the runner cannot be reached in time.
    func call(_ call: WireCall, at address: String, timeout: Duration) async throws -> EntityReply {
        let client = try client(for: address)
        var options = CallOptions.defaults
        options.timeout = timeout
        options.waitForReady = false
        return try await withSpan("roost.entity.call", ofKind: .client) { span in
            span.attributes["roost.entity"] = call.address.description
            span.attributes["roost.runner"] = address
            var metadata = Metadata()
            InstrumentationSystem.instrument.inject(ServiceContext.current ?? .topLevel, into: &metadata,
                                                    using: MetadataInjector())
            let reply = try await client.unary(request: ClientRequest(message: call, metadata: metadata),
                                               descriptor: RunnerService.call, serializer: JSONSerializer<WireCall>(),
                                               deserializer: JSONDeserializer<EntityReply>(), options: options) {
                try $0.message
            }
            if let error = reply.error { span.attributes["roost.error"] = error.code }
            return reply
        }
    }

    /// Pings a runner.
    /// - Throws: `RPCError` if the runner cannot be reached in time.
    func ping(at address: String, timeout: Duration) async throws -> WirePong {
        var options = CallOptions.defaults
        options.timeout = timeout
        return try await client(for: address).unary(
            request: ClientRequest(message: WirePing()), descriptor: RunnerService.ping,
            serializer: JSONSerializer<WirePing>(), deserializer: JSONDeserializer<WirePong>(), options: options
        ) { try $0.message }
    }

    private func client(for address: String) throws -> Client {
        if let client = clients.withLock({ $0[address] }) { return client }
        let parsed = try RunnerAddress(parsing: address)
        // An IP address is its own target: TLS must not send it as the server name (SNI).
        let target: any ResolvableTarget = switch (parsed.isIPAddress, parsed.host.contains(":")) {
        case (true, true): ResolvableTargets.IPv6.ipv6(address: parsed.host, port: parsed.port)
        case (true, false): ResolvableTargets.IPv4.ipv4(address: parsed.host, port: parsed.port)
        case (false, _): ResolvableTargets.DNS.dns(host: parsed.host, port: parsed.port)
        }
        let transport = try HTTP2ClientTransport.Posix(target: target, transportSecurity: security)
        let (client, created) = clients.withLock { clients -> (Client, Bool) in
            if let existing = clients[address] { return (existing, false) }
            let client = GRPCClient(transport: transport, interceptors: interceptors)
            clients[address] = client
            return (client, true)
        }
        if created { startedContinuation.yield(client) }
        return client
    }
}
