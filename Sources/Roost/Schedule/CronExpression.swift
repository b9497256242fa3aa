import Foundation

/// A cron expression with seconds: six fields, `second minute hour day-of-month month day-of-week`.
///
/// Each field is `*` (or `?`), a number, a range `a-b`, a step `*/n`, `a/n` or `a-b/n`, or a comma-separated list
/// of those. Months may be named `JAN`…`DEC`, days `SUN`…`SAT` (0 and 7 are both Sunday). As in Vixie cron, when
/// both day fields are restricted a day matches if either does.
///
/// ```swift
/// let everySecond = try CronExpression("* * * * * *")
/// let weekdayMornings = try CronExpression("0 30 9 * * MON-FRI")
/// ```
public struct CronExpression: Sendable, Hashable, CustomStringConvertible {
    /// The expression as written.
    public let description: String
    private let seconds: Set<Int>
    private let minutes: Set<Int>
    private let hours: Set<Int>
    private let days: Set<Int>
    private let months: Set<Int>
    private let weekdays: Set<Int>
    private let daysRestricted: Bool
    private let weekdaysRestricted: Bool
    /// Neither the minute nor the hour field starts with a wildcard: the expression names times of day, which
    /// clock changes affect (as cronie's "fixed-time" jobs).
    private let atFixedTimes: Bool

    /// Parses an expression.
    /// - Throws: ``WorkflowError`` `invalid_argument` naming the field and what is wrong with it.
    public init(_ text: String) throws {
        let fields = text.split(whereSeparator: \.isWhitespace).map(String.init)
        guard fields.count == 6 else {
            throw WorkflowError(.invalidArgument, "cron expression '\(text)' has \(fields.count) fields; it needs 6: "
                                + "second minute hour day-of-month month day-of-week")
        }
        description = fields.joined(separator: " ")
        seconds = try Self.parse(fields[0], field: "second", range: 0...59, names: [:], in: text)
        minutes = try Self.parse(fields[1], field: "minute", range: 0...59, names: [:], in: text)
        hours = try Self.parse(fields[2], field: "hour", range: 0...23, names: [:], in: text)
        days = try Self.parse(fields[3], field: "day-of-month", range: 1...31, names: [:], in: text)
        months = try Self.parse(fields[4], field: "month", range: 1...12, names: Self.monthNames, in: text)
        let weekdays = try Self.parse(fields[5], field: "day-of-week", range: 0...7, names: Self.dayNames, in: text)
        self.weekdays = Set(weekdays.map { $0 % 7 })
        daysRestricted = !Self.isWildcard(fields[3])
        weekdaysRestricted = !Self.isWildcard(fields[5])
        atFixedTimes = !fields[1].hasPrefix("*") && !fields[1].hasPrefix("?")
            && !fields[2].hasPrefix("*") && !fields[2].hasPrefix("?")
    }

    /// The first time after `date` (strictly) that the expression matches in `timeZone`, to the second; `nil` if
    /// none comes within eight years (a date like 31 February).
    ///
    /// Daylight saving time changes follow cronie: an expression at fixed times (neither its minute nor its hour
    /// field starts with `*`) fires once at a time of the hour repeated when clocks go back, at its first
    /// occurrence, and a time skipped when clocks go forward fires at the change. An expression with a wildcard
    /// minute or hour fires at every instant whose local time matches, in both repeated hours and not in the
    /// skipped one.
    public func next(after date: Date, in timeZone: TimeZone) -> Date? {
        let limit = date.addingTimeInterval(8 * 366 * 86_400)
        var after = date
        while true {
            let candidate = nextLocalMatch(after: after, before: limit, in: timeZone)
            guard atFixedTimes else { return candidate }
            if let skipped = skippedTick(after: after, before: candidate ?? limit, in: timeZone) { return skipped }
            guard let candidate else { return nil }
            if !Self.isRepeated(candidate, in: timeZone) { return candidate }
            after = candidate
        }
    }

