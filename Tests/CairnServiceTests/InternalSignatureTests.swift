import CairnService
import CairnSigning
import Foundation
import Testing

@Suite(.timeLimit(.minutes(5))) struct InternalSignatureTests {
    let signature = InternalSignature(signer: try! Signer(key: "internal-key-for-tests-0123456789abcdef"))

    @Test func test_tokenVerifiesOnlyForItsMethodAndPath() throws {
        let token = try signature.token(method: "get", path: "/repos/1/refs?x=1")
        try signature.verify(token, method: "GET", path: "/repos/1/refs?x=1")
        #expect(throws: SigningError.badSignature) { try signature.verify(token, method: "POST", path: "/repos/1/refs?x=1") }
        #expect(throws: SigningError.badSignature) { try signature.verify(token, method: "GET", path: "/repos/2/refs?x=1") }
    }

    @Test func test_staleTokenIsRefused() throws {
        let token = try signature.token(method: "GET", path: "/x", now: Date().addingTimeInterval(-120))
        #expect(throws: SigningError.self) { try signature.verify(token, method: "GET", path: "/x") }
    }
}
