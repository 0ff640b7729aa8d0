import CairnModel
import CairnService
import CairnTestSupport
import Foundation
import Subprocess
import SystemPackage
import NIOHTTP1
import Testing

/// SSH keys made by the real `ssh-keygen`: read and fingerprinted as OpenSSH does, kept for
/// one person or one repository, through GitHub's API and the settings pages.
@Suite("SSH keys", .timeLimit(.minutes(4)))
struct SSHKeyTests {
    /// A new key pair of `type` (`-t`, and `-b` bits when given) in `folder`: the public key
    /// line, what `ssh-keygen -l` says of it, and the private key's path.
    static func keygen(_ folder: String, _ type: String, bits: Int? = nil, comment: String = "me@example.com") async throws -> (line: String, listed: String, path: String) {
        let path = "\(folder)/key-\(UUID().uuidString)"
        // Through Subprocess, never Foundation's Process: OpenSSH's tools close every inherited
        // descriptor at start, which Foundation takes for their exit (and then waits for it).
        func run(_ arguments: [String]) async throws -> String {
            let result = try await Subprocess.run(
                .path(FilePath("/usr/bin/ssh-keygen")), arguments: Arguments(arguments), input: .none, output: .string(limit: 1 << 16), error: .discarded)
            guard result.terminationStatus.isSuccess else { throw TestFailure("ssh-keygen \(arguments.joined(separator: " ")) failed") }
            return result.standardOutput
        }
        _ = try await run(["-q", "-t", type, "-N", "", "-C", comment, "-f", path] + (bits.map { ["-b", String($0)] } ?? []))
        return (try String(contentsOfFile: path + ".pub", encoding: .utf8), try await run(["-l", "-f", path + ".pub"]), path)
    }

    @Test("ed25519, ECDSA and RSA keys are read with OpenSSH's fingerprints and sizes; other keys are refused with the reason")
    func parsing() async throws {
        let folder = NSTemporaryDirectory() + "cairn-keys-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        for (type, bits) in [("ed25519", nil), ("ecdsa", 256), ("ecdsa", 384), ("ecdsa", 521), ("rsa", 2048), ("rsa", 3072)] as [(String, Int?)] {
            let (line, listed, _) = try await Self.keygen(folder, type, bits: bits)
            let key = try SSHPublicKey(line)
            // `ssh-keygen -l`: "256 SHA256:… me@example.com (ED25519)"
            let fields = listed.split(separator: " ")
            #expect(String(fields[0]) == String(key.bits) && String(fields[1]) == key.fingerprint, "\(type) \(bits ?? 0): \(listed) vs \(key.bits) \(key.fingerprint)")
            #expect(listed.contains("(\(key.kind))") && key.comment == "me@example.com")
            #expect(line.hasPrefix(key.openSSH))
        }
        let weak = try await Self.keygen(folder, "rsa", bits: 1024).line
        #expect(throws: SSHPublicKey.Problem.self) { try SSHPublicKey(weak) }
        #expect((try? SSHPublicKey(weak)) == nil)
        do { _ = try SSHPublicKey(weak) } catch { #expect(error.description.contains("at least 2048 bits; this one has 1024")) }

        // A DSA key (OpenSSH no longer makes them), cut or lying keys, private keys, junk.
        func blob(_ parts: [[UInt8]]) -> String { Data(parts.flatMap { [UInt8](withUnsafeBytes(of: UInt32($0.count).bigEndian) { Array($0) }) + $0 }).base64EncodedString() }
        let ed = try SSHPublicKey(try await Self.keygen(folder, "ed25519").line)
        // A control character in the comment, which would become the default title.
        #expect(throws: SSHPublicKey.Problem.self) { try SSHPublicKey(ed.openSSH + " bad\u{0}comment") }
        #expect(try SSHPublicKey(ed.openSSH + " tab\tcomment").comment == "tab\tcomment")
        // The same RSA key with its modulus spelled with an extra leading zero; a negative one.
        var rsaReader = try SSHPublicKey(try await Self.keygen(folder, "rsa", bits: 2048).line).blob
        let modulusStart = 4 + 7 + 4 + Int(rsaReader[14]) + 4
        let modulus = Array(rsaReader[modulusStart...])
        rsaReader = []
        let padded = blob([Array("ssh-rsa".utf8), [1, 0, 1], [0] + modulus])
        let negative = blob([Array("ssh-rsa".utf8), [1, 0, 1], Array(modulus.dropFirst())])
        let offCurve = blob([Array("ecdsa-sha2-nistp256".utf8), Array("nistp256".utf8), [4] + Array(repeating: 1, count: 64)])
        let cases: [(String, String)] = [
            ("ssh-rsa " + padded, "shortest form"),
            ("ssh-rsa " + negative, "not a positive number"),
            ("ecdsa-sha2-nistp256 " + offCurve, "not a point of nistp256"),
            (ed.openSSH + " one\n" + ed.openSSH + " two", "one key at a time"),
            ("ssh-dss " + blob([Array("ssh-dss".utf8), [1], [2], [3], [4]]), "DSA keys are refused"),
            ("ssh-rsa " + Data(ed.blob).base64EncodedString(), "holds a ssh-ed25519 key"),
            ("ssh-ed25519 " + Data(ed.blob.dropLast(5)).base64EncodedString(), "runs past its end"),
            ("ssh-ed25519 " + Data(ed.blob + [0]).base64EncodedString(), "unexpected bytes"),
            ("ssh-ed25519 " + blob([Array("ssh-ed25519".utf8), Array(repeating: 7, count: 31)]), "32 bytes"),
            ("ssh-ed25519 " + Data([0xff, 0xff, 0xff, 0xff, 1]).base64EncodedString(), "runs past its end"),
            ("ssh-foo " + blob([Array("ssh-foo".utf8)]), "ssh-foo keys are not taken"),
            ("-----BEGIN OPENSSH PRIVATE KEY-----", "private key"),
            ("ssh-ed25519 not*base64", "not base64"),
            ("", "paste a public key"),
            (String(repeating: "a", count: 9000), "longer than"),
        ]
        for (text, reason) in cases {
            do {
                _ = try SSHPublicKey(text)
                Issue.record("\(text.prefix(40)) was taken")
            } catch {
                #expect(error.description.contains(reason), "\(text.prefix(40)): \(error.description)")
            }
        }
    }

