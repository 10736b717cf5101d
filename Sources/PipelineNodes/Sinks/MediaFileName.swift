import Foundation
import PipelineCore

/// File names of the media sinks: `sink.files`' template tokens plus `{ms}`.
enum MediaFileName {
    /// The tokens the templates take, for option docs.
    static let tokens = "{stem} (item's file name without extension), {name}, {ext}, {seq} (packet sequence: frame, window or tile number), {ms} (timestamp in milliseconds), {item} (item id with / as _)"

    /// Renders `template` for a packet and joins it to `dir`, refusing names that would
    /// leave the directory.
    static func path(_ template: String, dir: String, packet: Packet) throws -> String {
        let ms = packet.timestamp.map { $0.isFinite ? Int(($0 * 1000).rounded()) : 0 } ?? 0
        let name = FilesSink.render(template, item: packet.item.id, sequence: packet.sequence)
            .replacingOccurrences(of: "{ms}", with: String(ms))
        guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
            throw NodeError("file name template '\(template)' gave an invalid name '\(name)'")
        }
        return (dir as NSString).appendingPathComponent(name)
    }
}
