import Foundation
import Testing
@testable import Roost

@Suite("Cron expressions and schedules")
struct CronExpressionTests {
    private let utc = TimeZone(identifier: "UTC")!

    private func date(_ text: String) -> Date {
        try! Date(text, strategy: .iso8601)
    }

    @Test("next ticks: every second, steps, ranges, lists, names, and both day fields")
    func next() throws {
        let start = date("2026-11-22T15:59:58Z")
        #expect(try CronExpression("* * * * * *").next(after: start, in: utc) == date("2026-11-22T15:59:59Z"))
        #expect(try CronExpression("*/15 * * * * *").next(after: start, in: utc) == date("2026-11-22T16:00:00Z"))
        #expect(try CronExpression("0 30 9 * * MON-FRI").next(after: start, in: utc) == date("2026-11-23T09:30:00Z"))
        #expect(try CronExpression("0 0 0 1 JAN,jul ?").next(after: start, in: utc) == date("2027-01-01T00:00:00Z"))
        #expect(try CronExpression("10-12 0 12 * * *").next(after: date("2026-11-22T12:00:10Z"), in: utc)
                == date("2026-11-22T12:00:11Z"))
        // Day of month 1 or a Sunday, as in Vixie cron: the 22nd of November 2026 is a Sunday.
        #expect(try CronExpression("0 0 8 1 * SUN").next(after: date("2026-11-21T00:00:00Z"), in: utc)
                == date("2026-11-22T08:00:00Z"))
        #expect(try CronExpression("0 0 0 29 2 *").next(after: start, in: utc) == date("2028-02-29T00:00:00Z"))
        #expect(try CronExpression("0 0 0 31 2 *").next(after: start, in: utc) == nil)
    }

    @Test("a time zone's clock, across a daylight saving change")
    func timeZones() throws {
        let paris = TimeZone(identifier: "Europe/Paris")!
        let nineAM = try CronExpression("0 0 9 * * *")
        // 9:00 in Paris is 8:00 UTC in winter, 7:00 UTC in summer; summer time starts on 29 March 2026.
        #expect(nineAM.next(after: date("2026-03-28T10:00:00Z"), in: paris) == date("2026-03-29T07:00:00Z"))
        #expect(nineAM.next(after: date("2026-11-22T00:00:00Z"), in: paris) == date("2026-11-22T08:00:00Z"))
    }

    @Test("clocks going back: a fixed time in the repeated hour fires once, a wildcard hour fires in both",
          arguments: [
              // New York falls back at 2:00 EDT on 1 November 2026: 1:30 is 05:30Z, then again 06:30Z.
              ("America/New_York", "0 30 1 * * *", "2026-10-31T12:00:00Z",
               ["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"]),
              ("America/New_York", "0 0 * * * *", "2026-11-01T04:30:00Z",
               ["2026-11-01T05:00:00Z", "2026-11-01T06:00:00Z", "2026-11-01T07:00:00Z"]),
              // Paris falls back at 3:00 CEST on 25 October 2026: 2:30 is 00:30Z, then again 01:30Z.
              ("Europe/Paris", "0 30 2 * * *", "2026-10-24T12:00:00Z",
               ["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"]),
              ("Europe/Paris", "0 */30 * * * *", "2026-10-25T00:15:00Z",
               ["2026-10-25T00:30:00Z", "2026-10-25T01:00:00Z", "2026-10-25T01:30:00Z", "2026-10-25T02:00:00Z"]),
          ])
    func fallBack(zone: String, cron: String, after: String, ticks: [String]) throws {
        try expectTicks(zone: zone, cron: cron, after: after, ticks: ticks)
    }

    @Test("clocks going forward: a fixed time in the skipped hour fires at the change, a wildcard hour skips it",
          arguments: [
              // New York springs forward at 2:00 EST on 8 March 2026 (07:00Z): 2:30 does not exist that day.
              ("America/New_York", "0 30 2 * * *", "2026-03-07T12:00:00Z",
               ["2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"]),
              ("America/New_York", "0 15,45 1-3 * * *", "2026-03-08T06:20:00Z",
               ["2026-03-08T06:45:00Z", "2026-03-08T07:00:00Z", "2026-03-08T07:15:00Z", "2026-03-08T07:45:00Z"]),
              // Paris springs forward at 2:00 CET on 29 March 2026 (01:00Z).
              ("Europe/Paris", "0 30 2 * * *", "2026-03-28T12:00:00Z",
               ["2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"]),
              ("Europe/Paris", "0 0 * * * *", "2026-03-29T00:30:00Z",
               ["2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z"]),
          ])
    func springForward(zone: String, cron: String, after: String, ticks: [String]) throws {
        try expectTicks(zone: zone, cron: cron, after: after, ticks: ticks)
    }

    private func expectTicks(zone: String, cron: String, after: String, ticks: [String]) throws {
        let timeZone = try #require(TimeZone(identifier: zone))
        let expression = try CronExpression(cron)
        var time = date(after)
        for tick in ticks {
            let next = try #require(expression.next(after: time, in: timeZone))
            #expect(next == date(tick), "\(cron) in \(zone) after \(time)")
            time = next
        }
    }

    @Test("invalid expressions are refused, naming the field")
    func invalid() {
        let cases = [
            ("* * * * *", "has 5 fields"), ("60 * * * * *", "second field '60' has 60"),
            ("* * * * 13 *", "month field '13'"), ("* * * * * FUNDAY", "day-of-week field 'FUNDAY' has 'FUNDAY'"),
            ("*/0 * * * * *", "step that is not positive"), ("* 5-1 * * * *", "runs backwards"),
            ("* ,1 * * * *", "empty or malformed"),
        ]
        for (text, message) in cases {
            let error = #expect(throws: WorkflowError.self) { try CronExpression(text) }
            #expect(error?.message.contains(message) == true, "\(text): \(error?.message ?? "")")
        }
    }

    @Test("missed ticks: skipped when older than the limit, else each once; execution ids name the tick")
    func catchUp() throws {
        struct Noop: Workflow {
            func run(_ input: Int, context: WorkflowContext) async throws -> Int { input }
        }
        let now = date("2026-11-22T16:00:00Z")
        let skipping = try Schedule("s", cron: "0 * * * * *", catchUp: .skip(olderThan: .seconds(120)),
                                    starting: Noop.self) { _ in 0 }
        let (ticks, skipped) = skipping.due(after: date("2026-11-22T15:50:30Z"), now: now, batch: 100)
        #expect(ticks == [date("2026-11-22T15:58:00Z"), date("2026-11-22T15:59:00Z"), now])
        #expect(skipped?.lowerBound == date("2026-11-22T15:51:00Z"))
        let each = try Schedule("e", cron: "0 * * * * *", catchUp: .runEach, starting: Noop.self) { _ in 0 }
        #expect(each.due(after: date("2026-11-22T15:50:30Z"), now: now, batch: 100).ticks.count == 10)
        #expect(each.due(after: date("2026-11-22T15:50:30Z"), now: now, batch: 4).ticks.last
                == date("2026-11-22T15:54:00Z"))
        #expect(each.executionID(for: now) == "e@2026-11-22T16:00:00Z")
        #expect(throws: WorkflowError.self) { try Schedule("a@b", cron: "* * * * * *", starting: Noop.self) { _ in 0 } }
    }
}
