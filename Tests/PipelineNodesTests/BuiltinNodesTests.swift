import PipelineCore
import PipelineNodes
import Testing

@Suite("Built-in node list")
struct BuiltinNodesTests {
    @Test("type names are unique and dotted by family")
    func names() {
        let names = BuiltinNodes.all.map { $0.type }
        #expect(Set(names).count == names.count)
        for name in names {
            let parts = name.split(separator: ".", omittingEmptySubsequences: false)
            #expect(parts.count == 2 && parts.allSatisfy { !$0.isEmpty }, "\(name)")
        }
    }

    @Test("every type documents itself and its defaults fit its own schema", arguments: BuiltinNodes.all.map { $0.type })
    func schema(_ name: String) {
        let type = builtin(name)
        #expect(!type.summary.isEmpty)
        #expect(Set(type.inputs.map(\.name)).count == type.inputs.count)
        #expect(Set(type.outputs.map(\.name)).count == type.outputs.count)
        #expect(Set(type.options.map(\.name)).count == type.options.count)
        for option in type.options {
            #expect(!option.doc.isEmpty, "\(name).\(option.name) has no doc")
            #expect(!(option.required && option.defaultValue != nil), "\(name).\(option.name) is required and has a default")
            if let value = option.defaultValue, case .failure(let problem) = option.coerce(value) {
                Issue.record("\(name).\(option.name) default \(value.jsonString()): \(problem)")
            }
        }
    }
}
