import Testing

/// Scripts/fetch-runtime has its own shell tests (Tests/runtime): fake .debs made with
/// dpkg-deb, no network. They run here so one `swift test` covers everything.
@Test func fetchRuntimeScriptPassesItsShellTests() throws {
    let result = try run("/bin/bash", [Tools.packageRoot + "/Tests/runtime/fetch-runtime.test.sh"], in: Tools.packageRoot, timeout: 120)
    #expect(result.status == 0, "\(result)")
}
