/// How an image is fitted to a requested size.
public enum AspectPolicy: Sendable, Equatable {
    /// Scale to exactly the requested size, distorting the aspect ratio.
    case stretch
    /// Scale to fit inside the requested size keeping the aspect ratio, then
    /// pad (centred) with `fill` (one byte per channel; e.g. `[0,0,0]`, or
    /// `[114,114,114]` as YOLO does).
    case letterbox(fill: [UInt8])
    /// Scale so the image covers the requested size keeping the aspect ratio,
    /// then cut the centre (CLIP-style preprocessing).
    case centerCrop
    /// Scale so the shorter side equals `min(width, height)` of the request,
    /// keeping the aspect ratio; the result is not cropped or padded.
    case shorterSide
}

