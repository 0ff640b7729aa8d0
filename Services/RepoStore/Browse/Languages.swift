import CairnProtocol

/// Which language a file is written in, by its name: a small table of the common ones,
/// enough for a repository's language breakdown. Files it does not know are not counted.
enum Languages {
    /// The language of `path`, or nil.
    static func language(of path: String) -> String? {
        FileNameTable.lookUp(path, byFileName: byFileName, byExtension: byExtension)
    }

    /// Bytes per language over `files` (path and size), vendored and generated folders left out.
    static func breakdown(_ files: [(path: String, size: Int)]) -> [String: Int] {
        var bytes: [String: Int] = [:]
        for file in files where !isVendored(file.path) {
            if let language = language(of: file.path) { bytes[language, default: 0] += file.size }
        }
        return bytes
    }

    static func isVendored(_ path: String) -> Bool {
        path.split(separator: "/").dropLast().contains { ["node_modules", "vendor", "third_party", ".build", "dist"].contains(String($0)) }
    }

    static let byFileName: [String: String] = [
        "Makefile": "Makefile", "Dockerfile": "Dockerfile", "CMakeLists.txt": "CMake", "Package.swift": "Swift", "Rakefile": "Ruby", "Gemfile": "Ruby",
    ]

    static let byExtension: [String: String] = [
        "swift": "Swift", "c": "C", "h": "C", "cc": "C++", "cpp": "C++", "cxx": "C++", "hpp": "C++", "hh": "C++", "m": "Objective-C", "mm": "Objective-C++",
        "rs": "Rust", "go": "Go", "py": "Python", "rb": "Ruby", "js": "JavaScript", "mjs": "JavaScript", "cjs": "JavaScript", "jsx": "JavaScript",
        "ts": "TypeScript", "tsx": "TypeScript", "java": "Java", "kt": "Kotlin", "kts": "Kotlin", "scala": "Scala", "cs": "C#", "fs": "F#",
        "php": "PHP", "pl": "Perl", "pm": "Perl", "sh": "Shell", "bash": "Shell", "zsh": "Shell", "lua": "Lua", "r": "R", "jl": "Julia",
        "hs": "Haskell", "ml": "OCaml", "mli": "OCaml", "ex": "Elixir", "exs": "Elixir", "erl": "Erlang", "clj": "Clojure", "dart": "Dart",
        "zig": "Zig", "nim": "Nim", "sql": "SQL", "html": "HTML", "htm": "HTML", "css": "CSS", "scss": "SCSS", "vue": "Vue", "svelte": "Svelte",
        "mustache": "Mustache", "md": "Markdown", "markdown": "Markdown", "tex": "TeX", "el": "Emacs Lisp", "vim": "Vim Script", "ps1": "PowerShell",
        "groovy": "Groovy", "gradle": "Groovy", "tf": "HCL", "proto": "Protocol Buffer", "asm": "Assembly", "s": "Assembly",
    ]
}
