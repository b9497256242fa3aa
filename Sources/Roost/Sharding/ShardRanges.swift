/// Shards written compactly for logs: `default/0-3,7,9-12`.
public struct ShardRanges: CustomStringConvertible {
    /// The shards, sorted.
    public let shards: [ShardID]

    /// Shards to print.
    public init(_ shards: [ShardID]) {
        self.shards = shards.sorted()
    }

    public var description: String {
        var parts: [String] = []
        var index = 0
        while index < shards.count {
            let group = shards[index].group
            var ranges: [String] = []
            while index < shards.count, shards[index].group == group {
                let start = shards[index].index
                var end = start
                while index + 1 < shards.count, shards[index + 1].group == group, shards[index + 1].index == end + 1 {
                    index += 1
                    end += 1
                }
                ranges.append(start == end ? "\(start)" : "\(start)-\(end)")
                index += 1
            }
            parts.append("\(group)/\(ranges.joined(separator: ","))")
        }
        return parts.joined(separator: " ")
    }
}
