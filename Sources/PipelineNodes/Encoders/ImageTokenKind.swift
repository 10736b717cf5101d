import PipelineModels

/// Which EfficientNet map `encoder.image` puts on its `tokens` port (its `tokens:` option), and
/// what the fusion nodes' `encoder_tokens:` names to check widths against: one list of names and
/// one rule for each kind's width.
enum ImageTokenKind: String, CaseIterable {
    /// The head's map after its ReLU6, before pooling (7 x 7 x 1280 for Lite0 at 224 x 224).
    case head
    /// The stride-16 map with each 2 x 2 group of cells merged into one token (7 x 7 x 448).
    case stride16
    /// The stride-16 map, one token per cell (14 x 14 x 112 = 196 x 112).
    case stride16Unmerged = "stride16-unmerged"

    static let names = allCases.map(\.rawValue)

    init(option: String?) { self = option.flatMap(Self.init(rawValue:)) ?? .head }

    /// nil for the head's map; else whether the stride-16 cells are merged 2 x 2.
    var stride16Merged: Bool? {
        switch self {
        case .head: nil
        case .stride16: true
        case .stride16Unmerged: false
        }
    }

    /// The token width this kind has for `network`; nil where it has no stride-16 map.
    func width(of network: EfficientNetModel) -> Int? {
        stride16Merged.map { network.stride16Width(merged: $0) } ?? network.featureSize
    }
}
