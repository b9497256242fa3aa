import Foundation

/// The id a replay gets when its caller names none: the source's id, `-replay-` and 8 random hex digits.
public enum ReplayID {
    /// A new replay id for an execution id.
    public static func make(for id: String) -> String {
        "\(id)-replay-\(UUID().uuidString.prefix(8).lowercased())"
    }
}
