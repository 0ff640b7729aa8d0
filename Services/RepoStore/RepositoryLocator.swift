import Foundation

/// Maps a repository id to its folder under the storage root, and refuses anything else:
/// repositories live by id (`<root>/<id>.git`), so no user-chosen text ever becomes a path.
struct RepositoryLocator: Sendable {
    let root: String

    init(root: String) {
        self.root = URL(fileURLWithPath: root).standardizedFileURL.path
    }

    /// The folder of repository `id`; throws for an id that is not a positive integer.
    func path(for id: String) throws(RepoStoreError) -> String {
        guard let number = Int64(id), number > 0, String(number) == id else { throw .invalidRepositoryID(id) }
        return path(for: number)
    }

    func path(for id: Int64) -> String { "\(root)/\(id).git" }

    /// Whether repository `id` exists on disk.
    func exists(_ id: Int64) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path(for: id) + "/HEAD", isDirectory: &isDirectory) && !isDirectory.boolValue
    }

    /// The ids of every repository on disk, in order.
    func all() -> [Int64] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return names.compactMap { name -> Int64? in
            guard name.hasSuffix(".git"), let id = Int64(name.dropLast(4)), id > 0, exists(id) else { return nil }
            return id
        }.sorted()
    }

    /// The folder for the hooks every repository shares.
    var hooksPath: String { "\(root)/.hooks" }
}
