import Testing

@testable import PipelineModels

/// A chat template comes inside the model file: whatever it says, parsing and rendering end
/// with a `JinjaError` rather than a trap, a stack overflow or an allocation it sized.
@Suite("Chat templates from untrusted files")
struct UntrustedTemplateTests {
    func renderError(_ source: String) throws -> JinjaError {
        try #require(throws: JinjaError.self) { try JinjaTemplate(source).render([:]) }
    }

    @Test("integer overflow is an error", arguments: [
        "{{ 9223372036854775807 + 1 }}", "{{ -9223372036854775807 - 2 }}", "{{ 4611686018427387904 * 2 }}",
        "{{ -(-9223372036854775807 - 1) }}", "{{ (-9223372036854775807 - 1) // -1 }}",
    ])
    func overflow(_ source: String) throws {
        #expect(try renderError(source).message.contains("overflows"))
    }

    @Test("Python's floor division and modulo, including Int.min % -1")
    func floorDivision() throws {
        let t = try JinjaTemplate("{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 // -2 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ (-9223372036854775807 - 1) % -1 }}")
        #expect(try t.render([:]) == "3 -4 -4 2 -2 0")
    }

    @Test("huge ranges, repeats and doublings are refused before they are made", arguments: [
        "{{ range(100000000000) | length }}", "{{ 'ab' * 100000000000 }}", "{{ 'x' * 9223372036854775807 }}",
        "{% set s = 'xxxxxxxxxxxxxxxx' %}" + String(repeating: "{% set s = s ~ s %}", count: 40) + "{{ s | length }}",
        "{% set a = [1, 2, 3, 4] %}" + String(repeating: "{% set a = a + a %}", count: 40) + "{{ a | length }}",
    ])
    func hugeValues(_ source: String) throws {
        let error = try renderError(source)
        #expect(error.message.contains("grow past") || error.message.contains("steps"), "\(error)")
    }

    @Test("a value whose text is huge is refused before the text is made (the fuzzer's 11 s timeout)", arguments: [
        "{{ range(8880651-444) }}",
        "{% set s = 'x' * 1000000 %}{% set l = [s] %}" + String(repeating: "{% set l = l + l %}", count: 8) + "{{ l }}",
        "{% set s = 'x' * 1000000 %}{% set l = [s] %}" + String(repeating: "{% set l = l + l %}", count: 8) + "{{ l | tojson }}",
        "{% set s = 'x' * 1000000 %}{% set l = [s] %}" + String(repeating: "{% set l = l + l %}", count: 8) + "{{ (l ~ '') | length }}",
    ])
    func hugeText(_ source: String) throws {
        let start = ContinuousClock.now
        let error = try renderError(source)
        #expect(error.message.contains("grow past"), "\(error)")
        #expect(ContinuousClock.now - start < .seconds(5))
    }

    @Test("nested loops are stopped by the step budget")
    func stepBudget() throws {
        let error = try renderError("{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}")
        #expect(error.message.contains("steps") || error.message.contains("grow past"), "\(error)")
    }

    @Test("values nested by repeated literals are refused before their depth threatens the stack")
    func nestedValues() throws {
        let error = try renderError("{% set a = [] %}" + String(repeating: "{% set a = [a] %}", count: 100_000) + "{{ a }}")
        #expect(error.message.contains("nested"), "\(error)")
        let ok = try JinjaTemplate("{% set a = [] %}" + String(repeating: "{% set a = [a] %}", count: 50) + "{{ a | length }}")
        #expect(try ok.render([:]) == "1")
    }

    @Test("deep nesting is refused at parse time, not by the stack", arguments: [
        "{{ " + String(repeating: "(", count: 100_000) + "1" + String(repeating: ")", count: 100_000) + " }}",
        "{{ " + String(repeating: "not ", count: 100_000) + "1 }}",
        "{{ " + String(repeating: "-", count: 100_000) + "1 }}",
        String(repeating: "{% if 1 %}", count: 100_000) + String(repeating: "{% endif %}", count: 100_000),
    ])
    func deepNesting(_ source: String) throws {
        let error = try #require(throws: JinjaError.self) { try JinjaTemplate(source) }
        #expect(error.message.contains("nest"), "\(error)")
    }
}
