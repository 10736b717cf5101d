import ArgumentParser
import Foundation
import PipelineTensor

/// `--isa`: the kernel path for the run (auto, avx2, avx512, portable), else `PIPELINE_ISA`.
struct ISAOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Kernel instruction set: auto, avx2, avx512 or portable (default: PIPELINE_ISA, else auto: the fastest this CPU runs).",
        valueName: "isa"))
    var isa: String?

    /// Resolves the flag and the environment, makes the choice the process's kernel path and
    /// returns it; a bad value is an error naming the flag or the variable.
    @discardableResult
    func apply() throws -> ISA {
        do {
            let chosen = try ISA.resolve(flag: isa, environment: ProcessInfo.processInfo.environment)
            ISA.activate(chosen)
            return chosen
        } catch {
            throw ValidationError(error.description)
        }
    }
}
