import CairnProtocol
import Foundation
import Testing

/// Cairn's hand-written timestamp reader and writer: exact to the millisecond both ways,
/// and in agreement with Foundation's ISO-8601 on the calendar.
@Suite(.timeLimit(.minutes(5))) struct ISO8601Tests {
    @Test func test_roundTripsEveryMillisecondAndAgreesWithFoundationOnTheCalendar() {
        for _ in 0..<2000 {
            let milliseconds = Int64.random(in: -2_000_000_000_000...4_000_000_000_000)
            let date = Date(timeIntervalSince1970: Double(milliseconds) / 1000)
            let text = CairnJSON.formatDate(date)
            #expect(CairnJSON.parseDate(text).map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) } == milliseconds, "\(text)")
            // Foundation truncates float error in the fraction, so compare whole seconds only.
            let whole = Date(timeIntervalSince1970: (Double(milliseconds) / 1000).rounded(.down))
            #expect(CairnJSON.formatDate(whole).prefix(19) == whole.formatted(Date.ISO8601FormatStyle()).prefix(19))
        }
    }

    @Test func test_readsWithoutFractionsAndRefusesOtherShapes() {
        #expect(CairnJSON.parseDate("2026-11-23T05:10:56Z") == Date(timeIntervalSince1970: 1_795_410_656))
        #expect(CairnJSON.formatDate(Date(timeIntervalSince1970: 1_795_410_656)) == "2026-11-23T05:10:56.000Z")
        #expect(CairnJSON.parseDate("2024-02-29T23:59:59.5Z")?.timeIntervalSince1970 == 1_709_251_199.5)
        for bad in ["", "2026-11-23", "2026-13-01T00:00:00Z", "2026-11-23T05:10:56.Z", "2026-11-23 05:10:56Z", "x026-11-23T05:10:56Z"] {
            #expect(CairnJSON.parseDate(bad) == nil, "\(bad)")
        }
        // Offsets other than Z go to Foundation's reader.
        #expect(CairnJSON.parseDate("2026-11-23T06:10:56+01:00") == Date(timeIntervalSince1970: 1_795_410_656))
    }
}
