import CairnModel
import CairnTestSupport
import Foundation
import Testing

/// The public status page: what answers and what does not, the read-only message, and the
/// incidents posted and resolved with the real `cairnctl`.
@Suite(.timeLimit(.minutes(5))) struct StatusPageTests {
    @Test func test_theStatusPageShowsDaemonsReadOnlyModeAndIncidents() async throws {
        try await CairnStack.with { stack in
            let visitor = WebSession(stack.gatewayURL)
            let first = try await visitor.get("/status")
            #expect(first.status == 200 && first.body.contains("No incidents in the last seven days."))
            // The gateway, repository store and blob store run here; the worker and stream do not.
            for up in ["cairn-gateway", "cairn-repostore", "cairn-blobstore"] {
                #expect(first.body.contains(#"<code>\#(up)</code></td><td class="muted">"#) && StatusPageTests.state(of: up, in: first.body) == "Operational", "\(up)")
            }
            #expect(StatusPageTests.state(of: "cairn-worker", in: first.body) == "Down")
            #expect(first.body.contains("Some parts of Cairn are down"))

            let posted = try await stack.cairnctl(["incident", "post", "Pushes are slow <for now>", "--major"])
            #expect(posted.status == 0 && posted.output.contains("posted incident"), "\(posted.output)")
            let id = try #require(posted.output.split(separator: " ").last.flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
            #expect(try await stack.cairnctl(["readonly", "on", "--message", "Moving to new disks"]).status == 0)
            let during = try await visitor.get("/status")
            #expect(during.body.contains("Pushes are slow &lt;for now&gt;") && during.body.contains("ongoing") && during.body.contains("incident major"))
            #expect(try await eventually { try await visitor.get("/status").body.contains("Read-only mode: Moving to new disks") })

            #expect(try await stack.cairnctl(["incident", "resolve", String(id)]).output.contains("resolved incident \(id)"))
            #expect(try await stack.cairnctl(["incident", "resolve", String(id)]).output.contains("no open incident"))
            #expect(try await stack.cairnctl(["incident", "post", ""]).output.contains("say what to post"))
            #expect(try await visitor.get("/status").body.contains("resolved just now"))
            #expect(try await stack.cairnctl(["incident"]).output.contains("resolved  Pushes are slow"))
        }
    }

    /// The state cell of `daemon`'s row.
    static func state(of daemon: String, in page: String) -> String? {
        guard let row = page.range(of: "<code>\(daemon)</code>") else { return nil }
        let rest = page[row.upperBound...]
        guard let end = rest.range(of: "</tr>") else { return nil }
        let cells = rest[..<end.lowerBound]
        if cells.contains(">Operational<") { return "Operational" }
        if cells.contains(">Down<") { return "Down" }
        return nil
    }
}
