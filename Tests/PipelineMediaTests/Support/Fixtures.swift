import Foundation

/// Test media generated once per test process with the ffmpeg CLI into a temp folder.
///
/// Nothing is downloaded: every file comes from lavfi sources (testsrc2, sine,
/// anoisesrc) encoded with the codecs Debian's FFmpeg 5.1 ships.
final class Fixtures: Sendable {
    /// Shared fixtures; generation failures surface as thrown errors in each test.
    static let shared: Result<Fixtures, any Error> = Result { try Fixtures() }

    /// Convenience accessor that throws the generation error.
    static func get() throws -> Fixtures { try shared.get() }

    let dir: String

    private init() throws {
        let tmp = FileManager.default.temporaryDirectory
        // Remove folders left by earlier test processes that are gone.
        for name in (try? FileManager.default.contentsOfDirectory(atPath: tmp.path)) ?? []
        where name.hasPrefix("pipeline-media-") {
            if let pid = Int32(name.dropFirst("pipeline-media-".count)), pid != getpid(), kill(pid, 0) != 0 {
                try? FileManager.default.removeItem(at: tmp.appendingPathComponent(name))
            }
        }
        let base = tmp.appendingPathComponent("pipeline-media-\(getpid())")
        try? FileManager.default.removeItem(at: base)
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        dir = base.path
        let src = "testsrc2=size=320x240:rate=25"
        // Still images.
        try Tool.ffmpeg(["-f", "lavfi", "-i", src, "-frames:v", "1", p("rgb.png")])
        try Tool.ffmpeg(["-f", "lavfi", "-i", src, "-frames:v", "1", "-q:v", "3", p("photo.jpg")])
        try Tool.ffmpeg(["-f", "lavfi", "-i", src, "-frames:v", "1", p("image.bmp")])
        try Tool.ffmpeg(["-f", "lavfi", "-i", src, "-frames:v", "1", "-c:v", "libwebp", "-quality", "80", p("image.webp")])
        try Tool.ffmpeg(["-f", "lavfi", "-i", src, "-frames:v", "1", p("image.tiff")])
        try Tool.ffmpeg(["-f", "lavfi", "-i", src, "-frames:v", "3", p("anim.gif")])
        try Tool.ffmpeg(["-f", "lavfi", "-i", src, "-frames:v", "1", "-pix_fmt", "gray", p("gray.png")])
        try Tool.ffmpeg(["-f", "lavfi", "-i", src, "-frames:v", "1", "-vf", "format=rgba,colorchannelmixer=aa=0.5",
                         "-pix_fmt", "rgba", p("alpha.png")])
        try Tool.ffmpeg(["-f", "lavfi", "-i", src, "-frames:v", "1", "-pix_fmt", "rgb48be", p("deep.png")])
        try Tool.ffmpeg(["-f", "lavfi", "-i", src, "-frames:v", "1", "-pix_fmt", "gray16be", p("gray16.png")])
        // Audio.
        let tone = "sine=frequency=440:sample_rate=44100:duration=3"
        try Tool.ffmpeg(["-f", "lavfi", "-i", tone, "-f", "lavfi", "-i", "anoisesrc=d=3:c=pink:r=44100:a=0.3:seed=7",
                         "-filter_complex", "[0][1]amerge=inputs=2", "-c:a", "pcm_s16le", p("stereo.wav")])
        try Tool.ffmpeg(["-i", p("stereo.wav"), p("audio.flac")])
        try Tool.ffmpeg(["-i", p("stereo.wav"), "-c:a", "libmp3lame", "-b:a", "128k", p("audio.mp3")])
        try Tool.ffmpeg(["-i", p("stereo.wav"), "-c:a", "libvorbis", p("audio.ogg")])
        try Tool.ffmpeg(["-i", p("stereo.wav"), "-c:a", "libopus", p("audio.opus")])
        try Tool.ffmpeg(["-i", p("stereo.wav"), "-c:a", "aac", p("audio.m4a")])
        // Video.
        try Tool.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=2",
                         "-f", "lavfi", "-i", "sine=frequency=330:sample_rate=48000:duration=2",
                         "-c:v", "libx264", "-g", "10", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", p("video.mp4")])
        try Tool.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10:duration=2",
                         "-c:v", "mjpeg", "-q:v", "4", p("video.avi")])
        try Tool.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=1",
                         "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "300k", p("video.webm")])
        // An MP3 with cover art: an audio file whose only "video" stream is an attached picture.
        try Tool.ffmpeg(["-i", p("audio.mp3"), "-i", p("photo.jpg"), "-map", "0:a", "-map", "1:v", "-c", "copy",
                         "-disposition:v", "attached_pic", "-id3v2_version", "3", p("cover.mp3")])
        // 1080p for the memory test: 4 s at 30 fps.
        try Tool.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=30:duration=4",
                         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", p("long1080.mp4")])
    }

    /// Path of a fixture (or of a new file) in the fixture folder.
    func p(_ name: String) -> String { dir + "/" + name }

    /// Writes `data` to a new fixture file and returns its path.
    func write(_ name: String, _ data: Data) throws -> String {
        let path = p(name)
        try data.write(to: URL(fileURLWithPath: path))
        return path
    }
}
