import Foundation

/// ISO-8601 text for dates with a fixed number of fractional digits, rounded so that text → date → text is stable.
///
/// PostgreSQL keeps microseconds; so does every date the runtime stores or journals, so a date read back equals the
/// date written.
package enum Timestamp {
    /// Formats a date as `2026-11-22T04:49:49.123456Z`.
    package static func format(_ date: Date) -> String {
        let total = (date.timeIntervalSince1970 * 1_000_000).rounded()
        let seconds = (total / 1_000_000).rounded(.down)
        let micros = Int(total - seconds * 1_000_000)
        let whole = Date(timeIntervalSince1970: seconds).formatted(.iso8601)
        let digits = String(micros)
        return whole.dropLast() + "." + String(repeating: "0", count: 6 - digits.count) + digits + "Z"
    }

    /// Parses ISO-8601 text with or without fractional seconds and with a `Z` or numeric offset.
    package static func parse(_ text: String) -> Date? {
        guard let dot = text.firstIndex(of: ".") else { return try? Date.ISO8601FormatStyle().parse(text) }
        let afterDot = text[text.index(after: dot)...]
        let digits = afterDot.prefix { $0.isNumber }
        guard !digits.isEmpty, let fraction = Double("0." + digits),
              let whole = try? Date.ISO8601FormatStyle().parse(String(text[..<dot]) + afterDot.dropFirst(digits.count))
        else { return nil }
        return whole.addingTimeInterval(fraction)
    }

    /// The date rounded to whole microseconds, as PostgreSQL stores it.
    package static func rounded(_ date: Date) -> Date {
        Date(timeIntervalSince1970: (date.timeIntervalSince1970 * 1_000_000).rounded() / 1_000_000)
    }
}
