/// Facts about the file an image was decoded from.
public struct ImageSource: Sendable, Equatable {
    /// The file path.
    public var path: String
    /// FFmpeg's decoder name (e.g. `png`, `mjpeg`, `gif`).
    public var codec: String
    /// FFmpeg's name of the decoded pixel format (e.g. `rgb48be`, `yuvj420p`, `pal8`).
    public var pixelFormat: String
    /// Width as stored in the file, before orientation.
    public var storedWidth: Int
    /// Height as stored in the file, before orientation.
    public var storedHeight: Int
    /// Bits per component of the stored pixels (8, 16, ...).
    public var bitDepth: Int
    /// Whether the stored pixels have an alpha channel.
    public var hasAlpha: Bool
    /// The EXIF orientation found in the file (1 when none).
    public var orientation: ImageOrientation
    /// Whether `orientation` was applied to the pixels.
    public var orientationApplied: Bool

    /// Creates a source description.
    public init(path: String, codec: String, pixelFormat: String, storedWidth: Int, storedHeight: Int,
                bitDepth: Int, hasAlpha: Bool, orientation: ImageOrientation, orientationApplied: Bool) {
        self.path = path
        self.codec = codec
        self.pixelFormat = pixelFormat
        self.storedWidth = storedWidth
        self.storedHeight = storedHeight
        self.bitDepth = bitDepth
        self.hasAlpha = hasAlpha
        self.orientation = orientation
        self.orientationApplied = orientationApplied
    }
}
