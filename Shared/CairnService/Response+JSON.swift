public import CairnProtocol
public import HTTPTypes
public import Hummingbird

extension Response {
    /// `value` as a JSON response in Cairn's dialect (`CairnJSON`).
    public static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        try Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: .init(bytes: CairnJSON.encode(value))))
    }
}
