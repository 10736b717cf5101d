import Foundation
import Testing

/// `scripts/check-skips`, the CI step that turns a skipped parity test into a red build, on
/// made-up results: it must pass only an allowed skip, and fail on anything it cannot account for.
@Suite("scripts/check-skips")
struct CheckSkipsTests {
    static let script = CLI.repository + "/scripts/check-skips"

    /// Runs the script on a console log whose summary counts `counted` tests and an xUnit file
    /// with `cases` (classname, name, child element or nil); its exit status and stderr.
    func check(counted: Int, _ cases: [(String, String, String?)]) throws -> (Int32, String) {
        let ws = try Workspace()
        let log = try ws.write("test.log", "◇ Test run started.\n✔ Test run with \(counted) tests in 2 suites passed after 1.0 seconds.\n")
        let rows = cases.map { c in
            c.2.map { "<testcase classname=\"\(c.0)\" name=\"\(c.1)\"><\($0) /></testcase>" }
                ?? "<testcase classname=\"\(c.0)\" name=\"\(c.1)\" time=\"0.1\" />"
        }
        let xml = try ws.write("results.xml", "<?xml version=\"1.0\"?><testsuites><testsuite name=\"TestResults\">\(rows.joined())</testsuite></testsuites>")
        return try CLI.capture(Self.script, [log, xml], stderr: true)
    }

    @Test("passes allowed skips; fails an unlisted skip, a failure, and a test count the xUnit file does not match")
    func outcomes() throws {
        let passed = ("PipelineCoreTests.Some", "works()", nil as String?)
        let allowedTest = ("PipelineMediaTests.MemoryTests", "streamingMeasuredAlone()", "skipped" as String?)
        let allowedSuite = ("PipelineTensorTests.AVX512KernelTests", "anything()", "skipped" as String?)
        #expect(try check(counted: 3, [passed, allowedTest, allowedSuite]).0 == 0)

        let (status, text) = try check(counted: 2, [passed, ("PipelineModelsTests.LlamaParityTests", "greedy()", "skipped")])
        #expect(status != 0 && text.contains("PipelineModelsTests.LlamaParityTests/greedy()"))
        let failed = try check(counted: 2, [passed, ("PipelineCoreTests.Some", "broken()", "failure")])
        #expect(failed.0 != 0 && failed.1.contains("failed"))
        // A test the console counted but the xUnit file does not list (or the reverse) is unaccounted for.
        let lost = try check(counted: 3, [passed, allowedTest])
        #expect(lost.0 != 0 && lost.1.contains("lists 2 tests but the run counted 3"))
    }
}
