import AsyncHTTPClient
import CairnModel
import CairnProtocol
import CairnService
import CairnSigning
import CairnTestSupport
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// The repository store's whole-session endpoint, which an SSH server relays: git speaks
/// first, the caller answers while the request is still open, and a fetch gets its pack.
@Suite(.timeLimit(.minutes(3))) struct GitSessionTests {
    @Test func test_aSessionIsFullDuplex_refsFirstThenThePackForTheWants() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let (repository, _, head) = try await stack.makePushedRepository(ada, "tool", commits: 2)
            let repostore = InternalClient(
                .repostore, baseURL: stack.configuration.listener(.repostore).url, signature: InternalSignature(signer: try Signer(key: stack.configuration.signingKey)))
            let (requestBody, sender) = AsyncStream<ByteBuffer>.makeStream()
            let response = try await repostore.send(
                .POST, "/repos/\(repository.id)/session/git-upload-pack", body: .stream(requestBody, length: .unknown), timeout: .seconds(60))
            #expect(response.status == .ok)
            var answer = response.body.makeAsyncIterator()
            var received = ""
            // The refs come before the request has said anything: the session is not stateless.
            while !received.hasSuffix("0000") {
                guard let chunk = try await answer.next() else { break }
                received += String(buffer: chunk)
            }
            #expect(received.contains("\(head) HEAD") && received.contains("\(head) refs/heads/main"), "\(received)")
            // Now the wants, while the answer stays open: a pack follows.
            func pktLine(_ text: String) -> String { String(format: "%04x", text.utf8.count + 4) + text }
            sender.yield(ByteBuffer(string: pktLine("want \(head)\n") + "0000" + pktLine("done\n")))
            sender.finish()
            var rest: [UInt8] = []
            while let chunk = try await answer.next() { rest += Array(chunk.readableBytesView) }
            let text = String(decoding: rest, as: UTF8.self)
            #expect(text.hasPrefix("0008NAK\n") && text.contains("PACK"), "\(text.prefix(80))")
        }
    }

    @Test func test_unknownServicesAndRepositoriesAreRefused() async throws {
        try await CairnStack.with { stack in
            let repostore = InternalClient(
                .repostore, baseURL: stack.configuration.listener(.repostore).url, signature: InternalSignature(signer: try Signer(key: stack.configuration.signingKey)))
            let ada = try await stack.makeUser("ada")
            let repository = try await stack.makeRepository(ada, "tool")
            for (path, status) in [("/repos/\(repository.id)/session/git-shell", 400), ("/repos/999999/session/git-upload-pack", 404), ("/repos/..%2F/session/git-upload-pack", 400)] {
                let answer = try await repostore.send(.POST, path, body: .bytes(ByteBuffer(string: "0000")), timeout: .seconds(30))
                #expect(Int(answer.status.code) == status, "\(path)")
            }
        }
    }
}
