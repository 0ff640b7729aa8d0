/// Which Pygments lexer highlights a file, by its name: the common languages only. A file
/// it does not know is shown plain.
public enum SyntaxLexer {
    /// The lexer for `path`, or nil.
    public static func forPath(_ path: String) -> String? {
        FileNameTable.lookUp(path, byFileName: byFileName, byExtension: byExtension)
    }

    /// Every lexer Cairn asks for; the repository store refuses others.
    public static let known = Set(byExtension.values).union(byFileName.values)

    static let byFileName: [String: String] = [
        "Makefile": "make", "GNUmakefile": "make", "Dockerfile": "docker", "CMakeLists.txt": "cmake", "Package.swift": "swift",
        "Rakefile": "ruby", "Gemfile": "ruby", ".bashrc": "bash", ".gitignore": "text",
    ]

    static let byExtension: [String: String] = [
        "swift": "swift", "c": "c", "h": "c", "cc": "cpp", "cpp": "cpp", "cxx": "cpp", "hpp": "cpp", "hh": "cpp", "m": "objective-c",
        "go": "go", "rs": "rust", "py": "python", "rb": "ruby", "js": "javascript", "mjs": "javascript", "jsx": "javascript",
        "ts": "typescript", "tsx": "typescript", "java": "java", "kt": "kotlin", "scala": "scala", "cs": "csharp", "php": "php",
        "sh": "bash", "bash": "bash", "zsh": "zsh", "pl": "perl", "lua": "lua", "tcl": "tcl", "r": "r", "sql": "sql",
        "html": "html", "htm": "html", "css": "css", "scss": "scss", "xml": "xml", "json": "json", "yml": "yaml", "yaml": "yaml",
        "toml": "toml", "ini": "ini", "md": "markdown", "markdown": "markdown", "mk": "make", "cmake": "cmake", "hs": "haskell",
        "ex": "elixir", "exs": "elixir", "erl": "erlang", "clj": "clojure", "ml": "ocaml", "zig": "zig", "dart": "dart",
        "vim": "vim", "diff": "diff", "patch": "diff", "proto": "protobuf", "tf": "terraform", "nix": "nix",
    ]
}

/// Looks a file up in tables of whole file names and of extensions.
public enum FileNameTable {
    /// The value for `path`'s last component in `byFileName`, else for its extension
    /// (lowercased; a leading dot is no extension) in `byExtension`.
    public static func lookUp(_ path: String, byFileName: [String: String], byExtension: [String: String]) -> String? {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        if let byName = byFileName[name] { return byName }
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return nil }
        return byExtension[name[name.index(after: dot)...].lowercased()]
    }
}

/// Code for the repository store's highlighter: each item's text in the lexer it names.
public struct HighlightRequest: Codable, Sendable {
    public struct Item: Codable, Sendable {
        public var lexer: String
        public var text: String

        public init(lexer: String, text: String) {
            self.lexer = lexer
            self.text = text
        }
    }

    public var items: [Item]

    public init(items: [Item]) {
        self.items = items
    }

    /// The most text one request may carry, in bytes.
    public static let maxBytes = 4 << 20
}

/// The highlighted lines of each item, in order: HTML holding only `<span class="…">`
/// elements around escaped text, one entry per line of the item's text; nil for an item that
/// could not be highlighted.
public struct HighlightResponse: Codable, Sendable {
    public var items: [[String]?]

    public init(items: [[String]?]) {
        self.items = items
    }
}
