import Foundation

/// ffprobe queries used as the timestamp reference.
enum Probe {
    /// `best_effort_timestamp_time` of every video frame of `path`.
    static func frameTimes(_ path: String) throws -> [Double] {
        let out = try Tool.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                                "frame=best_effort_timestamp_time", "-of", "csv=p=0", path])
        return String(decoding: out, as: UTF8.self).split(whereSeparator: \.isNewline)
            .compactMap { Double($0.trimmingCharacters(in: CharacterSet(charactersIn: ", "))) }
    }

    /// Presentation times of keyframe packets of the first video stream.
    static func keyframeTimes(_ path: String) throws -> [Double] {
        let out = try Tool.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                                "packet=pts_time,flags", "-of", "csv=p=0", path])
        return String(decoding: out, as: UTF8.self).split(whereSeparator: \.isNewline).compactMap { line in
            let parts = line.split(separator: ",")
            guard parts.count >= 2, parts[1].contains("K") else { return nil }
            return Double(parts[0])
        }.sorted()
    }
}
