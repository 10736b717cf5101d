import Foundation

/// The shape and special tokens of a Whisper model in CTranslate2 form, read from `model.bin`
/// (layer counts and widths from the variables) and `config.json` (token suppression).
public struct WhisperConfig: Sendable, Equatable {
    public var melBands = 80
    public var width = 384
    public var heads = 6
    public var ffnWidth = 1536
    public var encoderLayers = 4
    public var decoderLayers = 4
    /// Encoder positions (frames after the stride-2 convolution).
    public var audioContext = 1500
    /// Decoder positions: the most tokens one window can hold, prompt included.
    public var textContext = 448
    public var vocabSize = 51864
    public var endOfText = 50256
    public var startOfTranscript = 50257
    public var noTimestamps = 50362
    /// Tokens never sampled (`suppress_ids` of config.json, CTranslate2's `suppress_tokens=[-1]`).
    public var suppress: [Int] = []
    /// Tokens not sampled first (`suppress_ids_begin`: a blank and end-of-text).
    public var suppressAtBegin: [Int] = []

    public init() {}

    /// Derives the shape from the variables of `file` and reads the suppression lists of the
    /// `config.json` beside it (absent: nothing suppressed).
    init(file: CT2File, configJSON: URL) throws {
        guard file.specName == "WhisperSpec" else {
            throw CT2Error.wrongSpec(path: file.path, spec: file.specName, expected: "WhisperSpec")
        }
        guard let conv1 = file.variables["encoder/conv1/weight"], conv1.shape.count == 3,
              let emb = file.variables["decoder/embeddings/weight"], emb.shape.count == 2,
              let enc = file.variables["encoder/position_encodings/encodings"], enc.shape.count == 2,
              let dec = file.variables["decoder/position_encodings/encodings"], dec.shape.count == 2,
              let ffn = file.variables["encoder/layer_0/ffn/linear_0/weight"], ffn.shape.count == 2
        else {
            throw CT2Error.missingVariable(path: file.path, variable: "encoder/conv1/weight", expectedShape: [384, 80, 3])
        }
        width = conv1.shape[0]
        melBands = conv1.shape[1]
        vocabSize = emb.shape[0]
        audioContext = enc.shape[0]
        textContext = dec.shape[0]
        ffnWidth = ffn.shape[0]
        heads = file.integer("encoder/num_heads") ?? heads
        // Every size divides or indexes a buffer: a zero, or heads that do not split the
        // width, would divide by zero or read past a row.
        guard [width, melBands, vocabSize, audioContext, textContext, ffnWidth].allSatisfy({ $0 > 0 }),
            heads > 0, heads <= width, width % heads == 0
        else {
            throw CT2Error.badValue(
                path: file.path, variable: "encoder/num_heads",
                reason: "\(heads) heads for width \(width) (sizes: \(melBands) mel bands, vocabulary \(vocabSize), "
                    + "contexts \(audioContext)/\(textContext), FFN \(ffnWidth))")
        }
        encoderLayers = (0...).first { file.variables["encoder/layer_\($0)/ffn/linear_0/weight"] == nil } ?? 0
        decoderLayers = (0...).first { file.variables["decoder/layer_\($0)/ffn/linear_0/weight"] == nil } ?? 0
        if let data = try? Data(contentsOf: configJSON),
           let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
            suppress = (json["suppress_ids"] as? [Int]) ?? []
            suppressAtBegin = (json["suppress_ids_begin"] as? [Int]) ?? []
        }
    }
}
