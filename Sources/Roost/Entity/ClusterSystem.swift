import Distributed
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import ServiceLifecycle
import Synchronization

/// Roost's `DistributedActorSystem`: entities are distributed actors whose calls are routed to the runner that
/// holds their shard.
///
/// `resolve` never returns a local instance, so every reference is a proxy and every call goes through
/// ``remoteCall(on:target:invocation:throwing:returning:)``: it computes the address's shard, finds the
/// shard's owner, and runs the call there — in this process when the owner is this runner, over gRPC
/// otherwise. A call to a shard that is moving is retried with back-off until the new owner answers or the
/// call's deadline passes.
///
/// A runner's system serves the other runners on its address and is the ``ShardHost`` of its
/// ``ShardManager``. A client's system (no address) routes every call to a runner.
public final class ClusterSystem: DistributedActorSystem, ShardHost, Service, Sendable {
    public typealias ActorID = EntityAddress
    public typealias InvocationEncoder = EntityInvocationEncoder
    public typealias InvocationDecoder = EntityInvocationDecoder
    public typealias ResultHandler = EntityResultHandler
    public typealias SerializationRequirement = Codable

    /// How entities are hosted and called.
    public struct Configuration: Sendable {
        /// How long a call may take, retries included, before it fails with `unavailable` or `timed_out`.
        public var callTimeout: Duration = .seconds(30)
        /// How many calls may wait in one entity's mailbox; more are refused with `mailbox_full`.
        public var mailboxCapacity = 1_000
        /// How many calls one entity runs at once. 1 (the default) runs them one at a time, in order.
        public var callsPerEntity = 1
        /// How long an entity may be idle before it is passivated.
        public var idleTimeout: Duration = .seconds(60)
        /// How often a runner looks for persisted calls of its shards that stayed pending longer than
        /// ``callTimeout`` (their callers gave up or died) and runs them.
        public var redeliveryInterval: Duration = .seconds(10)
        /// The secret every call between runners must carry: runners refuse calls without it. Defaults to none:
        /// a runner accepts any caller that reaches its address.
        public var clusterSecret: String?
        /// Mutual TLS between runners: calls travel encrypted, and only holders of a certificate signed by the
        /// cluster's authority can make or serve them. Defaults to none (plaintext).
        public var tls: ClusterTLS?

        /// The defaults.
        public init() {}
    }

    struct Factory: Sendable {
        let group: String
        let make: @Sendable (ClusterSystem) -> any Entity
    }

    /// The cluster's settings.
    public let settings: ClusterSettings
    /// This runner's address; `nil` for a client.
    public let localAddress: String?
    /// The configuration.
    public let configuration: Configuration
    let entities: EntityManager
    /// The owner's side of persisted calls; `nil` for a client or without a message store.
    let delivery: PersistedDelivery?
    /// Where persisted calls are saved; `nil` if this system makes none.
    let messages: (any MessageStore)?
    private let connections: RunnerConnections
    private let liveRunners = Mutex<[String]>([])
    private let factories = Mutex<[String: Factory]>([:])
    private let store: (any ClusterStore)?
    private let logger: Logger
    private let transport: HTTP2ServerTransport.Posix?
    private let server = Mutex<GRPCServer<HTTP2ServerTransport.Posix>?>(nil)
    private let stopping = Waiter()
    /// Calls in flight, given up when their runner leaves.
    private let departures = DepartureWatch()
    /// Signalled when the store announces a membership change (a client's system only).
    private let membershipChanged = Waiter()

    /// The address an entity being activated gets from ``assignID(_:)``.
    @TaskLocal static var activating: EntityAddress?

    /// A runner's system.
    /// - Parameters:
    ///   - address: The runner's address (host:port), where it listens for calls from other runners.
    ///   - settings: The cluster's settings.
    ///   - configuration: How entities are hosted and called.
    ///   - messages: Where persisted calls are kept; without it, calls are best-effort only.
    ///   - logger: The logger.
    /// - Throws: ``WorkflowError`` `invalid_argument` if the address is not host:port.
    public init(address: String, settings: ClusterSettings, configuration: Configuration = Configuration(),
                messages: (any MessageStore)? = nil, logger: Logger) throws {
        let parsed = try RunnerAddress(parsing: address)
        localAddress = address
        self.settings = settings
        self.configuration = configuration
        connections = RunnerConnections(secret: configuration.clusterSecret, tls: configuration.tls)
        self.logger = logger
        store = nil
        self.messages = messages
        delivery = messages.map { PersistedDelivery(store: $0, configuration: configuration, logger: logger) }
        entities = EntityManager(configuration: configuration, logger: logger)
        transport = HTTP2ServerTransport.Posix(address: .ipv4(host: parsed.host, port: parsed.port),
                                               transportSecurity: configuration.tls?.server ?? .plaintext)
    }

