import CairnProtocol
import Testing

@Suite(.timeLimit(.minutes(5))) struct NamesTests {
    @Test(arguments: ["ada", "my-repo", "my_repo.v2", "A1", String(repeating: "x", count: 100)])
    func test_validNames(name: String) { #expect(Names.problem(with: name) == nil) }

    @Test(arguments: ["", ".", "..", "../x", "a/b", "a\u{0}b", "é", ".dot", "-dash", "x.git", "X.GIT", "api", "Admin", "login", "static", String(repeating: "x", count: 101), "a b", "a\u{202E}b"])
    func test_invalidNames(name: String) { #expect(Names.problem(with: name) != nil) }
}
