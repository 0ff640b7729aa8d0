@testable import CairnBlobStore
import Foundation
import Testing

/// The S3 request signature against AWS's published example, so that a real S3 accepts
/// what moto (which does not check signatures) accepts in the other tests.
@Suite(.timeLimit(.minutes(5))) struct SigV4Tests {
    @Test func test_theGetObjectExampleOfTheS3Documentation() throws {
        // "GET Object" from "Signature Calculations for the Authorization Header" in the S3 API reference.
        let signer = SigV4(accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", region: "us-east-1")
        let date = try #require(ISO8601DateFormatter().date(from: "2013-05-24T00:00:00Z"))
        let headers = signer.sign(
            method: "GET", path: "/test.txt", query: [], headers: ["Host": "examplebucket.s3.amazonaws.com", "Range": "bytes=0-9"],
            payloadHash: SigV4.emptyPayload, date: date)
        #expect(headers["x-amz-date"] == "20130524T000000Z")
        #expect(headers["Authorization"] == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    @Test func test_queryParametersAreEncodedAndSorted() {
        #expect(SigV4.canonicalQuery([("prefix", "sha256/"), ("list-type", "2"), ("uploads", "")]) == "list-type=2&prefix=sha256%2F&uploads=")
    }
}
