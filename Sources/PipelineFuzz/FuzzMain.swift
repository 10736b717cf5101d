import Foundation

#if FUZZING
/// libFuzzer's entry (built by `scripts/fuzz` with `--sanitize=fuzzer -DFUZZING`); the
/// target comes from `PIPELINE_FUZZ_TARGET`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    FuzzTargets.run(FuzzMain.target, bytes.map { Data(bytes: $0, count: count) } ?? Data())
    return 0
}
#else
/// Without libFuzzer: `pipeline-fuzz TARGET FILE-OR-FOLDER...` runs every file through the
/// target, for replaying a corpus or a crash (and in the tests).
@main
enum FuzzReplay {
    static func main() {
        let arguments = CommandLine.arguments.dropFirst()
        guard let target = arguments.first, FuzzTargets.names.contains(target), arguments.count >= 2 else {
            print("usage: pipeline-fuzz TARGET FILE-OR-FOLDER...  (targets: \(FuzzTargets.names.joined(separator: ", ")))")
            exit(2)
        }
        var count = 0
        for argument in arguments.dropFirst() {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) else {
                print("no such file: \(argument)")
                exit(2)
            }
            let files = isDirectory.boolValue
                ? ((try? FileManager.default.contentsOfDirectory(atPath: argument)) ?? []).sorted().map { argument + "/" + $0 }
                : [argument]
            for path in files {
                guard let data = FileManager.default.contents(atPath: path) else { continue }
                FuzzTargets.run(target, data)
                count += 1
            }
        }
        print("\(target): \(count) inputs, no crash")
    }
}
#endif

/// The target a libFuzzer run drives.
enum FuzzMain {
    static let target = ProcessInfo.processInfo.environment["PIPELINE_FUZZ_TARGET"] ?? "gguf"
}
