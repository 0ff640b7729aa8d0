import CairnProtocol
import Testing

/// The small text helpers the daemons share.
@Suite(.timeLimit(.minutes(5))) struct TextTests {
    @Test func test_prefixByUTF8BytesKeepsWholeCharacters() {
        #expect("abc".prefix(utf8Bytes: 5) == "abc")
        #expect("abcdef".prefix(utf8Bytes: 3) == "abc")
        // "é" is two bytes and "🙂" four: neither is ever cut in half.
        #expect("aé🙂b".prefix(utf8Bytes: 2) == "a")
        #expect("aé🙂b".prefix(utf8Bytes: 6) == "aé")
        #expect("aé🙂b".prefix(utf8Bytes: 7) == "aé🙂")
    }

    @Test func test_hexHelpers() {
        #expect([0x00, 0xAB, 0xFF].hexString == "00abff")
        #expect(UInt8(ascii: "F").hexDigitValue == 15 && UInt8(ascii: "g").hexDigitValue == nil)
        #expect(String(repeating: "a", count: 64).isSHA256Hex)
        #expect(!String(repeating: "A", count: 64).isSHA256Hex && !"abc".isSHA256Hex)
    }
}
