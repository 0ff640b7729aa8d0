import CairnSigning
import Foundation
import Testing

@Suite(.timeLimit(.minutes(5))) struct SignerTests {
    struct Session: Codable, Equatable { let user: Int; let version: Int }

    let signer = try! Signer(key: "a-signing-key-that-is-long-enough-0123456789")
    let session = Session(user: 42, version: 3)

    @Test func test_roundTripReturnsTheSignedValue() throws {
        let token = try signer.sign(session, salt: "session")
        #expect(try signer.unsign(token, as: Session.self, salt: "session", maxAge: .seconds(60)) == session)
    }

    @Test func test_tokenIsURLSafeText() throws {
        let token = try signer.sign(["path": "/a b/?&=+"], salt: "link")
        #expect(token.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) })
    }

    @Test func test_anotherSaltFails() throws {
        let token = try signer.sign(session, salt: "session")
        #expect(throws: SigningError.badSignature) { try signer.unsign(token, as: Session.self, salt: "download", maxAge: nil) }
    }

    @Test func test_expiredTokenFailsWithItsOwnError() throws {
        let token = try signer.sign(session, salt: "session", now: Date().addingTimeInterval(-120))
        #expect(throws: SigningError.expired(ageSeconds: 120, maxAgeSeconds: 60)) {
            try signer.unsign(token, as: Session.self, salt: "session", maxAge: .seconds(60))
        }
        #expect(try signer.unsign(token, as: Session.self, salt: "session", maxAge: .seconds(300)) == session)
    }

    @Test(arguments: [0, 1, 2])
    func test_tamperingWithAnyPartFails(part: Int) throws {
        let token = try signer.sign(session, salt: "session")
        var parts = token.split(separator: ".").map(String.init)
        switch part {
        case 0: parts[0] = Base64URL.encode(Data(#"{"user":1,"version":3}"#.utf8))
        case 1: parts[1] = String(Int(parts[1])! + 1)
        default: parts[2] = (parts[2].first == "A" ? "B" : "A") + parts[2].dropFirst()
        }
        #expect(throws: SigningError.badSignature) {
            try signer.unsign(parts.joined(separator: "."), as: Session.self, salt: "session", maxAge: nil)
        }
    }

    @Test func test_flippingAnyCharacterFails() throws {
        let token = try signer.sign(session, salt: "session")
        for index in token.indices where token[index] != "." {
            var tampered = token
            tampered.replaceSubrange(index...index, with: token[index] == "A" ? "B" : "A")
            #expect(throws: SigningError.self) { try signer.unsign(tampered, as: Session.self, salt: "session", maxAge: nil) }
        }
    }

    @Test(arguments: ["", "abc", "a.b", "a.b.c.d", "a.notanumber.c", "!!.1.??"])
    func test_malformedTokensFail(token: String) {
        #expect(throws: SigningError.malformed) { try signer.unsign(token, as: Session.self, salt: "session", maxAge: nil) }
    }

    @Test func test_fallbackKeysStillVerifyAndNewTokensUseTheCurrentKey() throws {
        let old = try Signer(key: "the-old-key-that-we-are-rotating-away-from")
        let rotated = try Signer(key: "the-new-key-that-everything-is-signed-with", fallbackKeys: ["the-old-key-that-we-are-rotating-away-from"])
        let oldToken = try old.sign(session, salt: "session")
        #expect(try rotated.unsign(oldToken, as: Session.self, salt: "session", maxAge: nil) == session)

        let newToken = try rotated.sign(session, salt: "session")
        #expect(throws: SigningError.badSignature) { try old.unsign(newToken, as: Session.self, salt: "session", maxAge: nil) }
        let current = try Signer(key: "the-new-key-that-everything-is-signed-with")
        #expect(try current.unsign(newToken, as: Session.self, salt: "session", maxAge: nil) == session)
    }

    @Test func test_unknownKeyFails() throws {
        let stranger = try Signer(key: "somebody-else-s-key-entirely-0123456789")
        let token = try stranger.sign(session, salt: "session")
        #expect(throws: SigningError.badSignature) { try signer.unsign(token, as: Session.self, salt: "session", maxAge: nil) }
    }

    @Test func test_wrongTypeIsUndecodable() throws {
        let token = try signer.sign(["other": "shape"], salt: "session")
        #expect(throws: SigningError.self) { try signer.unsign(token, as: Session.self, salt: "session", maxAge: nil) }
    }

    @Test func test_shortKeyIsRefused() {
        #expect(throws: SigningError.weakKey(length: 5)) { try Signer(key: "short") }
    }
}