    /// A client's system: it hosts nothing and reads the live runners from the store. With `messages` it can make
    /// persisted calls.
    public init(clientOf store: any ClusterStore, settings: ClusterSettings,
                configuration: Configuration = Configuration(), messages: (any MessageStore)? = nil,
                logger: Logger) {
        localAddress = nil
        self.settings = settings
        self.configuration = configuration
        connections = RunnerConnections(secret: configuration.clusterSecret, tls: configuration.tls)
        self.logger = logger
        self.store = store
        self.messages = messages
        delivery = nil
        entities = EntityManager(configuration: configuration, logger: logger)
        transport = nil
    }

    // MARK: Entities

    /// Registers an entity type: runners activate its instances with `factory`, which must call the entity's
    /// `init(actorSystem:)` with the system it is given.
    public func register<E: Entity>(_ type: E.Type, factory: @escaping @Sendable (ClusterSystem) -> E) {
        factories.withLock { $0[E.entityType] = Factory(group: E.shardGroup, make: factory) }
    }

    /// A reference to an entity: calls on it are routed to wherever the entity lives.
    public func entity<E: Entity>(_ type: E.Type, id: String) throws -> E {
        try E.resolve(id: EntityAddress(type: E.entityType, id: id), using: self)
    }

    /// The lease under which an entity hosted here writes: pass it to a fenced transaction.
    /// - Throws: ``ShardLeaseLost`` if this runner does not hold the entity's shard.
    public func lease(of address: EntityAddress) async throws -> ShardLease {
        let shard = shard(of: address)
        guard let lease = await entities.lease(for: shard) else {
            throw ShardLeaseLost(lease: ShardLease(shard: shard, epoch: 0))
        }
        return lease
    }

    /// The shard of an entity of a type registered here (of the default group otherwise).
    func shard(of address: EntityAddress) -> ShardID {
        settings.shard(for: address.id, group: factory(for: address.type)?.group ?? ClusterSettings.defaultGroup)
    }

    func factory(for type: String) -> Factory? {
        factories.withLock { $0[type] }
    }

    var entityTypes: [String] {
        factories.withLock { $0.keys.sorted() }
    }

    // MARK: Running