    /// The first instant after `date` whose local time in `timeZone` matches, before `limit`.
    private func nextLocalMatch(after date: Date, before limit: Date, in timeZone: TimeZone) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        var time = Date(timeIntervalSince1970: (date.timeIntervalSince1970 + 1).rounded(.down))
        while time < limit {
            let parts = calendar.dateComponents([.month, .day, .hour, .minute, .second, .weekday], from: time)
            guard let month = parts.month, let day = parts.day, let hour = parts.hour, let minute = parts.minute,
                  let second = parts.second, let weekday = parts.weekday else { return nil }
            let unit: Calendar.Component
            if !months.contains(month) {
                unit = .month
            } else if !dayMatches(day: day, weekday: weekday - 1) {
                unit = .day
            } else if !hours.contains(hour) {
                unit = .hour
            } else if !minutes.contains(minute) {
                unit = .minute
            } else if let later = seconds.filter({ $0 >= second }).min() {
                if later == second { return time }
                time = time.addingTimeInterval(TimeInterval(later - second))
                continue
            } else {
                unit = .minute
            }
            // Skip to the start of the next month, day, hour or minute (the calendar's, so daylight saving time
            // shifts are followed).
            guard let end = calendar.dateInterval(of: unit, for: time)?.end else { return nil }
            time = end
        }
        return nil
    }

    /// The first clock change forward in (`date`, `limit`] that skipped a local time the expression matches: the
    /// instant of the change, when such a tick fires.
    private func skippedTick(after date: Date, before limit: Date, in timeZone: TimeZone) -> Date? {
        var from = date
        while let change = timeZone.nextDaylightSavingTimeTransition(after: from), change <= limit {
            from = change
            let before = timeZone.secondsFromGMT(for: change.addingTimeInterval(-1))
            let gap = timeZone.secondsFromGMT(for: change) - before
            guard gap > 0, let oldClock = TimeZone(secondsFromGMT: before) else { continue }
            // The skipped local times are those the old offset's clock shows for the gap's instants.
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = oldClock
            for offset in 0..<gap {
                let parts = calendar.dateComponents([.month, .day, .hour, .minute, .second, .weekday],
                                                    from: change.addingTimeInterval(TimeInterval(offset)))
                if let month = parts.month, let day = parts.day, let hour = parts.hour, let minute = parts.minute,
                   let second = parts.second, let weekday = parts.weekday, months.contains(month),
                   dayMatches(day: day, weekday: weekday - 1), hours.contains(hour), minutes.contains(minute),
                   seconds.contains(second) {
                    return change
                }
            }
        }
        return nil
    }

    /// Whether the local time at `date` also came earlier, in the hour a clock change back repeated.
    private static func isRepeated(_ date: Date, in timeZone: TimeZone) -> Bool {
        [1800, 3600, 7200].contains { shift in
            timeZone.secondsFromGMT(for: date.addingTimeInterval(TimeInterval(-shift)))
                - timeZone.secondsFromGMT(for: date) == shift
        }
    }

    private func dayMatches(day: Int, weekday: Int) -> Bool {
        switch (daysRestricted, weekdaysRestricted) {
        case (true, true): days.contains(day) || weekdays.contains(weekday)
        case (true, false): days.contains(day)
        case (false, true): weekdays.contains(weekday)
        case (false, false): true
        }
    }

    private static let monthNames = ["JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6, "JUL": 7, "AUG": 8,
                                     "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12]
    private static let dayNames = ["SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6]

    private static func isWildcard(_ field: String) -> Bool {
        field == "*" || field == "?"
    }

    private static func parse(_ field: String, field name: String, range: ClosedRange<Int>, names: [String: Int],
                              in text: String) throws -> Set<Int> {
        func invalid(_ why: String) -> WorkflowError {
            WorkflowError(.invalidArgument, "cron expression '\(text)': \(name) field '\(field)' \(why)")
        }
        func value(_ token: Substring) throws -> Int {
            if let number = Int(token) {
                guard range.contains(number) else {
                    throw invalid("has \(number), outside \(range.lowerBound)-\(range.upperBound)")
                }
                return number
            }
            guard let named = names[token.uppercased()] else { throw invalid("has '\(token)', not a number") }
            return named
        }
        var values: Set<Int> = []
        for part in field.split(separator: ",", omittingEmptySubsequences: false) {
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count <= 2, !pieces[0].isEmpty else { throw invalid("has an empty or malformed part") }
            var step = 1
            if pieces.count == 2 {
                guard let parsed = Int(pieces[1]), parsed > 0 else { throw invalid("has a step that is not positive") }
                step = parsed
            }
            let base = pieces[0]
            let bounds: ClosedRange<Int>
            if base == "*" || base == "?" {
                bounds = range
            } else if let dash = base.firstIndex(of: "-") {
                let low = try value(base[..<dash])
                let high = try value(base[base.index(after: dash)...])
                guard low <= high else { throw invalid("has the range \(low)-\(high), which runs backwards") }
                bounds = low...high
            } else {
                let start = try value(base)
                bounds = start...(pieces.count == 2 ? range.upperBound : start)
            }
            values.formUnion(stride(from: bounds.lowerBound, through: bounds.upperBound, by: step))
        }
        return values
    }
}
