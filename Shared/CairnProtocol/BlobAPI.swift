public import Foundation

/// What the blob store answers to a store (`PUT /blobs/{sha}`, `POST /blobs`).
public struct StoredBlob: Codable, Equatable, Sendable {
    public let sha256: String
    public let size: Int
    /// False when the blob was there already.
    public let created: Bool

    public init(sha256: String, size: Int, created: Bool) {
        self.sha256 = sha256
        self.size = size
        self.created = created
    }
}

/// One blob of the blob store's listing (`GET /blobs`).
public struct ListedBlob: Codable, Equatable, Sendable {
    public let sha256: String
    public let size: Int
    /// When the blob was stored (its file's or object's modification time).
    public let storedAt: Date

    public init(sha256: String, size: Int, storedAt: Date) {
        self.sha256 = sha256
        self.size = size
        self.storedAt = storedAt
    }

    enum CodingKeys: String, CodingKey {
        case sha256, size
        case storedAt = "stored_at"
    }
}

/// A page of the blob listing.
public struct BlobListing: Codable, Sendable {
    public let blobs: [ListedBlob]
    public init(blobs: [ListedBlob]) { self.blobs = blobs }
}

/// What re-hashing a stored blob found (`POST /blobs/{sha}/verify`).
public struct BlobVerification: Codable, Sendable {
    public let sha256: String
    public let actual: String
    public let intact: Bool
    public init(sha256: String, actual: String, intact: Bool) {
        self.sha256 = sha256
        self.actual = actual
        self.intact = intact
    }
}
