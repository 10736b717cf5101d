import Foundation
import PackagePlugin

/// Lists every `PipelineNode` type declared in the target's Swift files, so dropping a file
/// into `nodes/` and rebuilding makes its node usable with no other edit.
@main
struct NodeRegistryPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        guard let target = target as? any SourceModuleTarget else { return [] }
        let inputs = target.sourceFiles(withSuffix: "swift").map(\.url)
        let output = context.pluginWorkDirectoryURL.appending(path: "CustomNodeList.swift")
        return [
            .buildCommand(
                displayName: "Listing custom nodes of \(target.name)",
                executable: try context.tool(named: "NodeRegistryGenerator").url,
                arguments: [output.path] + inputs.map(\.path),
                inputFiles: inputs,
                outputFiles: [output])
        ]
    }
}
