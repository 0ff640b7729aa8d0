import CairnProtocol
import CairnService
import Foundation
import Logging
import ServiceLifecycle

/// Receipts of uploads made through links that asked for one, as small files under
/// `<blobstore.root>/receipts`, kept for two hours (an upload link lives one).
struct UploadReceipts: Service {
    let folder: String
    let logger: Logger
    static let lifetime: TimeInterval = 7200

    init(root: String, logger: Logger) throws {
        folder = root + "/receipts"
        self.logger = logger
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }

    func record(_ id: String, _ receipt: UploadReceipt) throws {
        guard UploadReceipt.isValidID(id) else { return }
        try CairnJSON.encode(receipt).write(to: URL(fileURLWithPath: "\(folder)/\(id)"), options: .atomic)
    }

    func find(_ id: String) -> UploadReceipt? {
        guard UploadReceipt.isValidID(id), let data = FileManager.default.contents(atPath: "\(folder)/\(id)") else { return nil }
        return try? CairnJSON.decode(UploadReceipt.self, from: data)
    }

    /// Removes receipts older than `lifetime`, every ten minutes.
    func run() async throws {
        await repeatUntilShutdown(every: .seconds(600)) {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            let cutoff = Date().addingTimeInterval(-Self.lifetime)
            for name in names {
                let path = "\(folder)/\(name)"
                let made = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? .distantPast
                if made < cutoff { try? FileManager.default.removeItem(atPath: path) }
            }
        }
    }
}
