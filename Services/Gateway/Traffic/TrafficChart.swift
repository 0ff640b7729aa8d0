import CairnModel
import Foundation

/// A bar chart of a traffic series as inline SVG, drawn on the server: for each day a bar
/// for the count and a darker one for the uniques, the largest value on the axis, and every
/// other date under the bars. Only numbers and dates go into the markup, and the label is
/// escaped, so the result is safe to embed as it is.
enum TrafficChart {
    static let width = 640.0, height = 200.0
    static let left = 40.0, bottom = 24.0, top = 12.0

    static func svg(_ points: [TrafficStore.Point], label: String) -> String {
        let peak = max(1, points.map(\.count).max() ?? 0)
        let plotHeight = height - bottom - top
        let slot = (width - left) / Double(max(1, points.count))
        let bar = max(1, slot * 0.38)
        var parts: [String] = [
            #"<svg class="chart" viewBox="0 0 \#(format(width)) \#(format(height))" role="img" aria-label="\#(HTMLEscaper.escape(label))" xmlns="http://www.w3.org/2000/svg">"#,
            #"<line x1="\#(format(left))" y1="\#(format(top + plotHeight))" x2="\#(format(width))" y2="\#(format(top + plotHeight))" class="axis"/>"#,
            #"<text x="\#(format(left - 6))" y="\#(format(top + 10))" class="tick" text-anchor="end">\#(peak)</text>"#,
            #"<text x="\#(format(left - 6))" y="\#(format(top + plotHeight))" class="tick" text-anchor="end">0</text>"#,
        ]
        for (index, point) in points.enumerated() {
            let x = left + Double(index) * slot + slot * 0.1
            let day = dayLabel(point.start)
            for (offset, value, kind) in [(0.0, point.count, "count"), (bar, point.uniques, "uniques")] {
                let barHeight = plotHeight * Double(value) / Double(peak)
                parts.append(#"<rect x="\#(format(x + offset))" y="\#(format(top + plotHeight - barHeight))" width="\#(format(bar))" height="\#(format(barHeight))" class="\#(kind)"><title>\#(day): \#(value) \#(kind == "count" ? "total" : "unique")</title></rect>"#)
            }
            if index % 2 == 0 || points.count <= 7 {
                parts.append(#"<text x="\#(format(x + bar))" y="\#(format(height - 6))" class="tick" text-anchor="middle">\#(day)</text>"#)
            }
        }
        parts.append("</svg>")
        return parts.joined()
    }

    /// `11-23`.
    static func dayLabel(_ date: Date) -> String {
        String(PageFormat.date(date).dropFirst(5))
    }

    private static func format(_ value: Double) -> String {
        String(format: "%.1f", value)
    }
}
