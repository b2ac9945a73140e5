import Foundation
import Testing

/// The app's top folder keeps its name under the virtual root (Format.virtualRoot), so
/// paths that climb out of the app and back in resolve as under node.
struct VirtualRootTests {
    @Test func requiresThroughTheAppFoldersOwnNameResolveAsUnderNode() throws {
        let fixture = try Fixture([
            "app.js": """
                const path = require('path');
                console.log(require('../app/lib/b.js'), path.basename(__dirname), path.basename(path.dirname(require.resolve('../app/lib/b.js'))));
                """,
            "lib/b.js": "module.exports = 'b through ../app';\n",
        ])
        let (node, bundled) = try expectSameAsNode(fixture)
        #expect(node.stdout == "b through ../app app lib\n")
        #expect(bundled.stderr == "", "\(bundled)")
    }

    /// An entry inside node_modules/alpha/ keeps `node_modules/alpha`, so it can require
    /// its own files by its package name.
    @Test func anEntryInsideAPackageRequiresItselfByName() throws {
        let fixture = try Fixture([
            "node_modules/alpha/package.json": #"{ "name": "alpha", "version": "1.0.0" }"#,
            "node_modules/alpha/main.js": "console.log(require('alpha/beta.js'), require('alpha/package.json').version);\n",
            "node_modules/alpha/beta.js": "module.exports = 'beta by name';\n",
        ])
        let (node, _) = try expectSameAsNode(fixture, entry: "node_modules/alpha/main.js")
        #expect(node.stdout == "beta by name 1.0.0\n")
    }
}
