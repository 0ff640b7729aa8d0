import CairnProtocol
import CairnService
import CairnSigning
import Foundation
import NIOCore
import Testing

@Suite(.timeLimit(.minutes(5))) struct InternalSignatureTests {
    let signature = InternalSignature(signer: try! Signer(key: "internal-key-for-tests-0123456789abcdef"))

    @Test func test_aTokenNamesTheWholeCall() throws {
        let call = InternalSignature.Call(
            method: "post", path: "/repos/1/maintenance?x=1", daemon: .repostore,
            bodyHash: InternalSignature.bodyHash(of: ByteBuffer(string: "{}")), user: "7", visitor: "v-1")
        let (verified, nonce) = try signature.verify(try signature.token(for: call))
        #expect(verified == call)
        #expect(verified.method == "POST")
        // Each token has its own nonce, so that a streamed call's token can be used once.
        #expect(try signature.verify(try signature.token(for: call)).nonce != nonce)
    }

    @Test func test_staleAndForeignTokensAreRefused() throws {
        let call = InternalSignature.Call(method: "GET", path: "/x", daemon: .blobstore)
        let stale = try signature.token(for: call, now: Date().addingTimeInterval(-120))
        #expect(throws: SigningError.self) { try signature.verify(stale) }
        let foreign = try InternalSignature(signer: Signer(key: "another-internal-key-0123456789abcdef")).token(for: call)
        #expect(throws: SigningError.self) { try signature.verify(foreign) }
    }

    @Test func test_theHashOfNoBodyIsSHA256OfNothing() {
        #expect(InternalSignature.emptyBodyHash == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }
}
