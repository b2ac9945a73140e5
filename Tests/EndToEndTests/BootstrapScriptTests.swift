import Testing

/// Templates/bootstrap/ has its own tests under plain node (Tests/bootstrap), run here
/// under each runtime's node so one `swift test` covers everything: node 18 is this
/// machine's, node 24 laid over it by Tests/bootstrap/run-under (needs root).
@Test(arguments: ["node18", "node24"])
func bootstrapScriptPassesItsNodeTests(runtime: String) throws {
    let directory = Tools.packageRoot + "/Tests/bootstrap"
    let result = try run(directory + "/run-under", [runtime, "node", "--test"], in: directory, timeout: 300)
    #expect(result.status == 0, "\(result)")
}
