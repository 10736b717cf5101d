import Testing

@testable import PipelineModels

@Suite("Chat templates (Jinja subset)")
struct ChatTemplateTests {
    /// SmolLM2's own template, as its GGUF ships it.
    static let smolLM2 = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"

    @Test func smolLM2DefaultSystemLine() throws {
        let t = try ChatTemplate(Self.smolLM2)
        let text = try t.render([ChatMessage(role: "user", content: "What is the capital of France?")])
        #expect(text == "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n")
    }

    @Test func smolLM2OwnSystemAndNoGenerationPrompt() throws {
        let t = try ChatTemplate(Self.smolLM2)
        let text = try t.render([ChatMessage(role: "system", content: "Be brief."), ChatMessage(role: "user", content: "Hi")],
                                addGenerationPrompt: false)
        #expect(text == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n")
    }

    @Test func whitespaceControlLoopsAndFilters() throws {
        let t = try JinjaTemplate("""
            {%- for m in messages -%}
              {{ loop.index }}:{{ m.role | upper }}={{ m.content | trim }}{% if not loop.last %}, {% endif %}
            {%- endfor %}
            {%- set n = messages | length %} n={{ n * 2 - 1 }} {{ 'x' if n > 1 else 'y' }} {{ n % 2 }} {{ 'a' ~ 3 }}
            """)
        let out = try t.render(["messages": .array([
            .dict(["role": .string("user"), "content": .string("  hi ")]),
            .dict(["role": .string("assistant"), "content": .string("yo")]),
        ])])
        #expect(out == "1:USER=hi, 2:ASSISTANT=yo n=3 x 0 a3")
    }

    @Test func testsElifSlicesAndMethods() throws {
        let t = try JinjaTemplate("{% if x is defined %}d{% elif y is none %}n{% else %}e{% endif %}|{{ s[1:3] }}|{{ s.startswith('ab') }}|{{ [1, 2] + [3] }}|{{ 'b' in s }}|{{ z is not defined }}")
        #expect(try t.render(["y": .none, "s": .string("abcd")]) == "n|bc|True|[1, 2, 3]|True|True")
    }

    @Test func raiseExceptionIsAnError() throws {
        let t = try JinjaTemplate("{% if messages | length == 0 %}{{ raise_exception('no messages') }}{% endif %}")
        #expect(throws: JinjaError.self) { try t.render(["messages": .array([])]) }
        do {
            _ = try t.render(["messages": .array([])])
        } catch let e as JinjaError {
            #expect(e.description.contains("no messages"))
        }
    }

    @Test("unknown constructs are refused with their position", arguments: [
        ("{% macro f() %}x{% endmacro %}", "unsupported statement 'macro'"),
        ("{{ x | wordwrap }}", "unsupported filter 'wordwrap'"),
        ("{% for m in messages %}", "missing {% else or endfor %}"),
        ("abc {{ 'unclosed }}", "unclosed '{{'"),
        ("{{ a $ b }}", "unexpected character '$'"),
        ("{{ x is odd }}", "unsupported test 'is odd'"),
    ])
    func refused(_ source: String, _ message: String) {
        do {
            _ = try JinjaTemplate(source).render(["x": .int(1), "messages": .array([])])
            Issue.record("'\(source)' rendered")
        } catch let e as JinjaError {
            #expect(e.message.contains(message), "\(e)")
        } catch {
            Issue.record("\(error)")
        }
    }
}
