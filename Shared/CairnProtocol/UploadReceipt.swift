/// What the blob store keeps of an upload made through a link that asked for a receipt:
/// the blob the body hashed to and its size. `GET /receipts/{id}` (internal) answers it, so
/// the gateway can tell that whoever verifies an LFS object really uploaded it.
public struct UploadReceipt: Codable, Sendable, Equatable {
    public let sha256: String
    public let size: Int64

    public init(sha256: String, size: Int64) {
        self.sha256 = sha256
        self.size = size
    }

    /// Whether `id` can name a receipt: a lowercase UUID, so it is safe as a file name.
    public static func isValidID(_ id: some StringProtocol) -> Bool {
        id.utf8.count == 36 && id.allSatisfy { $0.isHexDigit && !$0.isUppercase || $0 == "-" }
    }
}
