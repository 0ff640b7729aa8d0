import AsyncHTTPClient
import CairnModel
import CairnTestSupport
import Foundation
import NIOCore
import NIOHTTP1
import Testing

@Suite(.timeLimit(.minutes(5))) struct DisconnectTests {
    /// The git processes (any `git …upload-pack…`) whose working directory is `path`.
    static func gitProcesses(in path: String) -> [String] {
        let processes = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return processes.filter { $0.allSatisfy(\.isNumber) }.filter { pid in
            guard works(pid, in: path), let command = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8) else { return false }
            return command.contains("upload-pack")
        }
    }

    /// Whether process `pid` works in the folder `path`.
    static func works(_ pid: String, in path: String) -> Bool {
        guard let cwd = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd") else { return false }
        return URL(fileURLWithPath: cwd).standardizedFileURL.path == URL(fileURLWithPath: path).standardizedFileURL.path
    }

    @Test func test_clientDisconnectEndsTheGitProcess() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let (repository, head) = try await stack.makeLargeRepository(ada, "large")

            // A v0 fetch that wants everything, read only a little, then dropped.
            var request = HTTPClientRequest(url: "\(stack.gatewayURL)/ada/large.git/git-upload-pack")
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/x-git-upload-pack-request")
            request.body = .bytes(ByteBuffer(string: "0032want \(head)\n00000009done\n"))
            let path = stack.repositoryPath(repository.id)
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            do {
                let response = try await client.execute(request, timeout: .seconds(30))
                var iterator = response.body.makeAsyncIterator()
                _ = try await iterator.next()
                #expect(!Self.gitProcesses(in: path).isEmpty, "git should still be sending the pack")
            }
            try await client.shutdown()
            #expect(await eventually(timeout: .seconds(10)) { Self.gitProcesses(in: path).isEmpty })
        }
    }
}
