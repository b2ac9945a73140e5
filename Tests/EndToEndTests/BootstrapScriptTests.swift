import Testing

/// Templates/bootstrap.js has its own tests under plain node (Tests/bootstrap); they
/// run here so one `swift test` covers everything.
@Test func bootstrapScriptPassesItsNodeTests() throws {
    let result = try run(Tools.node, ["--test", Tools.packageRoot + "/Tests/bootstrap/"], in: Tools.packageRoot, timeout: 300)
    #expect(result.status == 0, "\(result)")
}
