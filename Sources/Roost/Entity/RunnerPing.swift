/// A runner's answer to ``ClusterSystem/ping(_:timeout:)``: it is reachable over the cluster's transport.
public struct RunnerPing: Sendable, Equatable {
    /// The address the runner says it has.
    public var address: String
    /// How many shards it hosts.
    public var shards: Int
    /// How many entity instances it has active.
    public var entities: Int
    /// The time from sending the ping to the answer.
    public var roundTrip: Duration

    /// A ping's answer.
    public init(address: String, shards: Int, entities: Int, roundTrip: Duration) {
        self.address = address
        self.shards = shards
        self.entities = entities
        self.roundTrip = roundTrip
    }
}
