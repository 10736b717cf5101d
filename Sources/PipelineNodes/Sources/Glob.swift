import Foundation

/// Shell-style path patterns: `*`, `?`, `[abc]` within a path component and `**` for any
/// number of directories. Matching is done on components with fnmatch(3).
enum Glob {
    static func hasWildcards(_ pattern: String) -> Bool {
        pattern.contains { "*?[".contains($0) }
    }

    /// Paths matching `pattern`, sorted. Hidden entries match only when the pattern
    /// component starts with a dot.
    static func expand(_ pattern: String) -> [String] {
        let absolute = pattern.hasPrefix("/")
        let components = pattern.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        var results: [String] = []
        walk(base: absolute ? "/" : "", components: components[...], into: &results)
        return Array(Set(results)).sorted()
    }

    private static func join(_ base: String, _ name: String) -> String {
        base.isEmpty ? name : base.hasSuffix("/") ? base + name : base + "/" + name
    }

    private static func walk(base: String, components: ArraySlice<String>, into results: inout [String]) {
        guard let first = components.first else {
            if !base.isEmpty { results.append(base) }
            return
        }
        let rest = components.dropFirst()
        let fm = FileManager.default
        if first == "**" {
            walk(base: base, components: rest, into: &results)
            for entry in entries(base) where isDirectory(join(base, entry)) && !entry.hasPrefix(".") {
                walk(base: join(base, entry), components: components, into: &results)
            }
        } else if hasWildcards(first) {
            for entry in entries(base) where matches(first, entry) {
                walk(base: join(base, entry), components: rest, into: &results)
            }
        } else {
            let next = join(base, first)
            if rest.isEmpty ? fm.fileExists(atPath: next) : isDirectory(next) {
                walk(base: next, components: rest, into: &results)
            }
        }
    }

    private static func entries(_ dir: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: dir.isEmpty ? "." : dir)) ?? []
    }

    static func isDirectory(_ path: String) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
    }

    /// fnmatch with FNM_PERIOD: a leading dot must be matched explicitly.
    static func matches(_ pattern: String, _ name: String) -> Bool {
        fnmatch(pattern, name, FNM_PERIOD) == 0
    }
}
