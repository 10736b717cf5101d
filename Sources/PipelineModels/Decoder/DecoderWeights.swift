import PipelineTensor

/// A decoder's tensors read from its GGUF file by name, each checked for its shape, and a
/// matrix also for a type the quantized products support, so a bad file fails at load with
/// the tensor's name rather than in the middle of a step.
struct DecoderWeights {
    let file: GGUFFile

    func tensor(_ name: String, _ shape: [Int]) throws -> GGUFTensorInfo {
        guard let t = file.tensor(named: name) else { throw ModelError.missingTensor(name) }
        guard t.dimensions == shape else { throw ModelError.badShape(tensor: name, expected: shape, got: t.dimensions) }
        return t
    }

    /// A weight matrix used in place; `shape` is ggml's (columns, rows).
    func matrix(_ name: String, _ shape: [Int]) throws -> QuantMatrix {
        let t = try tensor(name, shape)
        guard QuantizedDot.activationFormat(for: t.type) != nil, shape[0] % t.type.blockSize == 0 else {
            throw ModelError.badValue(key: name, why: "tensor type \(t.type) is not supported for matrix products")
        }
        return QuantMatrix(t, in: file)
    }

    /// The matrix when the file has it; nil where it may be left out (an output matrix tied
    /// to the token embedding).
    func optionalMatrix(_ name: String, _ shape: [Int]) throws -> QuantMatrix? {
        file.tensor(named: name) == nil ? nil : try matrix(name, shape)
    }

    /// A vector (a norm's weight) as floats.
    func vector(_ name: String, _ count: Int) throws -> [Float] {
        let t = try tensor(name, [count])
        return try Dequantize.row(t.type, file.data(of: t).baseAddress!, count: count)
    }
}
