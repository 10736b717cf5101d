import Foundation

/// The command line of a model benchmark driver: positional arguments and `--name N` integer
/// options (`--threads 2 --runs 3`), as scripts/bench-* pass them.
public struct BenchArguments {
    public var positional: [String] = []
    public var options: [String: Int] = [:]

    public init(_ arguments: [String] = Array(CommandLine.arguments.dropFirst())) {
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            if argument.hasPrefix("--"), let value = rest.popFirst().flatMap({ Int($0) }) {
                options[String(argument.dropFirst(2))] = value
            } else {
                positional.append(argument)
            }
        }
    }

    /// Exits with the usage line unless there are exactly `count` positional arguments.
    public func require(_ count: Int, usage: String) {
        guard positional.count == count else {
            FileHandle.standardError.write(Data("usage: \(usage)\n".utf8))
            exit(2)
        }
    }

    /// `--runs`, at least 1 (default 3).
    public var runs: Int { max(1, options["runs"] ?? 3) }
}

/// The shortest wall time of `runs` calls of `body`.
public func bestSeconds(runs: Int, _ body: () throws -> Void) rethrows -> Double {
    var best = Double.infinity
    for _ in 0..<runs {
        let start = Date()
        try body()
        best = min(best, Date().timeIntervalSince(start))
    }
    return best
}

/// Reports `error` as `tool: error` on stderr and exits 1.
public func fail(_ tool: String, _ error: any Error) -> Never {
    FileHandle.standardError.write(Data("\(tool): \(error)\n".utf8))
    exit(1)
}
