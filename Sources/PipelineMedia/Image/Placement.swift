/// Where the scaled picture lies inside a letterboxed result.
public struct Placement: Sendable, Equatable {
    /// Left offset in pixels.
    public var x: Int
    /// Top offset in pixels.
    public var y: Int
    /// Width of the scaled picture.
    public var width: Int
    /// Height of the scaled picture.
    public var height: Int
    /// Scale factor from source to result coordinates (x and y).
    public var scaleX: Double
    /// Scale factor from source to result coordinates.
    public var scaleY: Double
}