    /// Serves other runners' calls (for a runner) and runs the connections to other runners until graceful
    /// shutdown or cancellation.
    public func run() async throws {
        let server = transport.map { transport in
            GRPCServer(transport: transport, services: [RunnerService(system: self)],
                       interceptors: configuration.clusterSecret.map { [ClusterSecret.ServerSide(
                           secret: ClusterSecret(value: $0), logger: logger)] } ?? [])
        }
        self.server.withLock { $0 = server }
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { await self.connections.run() }
                if let server { group.addTask { try await server.serve() } }
                group.addTask { await self.passivationLoop() }
                if let store = self.store { group.addTask { await self.followMembership(of: store) } }
                if let delivery = self.delivery { group.addTask { await delivery.run(in: self) } }
            }
        } onGracefulShutdown: {
            self.shutdown()
        }
    }

    /// Waits until this runner listens on its address (``run()`` binds it). A runner must listen before it joins
    /// the cluster, so that a process that cannot take the address never displaces the runner that has it.
    /// - Throws: ``WorkflowError`` `invalid_argument` if it cannot listen there.
    public func listening() async throws {
        guard let transport, let localAddress else { return }
        do {
            _ = try await transport.listeningAddress
        } catch {
            throw WorkflowError(.invalidArgument, "cannot listen on \(localAddress): is another process using "
                                + "it, or is it not an IP address of this host?")
        }
    }

    /// Stops serving and closes the connections to other runners; ``run()`` returns once in-flight calls end.
    public func shutdown() {
        // First, so that calls the server's graceful shutdown interrupts know it was not their callers.
        stopping.signal()
        membershipChanged.signal()
        connections.shutdown()
        server.withLock { $0?.beginGracefulShutdown() }
        delivery?.shutdown()
    }

    /// Whether ``shutdown()`` has begun.
    var isStopping: Bool { stopping.isSignalled }

    private func passivationLoop() async {
        let interval = max(configuration.idleTimeout / 4, .milliseconds(100))
        while !Task.isCancelled, !stopping.isSignalled {
            if await stopping.wait(until: .now + interval) { return }
            await entities.passivateIdle()
        }
    }

    // MARK: ShardHost

    public func acquired(_ leases: [ShardLease]) async {
        await entities.acquired(leases)
        await delivery?.acquired(leases.map(\.shard))
    }

    public func stopping(_ shards: [ShardID]) async {
        await entities.stop(shards)
    }

    public func observed(liveRunners runners: [String]) {
        liveRunners.withLock { $0 = runners }
        connections.keep(only: Set(runners))
        departures.observed(live: Set(runners))
    }

    // MARK: Pings

    /// Asks a runner over the cluster's transport whether it is reachable and what it hosts.
    /// - Throws: An error saying why the runner did not answer within `timeout`.
    public func ping(_ address: String, timeout: Duration = .seconds(2)) async throws -> RunnerPing {
        let started = ContinuousClock.now
        let pong = try await connections.ping(at: address, timeout: timeout)
        return RunnerPing(address: pong.address, shards: pong.shards, entities: pong.entities,
                          roundTrip: .now - started)
    }

    // MARK: Routing

    /// Sends a call to its entity's owner, retrying while the shard moves (and, for a persisted call, while the
    /// entity's mailbox is full).
    func route(_ call: WireCall, to shard: ShardID) async throws -> EntityReply {
        var call = call
        let deadline = ContinuousClock.now + configuration.callTimeout
        var delay = Duration.milliseconds(10)
        var last = "no live runner"
        if store != nil, liveRunners.withLock({ $0.isEmpty }) { try await refreshRunners() }
        while true {
            if let owner = Rendezvous.owner(of: shard, among: liveRunners.withLock { $0 }) {
                let reply: EntityReply
                if owner == localAddress {
                    reply = await handleHere(call)
                } else {
                    do {
                        reply = try await callUnlessDeparted(call, at: owner, timeout: deadline - .now)
                    } catch let error as RPCError where error.code == .unavailable {
                        reply = EntityReply(error: EntityCallError(EntityCallError.notHere,
                                                                   "runner \(owner) is unreachable: "
                                                                   + error.message))
                    } catch let error as RPCError where error.code == .deadlineExceeded {
                        throw EntityCallError(EntityCallError.timedOut, "\(call.address) did not answer within "
                                              + "\(configuration.callTimeout) (runner \(owner) had the call)"
                                              + Self.kept(call))
                    }
                }
                guard let error = reply.error, error.code == EntityCallError.notHere
                        || (call.persisted != nil && error.code == EntityCallError.mailboxFull) else { return reply }
                last = error.message
                // The call may have run before the reply was lost: its owner reads the stored state first.
                call.persisted?.recheck = true
            }
            guard ContinuousClock.now + delay < deadline else {
                throw EntityCallError(EntityCallError.unavailable, "no runner answered for \(call.address) "
                                      + "(shard \(shard)) within \(configuration.callTimeout): \(last)"
                                      + Self.kept(call))
            }
            try await Task.sleep(for: delay)
            delay = min(delay * 2, .milliseconds(500))
            if store != nil { try await refreshRunners() }
        }
    }

    /// Sends a call to another runner. A client's system gives the call up as not delivered when the store shows
    /// that runner dead or expired while the call is in flight (not when it left gracefully: it drains its calls),
    /// and routes it to the shard's next owner, where a persisted call is looked up first since it may have run.
    private func callUnlessDeparted(_ call: WireCall, at owner: String, timeout: Duration) async throws
        -> EntityReply {
        guard let store else { return try await connections.call(call, at: owner, timeout: timeout) }
        return try await departures.watching(owner) { departed in
            try await withThrowingTaskGroup(of: EntityReply?.self) { group in
                group.addTask { try await self.connections.call(call, at: owner, timeout: timeout) }
                group.addTask {
                    await departed.wait(until: nil)
                    // A runner that left gracefully (or one the store cannot tell about) answers its calls before it
                    // exits: wait for the reply, which ends this wait.
                    if (try? await store.leftGracefully(address: owner)) != false {
                        try? await Task.sleep(for: timeout * 2)
                    }
                    return nil
                }
                // Deaths the store announces come at once; an expiry (a runner paused past its lease) is seen by
                // reading the live runners while the call waits.
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .seconds(1))
                        try? await self.refreshRunners()
                    }
                    return nil
                }
                defer { group.cancelAll() }
                if let reply = try await group.next() ?? nil { return reply }
                return EntityReply(error: EntityCallError(EntityCallError.notHere,
                                                          "runner \(owner) left the cluster with the call in flight"))
            }
        }
    }

    /// Keeps a client's view of the live runners current: refreshes it whenever the store announces that a runner
    /// joined, left or was declared dead, so that calls in flight to a dead runner are given up at once.
    private func followMembership(of store: any ClusterStore) async {
        let token = store.addMembershipHandler { [membershipChanged] in membershipChanged.signal() }
        defer { store.removeMembershipHandler(token) }
        while !Task.isCancelled {
            membershipChanged.reset()
            // After the reset: a shutdown signals `stopping` before this waiter.
            guard !stopping.isSignalled else { return }
            await membershipChanged.wait(until: nil)
            guard !Task.isCancelled, !stopping.isSignalled else { return }
            try? await refreshRunners()
        }
    }

    /// Runs a call that reached this runner: a persisted one through ``PersistedDelivery``.
    func handleHere(_ call: WireCall) async -> EntityReply {
        if call.persisted != nil, let delivery { return await delivery.handle(call, in: self) }
        return await entities.handle(call, in: self)
    }

    /// For a persisted call's error message: the call is not lost.
    private static func kept(_ call: WireCall) -> String {
        guard let persisted = call.persisted else { return "" }
        return "; the call is saved as request \(persisted.requestID) and runs when its shard's owner takes it"
    }

    private func refreshRunners() async throws {
        guard let store else { return }
        observed(liveRunners: try await store.liveRunners())
    }

    // MARK: DistributedActorSystem

    public func resolve<Act>(id: EntityAddress, as actorType: Act.Type) throws -> Act?
    where Act: DistributedActor, Act.ID == EntityAddress {
        nil
    }

    public func assignID<Act>(_ actorType: Act.Type) -> EntityAddress
    where Act: DistributedActor, Act.ID == EntityAddress {
        guard let address = Self.activating else {
            preconditionFailure("entities are activated by the ClusterSystem; get a reference with "
                                + "system.entity(\(actorType).self, id:)")
        }
        return address
    }

    public func actorReady<Act>(_ actor: Act) where Act: DistributedActor, Act.ID == EntityAddress {}

    public func resignID(_ id: EntityAddress) {}

    public func makeInvocationEncoder() -> EntityInvocationEncoder {
        EntityInvocationEncoder()
    }

    public func remoteCall<Act, Err, Res>(
        on actor: Act, target: RemoteCallTarget, invocation: inout EntityInvocationEncoder,
        throwing: Err.Type, returning: Res.Type
    ) async throws -> Res where Act: DistributedActor, Act.ID == EntityAddress, Err: Error, Res: Codable {
        let reply = try await send(actor, target: target, invocation: invocation)
        guard let value = reply.value else {
            throw EntityCallError(EntityCallError.invalidPayload, "\(actor.id) returned nothing for \(target)")
        }
        do {
            return try JSONDecoder().decode(Res.self, from: value)
        } catch {
            throw EntityCallError(EntityCallError.invalidPayload, "\(actor.id) returned a value that is not a "
                                  + "\(Res.self): \(error)")
        }
    }

    public func remoteCallVoid<Act, Err>(
        on actor: Act, target: RemoteCallTarget, invocation: inout EntityInvocationEncoder, throwing: Err.Type
    ) async throws where Act: DistributedActor, Act.ID == EntityAddress, Err: Error {
        _ = try await send(actor, target: target, invocation: invocation)
    }

    private func send<Act: DistributedActor>(_ actor: Act, target: RemoteCallTarget,
                                             invocation: EntityInvocationEncoder) async throws -> EntityReply
    where Act.ID == EntityAddress {
        let group = (Act.self as? any Entity.Type)?.shardGroup ?? ClusterSettings.defaultGroup
        let shard = settings.shard(for: actor.id.id, group: group)
        var call = WireCall(address: actor.id, target: target.identifier, generics: invocation.generics,
                            arguments: invocation.arguments)
        let delivery = Delivery.current
        if delivery.mode == .persisted {
            switch try await save(call, to: shard, as: delivery) {
            case .completed(let reply):
                if let error = reply.error { throw error }
                return reply
            case .pending(let persisted):
                call.persisted = persisted
            }
        }
        let reply = try await route(call, to: shard)
        if let error = reply.error { throw error }
        return reply
    }
}
