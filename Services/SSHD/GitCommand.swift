import Foundation

/// A command an SSH client asks to run, as git sends it: `git-upload-pack '/owner/repo.git'`,
/// `git-receive-pack 'owner/repo'` or `git-lfs-authenticate owner/repo.git download`.
///
/// Read by hand: git quotes the path with single quotes (and `'\''` for a quote inside),
/// and nothing else is taken, so no shell ever sees it.
struct GitCommand: Equatable, Sendable {
    enum Service: String, Sendable {
        case uploadPack = "git-upload-pack"
        case receivePack = "git-receive-pack"
        case lfsAuthenticate = "git-lfs-authenticate"
    }

    let service: Service
    let owner: String
    let name: String
    /// For `git-lfs-authenticate`: `upload` or `download`.
    let operation: String?

    /// Why a command is refused: said to the client, then the channel closes.
    struct Refusal: Error, Equatable {
        let message: String
    }

    init(_ command: String) throws(Refusal) {
        let trimmed = command.trimmingCharacters(in: .whitespaces)
        guard let space = trimmed.firstIndex(of: " ") else { throw Refusal(message: "Cairn runs git here, not \(trimmed.prefix(40)); no shell is offered") }
        guard let service = Service(rawValue: String(trimmed[..<space])) else {
            throw Refusal(message: "Cairn runs git-upload-pack, git-receive-pack and git-lfs-authenticate here, not \(trimmed[..<space].prefix(40))")
        }
        var rest = Substring(trimmed[trimmed.index(after: space)...]).drop { $0 == " " }
        let path = try Self.word(&rest)
        var operation: String?
        if service == .lfsAuthenticate {
            rest = rest.drop { $0 == " " }
            operation = try Self.word(&rest)
            guard operation == "upload" || operation == "download" else { throw Refusal(message: "git-lfs-authenticate takes upload or download") }
        }
        guard rest.allSatisfy({ $0 == " " }) else { throw Refusal(message: "unexpected words after the repository") }
        var parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        if parts.count == 2, parts[1].hasSuffix(".git") { parts[1].removeLast(4) }
        guard parts.count == 2, !parts.contains(where: { $0 == "." || $0 == ".." || $0.contains("\0") }) else {
            throw Refusal(message: "name a repository as owner/name, not \(path.prefix(80))")
        }
        self.service = service
        owner = parts[0]
        name = parts[1]
        self.operation = operation
    }

    /// One word: single-quoted as git quotes it (`'\''` inside), or bare up to a space.
    private static func word(_ text: inout Substring) throws(Refusal) -> String {
        guard let first = text.first else { throw Refusal(message: "name a repository") }
        guard first == "'" else {
            let end = text.firstIndex(of: " ") ?? text.endIndex
            defer { text = text[end...] }
            return String(text[..<end])
        }
        var result = ""
        var index = text.index(after: text.startIndex)
        while index < text.endIndex {
            let character = text[index]
            if character == "'" {
                let next = text.index(after: index)
                // `'\''`: a quote inside the quoted word.
                if text[next...].hasPrefix("\\''") {
                    result.append("'")
                    index = text.index(next, offsetBy: 3)
                    continue
                }
                text = text[next...]
                return result
            }
            result.append(character)
            index = text.index(after: index)
        }
        throw Refusal(message: "an unclosed quote in the command")
    }
}
