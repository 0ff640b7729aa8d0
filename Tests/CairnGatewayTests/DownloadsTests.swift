import AsyncHTTPClient
import CairnModel
import CairnProtocol
import CairnService
import CairnTestSupport
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// The Downloads page over the real gateway and blob store: upload by writers through the
/// form, listing, signed download links with the file's name, counts, events, deletion, and
/// everyone else refused.
@Suite(.timeLimit(.minutes(5))) struct DownloadsTests {
    @Test func test_aWriterUploadsAndAnyoneDownloadsThroughASignedLinkThatCounts() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let repository = try await stack.makeRepository(ada, "tools")
            let web = try await WebPagesTests.signIn(stack, ada)
            let page = try await web.get("/ada/tools/downloads")
            #expect(page.status == 200 && page.body.contains("No downloads yet.") && page.body.contains(#"id="upload-form""#))

            let bytes = [UInt8](FileHandle(forReadingAtPath: "/dev/urandom")!.readData(ofLength: 3 << 20))
            let name = "tools 1.0 – linux.tar.gz"
            let uploaded = try await web.upload("/ada/tools/downloads", filename: name, bytes)
            #expect(uploaded.status == 303 && uploaded.location == "/ada/tools/downloads", "\(uploaded.body)")
            let listed = try await web.get("/ada/tools/downloads")
            #expect(listed.body.contains("tools 1.0 – linux.tar.gz") && listed.body.contains("3.0 MB") && listed.body.contains("0 downloads") && listed.body.contains("by ada"))

            // Anonymous visitors of a public repository read the list and download.
            let visitor = WebSession(stack.gatewayURL)
            let anonymous = try await visitor.get("/ada/tools/downloads")
            #expect(anonymous.status == 200 && anonymous.body.contains("linux.tar.gz") && !anonymous.body.contains(#"id="upload-form""#))
            let link = "/ada/tools/downloads/" + DownloadsTests.encode(name)
            let redirect = try await visitor.get(link)
            #expect(redirect.status == 302)
            let location = try #require(redirect.location)
            #expect(location.hasPrefix(stack.configuration.blobPublicURL + "/dl/\(SHA256.hash(data: bytes).hexString)?token="))
            let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: location), timeout: .seconds(30))
            #expect(response.status == .ok)
            #expect(response.headers.first(name: "Content-Disposition")?.contains("filename*=UTF-8''tools%201.0%20%E2%80%93%20linux.tar.gz") == true)
            #expect(response.headers.first(name: "Content-Type") == "application/gzip")
            #expect(Array(buffer: try await response.body.collect(upTo: 8 << 20)) == bytes)
            #expect(try await web.get("/ada/tools/downloads").body.contains("1 download<"))

            // Each download is a `repo.download` event for the analytics stream.
            #expect(try await eventually {
                try await stack.redisList("\(stack.configuration.redisNamespace):events").contains {
                    $0.contains(#""type":"repo.download""#) && $0.contains(#""repo_id":\#(repository.id)"#)
                }
            })

            // Deleting removes it from the page and its link; the blob goes with the next gc.
            #expect(try await web.post("\(link)/delete", [:]).status == 303)
            #expect(try await visitor.get(link).status == 404)
            #expect(try await web.get("/ada/tools/downloads").body.contains("No downloads yet."))
        }
    }

    @Test func test_uploadsWithoutAValidTokenOrRightsOrWithBadNamesAreRefusedAndStoreNothing() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let bob = try await stack.makeUser("bob")
            try await stack.makeRepository(ada, "tools")
            let web = try await WebPagesTests.signIn(stack, ada)
            try await web.get("/ada/tools/downloads")
            let body = Array("payload\n".utf8)
            #expect(try await web.upload("/ada/tools/downloads", filename: "a.bin", body, csrf: "forged").status == 403)
            let long = try await web.upload("/ada/tools/downloads", filename: "a.bin", body, csrf: String(repeating: "x", count: 70_000))
            #expect(long.status == 422 && long.body.contains("a form field is longer than 65536 bytes"))
            // Many fields, each short enough, are capped as a whole.
            let padding = (1...5).map { ("note\($0)", String(repeating: "x", count: 60_000)) }
            let crowded = try await web.upload("/ada/tools/downloads", filename: "a.bin", body, fieldsBefore: padding)
            #expect(crowded.status == 413 && crowded.body.contains("more than 256 KiB besides its file"))
            let few = try await web.upload("/ada/tools/downloads", filename: "few.bin", body, fieldsBefore: Array(padding.prefix(2)))
            #expect(few.status == 303)
            #expect(try await web.post("/ada/tools/downloads/few.bin/delete", [:]).status == 303)
            // The token must come before the file: a form that sends it after is refused unread.
            #expect(try await web.upload("/ada/tools/downloads", filename: "a.bin", body, csrfLast: true).status == 403)
            let hidden = try await web.upload("/ada/tools/downloads", filename: ".profile", body)
            #expect(hidden.status == 422 && hidden.body.contains("must not start with a dot"))
            let empty = try await web.upload("/ada/tools/downloads", filename: "", body)
            #expect(empty.status == 422 && empty.body.contains("Choose a file"))
            #expect(try await web.upload("/ada/tools/downloads", filename: "C:\\Users\\ada\\a.bin", body).status == 303)
            let again = try await web.upload("/ada/tools/downloads", filename: "a.bin", body)
            #expect(again.status == 422 && again.body.contains("There is already a download named a.bin"))

            // A signed-in reader may neither upload nor delete.
            let reader = try await WebPagesTests.signIn(stack, bob)
            try await reader.get("/ada/tools/downloads")
            let refused = try await reader.upload("/ada/tools/downloads", filename: "b.bin", body)
            #expect(refused.status == 403)
            #expect(try await reader.post("/ada/tools/downloads/a.bin/delete", [:]).status == 403)
            let listed = try await web.get("/ada/tools/downloads").body
            #expect(listed.contains("a.bin") && !listed.contains("b.bin"))
            #expect(try await stack.storedBlobs() == [SHA256.hash(data: body).hexString])
        }
    }

    @Test func test_aPrivateRepositorysDownloadsAre404ToOutsiders() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let eve = try await stack.makeUser("eve")
            try await stack.makeRepository(ada, "secret", isPrivate: true)
            let web = try await WebPagesTests.signIn(stack, ada)
            try await web.get("/ada/secret/downloads")
            #expect(try await web.upload("/ada/secret/downloads", filename: "plan.txt", Array("plan\n".utf8)).status == 303)
            let outsider = try await WebPagesTests.signIn(stack, eve)
            for path in ["/ada/secret/downloads", "/ada/secret/downloads/plan.txt"] {
                #expect(try await outsider.get(path).status == 404, "\(path)")
                #expect(try await WebSession(stack.gatewayURL).get(path).status == 404, "\(path)")
            }
            #expect(try await outsider.upload("/ada/secret/downloads", filename: "x.txt", Array("x".utf8)).status == 404)
            #expect(try await web.get("/ada/secret/downloads/plan.txt").status == 302)
        }
    }

    static func encode(_ name: String) -> String {
        name.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? name
    }
}
