/// Image file formats the writer encodes with FFmpeg.
public enum ImageFileFormat: String, Sendable, CaseIterable {
    /// PNG through FFmpeg's `png` encoder (lossless; gray, RGB or RGBA kept).
    case png
    /// JPEG through FFmpeg's `mjpeg` encoder (4:2:0 full-range YUV; alpha dropped).
    case jpeg

    /// The format for a file extension (`png`, `jpg`, `jpeg`), case-insensitive.
    public init?(pathExtension ext: String) {
        switch ext.lowercased() {
        case "png": self = .png
        case "jpg", "jpeg": self = .jpeg
        default: return nil
        }
    }
}