    @Test("the API and pages keep a person's keys and a repository's deploy keys; a key belongs to one owner; private repositories stay 404")
    func apiAndPages() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let bob = try await stack.makeUser("bob", scopes: [.repoRead, .repoWrite])
            let eve = try await stack.makeUser("eve")
            try await stack.makeRepository(ada, "secret", isPrivate: true)
            #expect(try await stack.api(.PUT, "/api/v3/repos/ada/secret/collaborators/bob", as: ada, json: #"{"permission": "push"}"#).0 == 204)
            let laptop = try await Self.keygen(stack.folder, "ed25519", comment: "ada@laptop").line.trimmingCharacters(in: .newlines)
            let server = try await Self.keygen(stack.folder, "ecdsa", bits: 256).line.trimmingCharacters(in: .newlines)
            let body = { (title: String, key: String) in #"{"title": "\#(title)", "key": "\#(key)"}"# }

            let (status, text) = try await stack.api(.POST, "/api/v3/user/keys", as: ada, json: body("Laptop", laptop))
            #expect(status == 201, "\(text)")
            let added = try PullRequestTests.json(text)
            #expect(added["title"] as? String == "Laptop" && laptop.hasPrefix(added["key"] as? String ?? "-") && added["read_only"] as? Bool == false)
            #expect((added["fingerprint"] as? String)?.hasPrefix("SHA256:") == true)
            let listed = try PullRequestTests.list(try await stack.api(.GET, "/api/v3/user/keys", as: ada).1)
            #expect(listed.count == 1)
            let published = try PullRequestTests.list(try await stack.api(.GET, "/api/v3/users/ada/keys").1)
            #expect(published.count == 1 && published.first?["title"] == nil && published.first?["key"] as? String == added["key"] as? String)

            // Without a title, the comment names it, cut to fit.
            let chatty = try await Self.keygen(stack.folder, "ed25519", comment: String(repeating: "c", count: 300)).line.trimmingCharacters(in: .newlines)
            let named = try await stack.api(.POST, "/api/v3/user/keys", as: ada, json: #"{"key": "\#(chatty)"}"#)
            let namedTitle = try PullRequestTests.json(named.1)["title"] as? String
            #expect(named.0 == 201 && namedTitle?.count == 100, "\(named)")
            // One key, one owner: not a second person's, not a repository's.
            let taken = try await stack.api(.POST, "/api/v3/user/keys", as: eve, json: body("Mine", laptop))
            #expect(taken.0 == 422 && taken.1.contains("key is already in use"), "\(taken)")
            #expect(try await stack.api(.POST, "/api/v3/repos/ada/secret/keys", as: ada, json: body("Deploy", laptop)).0 == 422)
            // Bad keys, with the reason; a token without the admin scope changes no keys.
            for (key, reason) in [("ssh-rsa AAAA", "key"), ("hello", "expected a type"), ("-----BEGIN OPENSSH PRIVATE KEY-----", "private key")] {
                let refused = try await stack.api(.POST, "/api/v3/user/keys", as: ada, json: body("Bad", key))
                #expect(refused.0 == 422 && refused.1.contains(reason), "\(key): \(refused)")
            }
            #expect(try await stack.api(.POST, "/api/v3/user/keys", as: bob, json: body("Bob", server)).0 == 403)
            #expect(try await stack.api(.POST, "/api/v3/user/keys", json: body("Nobody", server)).0 == 401)

            // Deploy keys: admins only; read-only unless asked; outsiders see nothing.
            let deploy = try await stack.api(.POST, "/api/v3/repos/ada/secret/keys", as: ada, json: body("CI", server))
            #expect(deploy.0 == 201, "\(deploy)")
            let deployKey = try PullRequestTests.json(deploy.1)
            #expect(deployKey["read_only"] as? Bool == true && deployKey["added_by"] as? String == "ada")
            #expect(try await stack.api(.GET, "/api/v3/repos/ada/secret/keys", as: bob).0 == 403)
            for user in [eve, nil] { #expect(try await stack.api(.GET, "/api/v3/repos/ada/secret/keys", as: user).0 == 404) }
            let deployID = try #require(deployKey["id"] as? Int)
            #expect(try await stack.api(.GET, "/api/v3/repos/ada/secret/keys/\(deployID)", as: ada).0 == 200)
            #expect(try await stack.api(.GET, "/api/v3/user/keys/\(deployID)", as: ada).0 == 404)
            #expect(try await stack.api(.DELETE, "/api/v3/repos/ada/secret/keys/\(deployID)", as: ada).0 == 204)
            #expect(try await stack.api(.DELETE, "/api/v3/repos/ada/secret/keys/\(deployID)", as: ada).0 == 404)

            // The pages: add with a form (the reason for a bad key), delete; a forged form does nothing.
            let page = try await WebPagesTests.signIn(stack, eve)
            #expect(try await page.get("/settings/keys").body.contains("No keys yet."))
            let bad = try await page.post("/settings/keys", ["title": "Weak", "key": try await Self.keygen(stack.folder, "rsa", bits: 1024).line])
            #expect(bad.status == 422 && bad.body.contains("at least 2048 bits"))
            #expect(try await page.post("/settings/keys", ["key": server]).status == 303)
            let shown = try await page.get("/settings/keys")
            #expect(shown.body.contains(try SSHPublicKey(server).fingerprint) && shown.body.contains("me@example.com"), "\(shown.body)")
            let id = try #require(shown.body.components(separatedBy: "/settings/keys/").dropFirst().first?.split(separator: "/").first.map(String.init))
            #expect(try await page.post("/settings/keys/\(id)/delete", [:], csrf: "forged").status == 403)
            #expect(try await page.post("/settings/keys/\(id)/delete", [:]).status == 303)
            #expect(try await page.get("/settings/keys").body.contains("No keys yet."))
            let owner = try await WebPagesTests.signIn(stack, ada)
            #expect(try await owner.get("/ada/secret/settings/keys").body.contains("Deploy keys"))
            #expect(try await WebPagesTests.signIn(stack, bob).get("/ada/secret/settings/keys").status == 403)
        }
    }
}
