import Foundation
import PipelineCore
import PipelineMedia
import PipelineNodes
import Testing

/// The images a node emitted, in order.
private func images(_ out: [NodeHarness.Emitted]) throws -> [ImagePayload] {
    try out.map { try #require($0.value.imagePayload, "expected an image, got \($0.value.kindName)") }
}

/// Runs `body`, which must throw a per-item error; returns its message.
private func failure(_ body: () throws -> Void) -> String {
    do {
        try body()
    } catch {
        return "\(error)"
    }
    return "(no error)"
}

/// Files every decoding node must fail per item, with the words the message must contain.
/// FFmpeg opens a text file named .jpg as a JPEG stream; what fails then depends on what
/// the node asks of it.
private func brokenInputs(_ f: MediaFixtures, fake: String) -> [(path: String, reason: String)] {
    [
        (f.p("fake.jpg"), fake),
        (f.p("missing.png"), "no such file"),
        (f.p("folder.png"), "not a regular file"),
    ]
}

@Suite("image.decode")
struct ImageDecodeNodeTests {
    @Test("pixels equal PipelineMedia's ImageDecoder, and the CLI's for a PNG", arguments: ["photo.png", "photo.jpg", "alpha.png", "gray.png"])
    func pixels(_ name: String) throws {
        let f = try MediaFixtures.get()
        let node = try NodeHarness(builtin("image.decode"))
        let out = try node.process(.string(f.p(name)), item: f.p(name))
        let image = try #require(try images(out.filter { $0.port == "image" }).first)
        #expect(image.image == (try ImageDecoder.decode(path: f.p(name))))
        #expect(image.path == f.p(name))
        if name == "photo.png" { #expect(image.image.pixels == (try FFmpegCLI.rawRGB(f.p(name)))) }
        let info = try #require(out.first { $0.port == "info" }?.value)
        #expect(info["width"] == .int(image.image.width))
        #expect(info["height"] == .int(image.image.height))
        #expect(info["path"] == .string(f.p(name)))
        #expect(info["codec"] == .string(name.hasSuffix(".jpg") ? "mjpeg" : "png"))
    }

    @Test("alpha: keep follows the file, drop gives RGB, add gives RGBA")
    func alpha() throws {
        let f = try MediaFixtures.get()
        func channels(_ alpha: String, _ file: String) throws -> Int {
            let out = try NodeHarness(builtin("image.decode"), options: ["alpha": .string(alpha)]).process(.string(f.p(file)))
            return try images(out.filter { $0.port == "image" })[0].image.channels
        }
        #expect(try channels("keep", "alpha.png") == 4)
        #expect(try channels("keep", "photo.png") == 3)
        #expect(try channels("drop", "alpha.png") == 3)
        #expect(try channels("add", "photo.png") == 4)
    }

    @Test("width and height resize on the way out, as Image.resized does")
    func resize() throws {
        let f = try MediaFixtures.get()
        let out = try NodeHarness(builtin("image.decode"), options: ["width": 100, "height": 100, "policy": "center-crop"])
            .process(.string(f.p("photo.jpg")))
        let expected = try ImageDecoder.decode(path: f.p("photo.jpg")).resized(width: 100, height: 100, policy: .centerCrop)
        #expect(try images(out.filter { $0.port == "image" })[0].image == expected)
    }

    @Test("bad files fail their item with the path and FFmpeg's reason; the next file still decodes")
    func badInputs() throws {
        let f = try MediaFixtures.get()
        let node = try NodeHarness(builtin("image.decode"))
        for (path, reason) in brokenInputs(f, fake: "Invalid data found when processing input") + [(f.p("tone.wav"), "no video stream"), (f.p("truncated.png"), "decode failed")] {
            let message = failure { _ = try node.process(.string(path), item: path) }
            #expect(message.contains(path) && message.contains(reason), "\(message)")
        }
        #expect(try node.process(.string(f.p("photo.png"))).count == 2)
        #expect(failure { _ = try node.process(42) }.contains("expected a path"))
    }
}

@Suite("image.resize")
struct ImageResizeNodeTests {
    @Test("each policy gives Image.resized's pixels", arguments: ["stretch", "letterbox", "center-crop", "shorter-side"])
    func policies(_ policy: String) throws {
        let f = try MediaFixtures.get()
        let source = try ImageDecoder.decode(path: f.p("photo.jpg"))
        let input = ImagePayload(image: source, path: f.p("photo.jpg"), pts: 1.5)
        let out = try NodeHarness(builtin("image.resize"), options: ["width": 96, "height": 128, "policy": .string(policy), "fill": 114])
            .process(.payload(input))
        let result = try images(out)[0]
        let aspect: AspectPolicy = switch policy {
        case "letterbox": .letterbox(fill: [114, 114, 114, 255])
        case "center-crop": .centerCrop
        case "shorter-side": .shorterSide
        default: .stretch
        }
        #expect(result.image == (try source.resized(width: 96, height: 128, policy: aspect)))
        #expect(result.path == f.p("photo.jpg") && result.pts == 1.5)
        if policy == "letterbox" { #expect(Array(result.image.pixel(x: 0, y: 0)) == [114, 114, 114]) }
    }

    @Test("a 0 side follows the aspect ratio")
    func followAspect() throws {
        let f = try MediaFixtures.get()
        let source = try ImageDecoder.decode(path: f.p("photo.jpg"))  // 400x300
        let out = try NodeHarness(builtin("image.resize"), options: ["width": 200, "height": 0]).process(.payload(ImagePayload(image: source)))
        let image = try images(out)[0].image
        #expect((image.width, image.height) == (200, 150))
        #expect(image == (try source.scaled(width: 200, height: 150)))
    }

    @Test("width and height both 0 is refused before the run; a non-image input fails the item")
    func errors() throws {
        #expect(throws: (any Error).self) { try NodeHarness(builtin("image.resize"), options: ["width": 0, "height": 0]) }
        let node = try NodeHarness(builtin("image.resize"))
        #expect(failure { _ = try node.process("text") }.contains("expected an image"))
    }
}

@Suite("image.normalize")
struct ImageNormalizeNodeTests {
    @Test("gives ImageTensor's CHW values for presets and explicit lists")
    func values() throws {
        let f = try MediaFixtures.get()
        let image = try ImageDecoder.decode(path: f.p("photo.png"))
        let input = Value.payload(ImagePayload(image: image, path: f.p("photo.png")))
        let clip = try NodeHarness(builtin("image.normalize"), options: ["mean": "clip", "std": "clip"]).process(input)
        let tensor = try #require(clip[0].value.tensorPayload)
        let expected = try ImageTensor(image: image, mean: ImageTensor.clipMean, std: ImageTensor.clipStd)
        #expect(tensor.shape == [3, 240, 320] && tensor.shape == expected.shape)
        #expect(tensor.data == expected.data)
        #expect(tensor.path == f.p("photo.png"))
        let plain = try NodeHarness(builtin("image.normalize"), options: ["mean": [0.5], "std": 0.5, "scale": .double(1.0 / 255.0)])
            .process(input)
        #expect(plain[0].value.tensorPayload?.data == (try ImageTensor(image: image, mean: [0.5], std: [0.5]).data))
        // The JSON summary carries the shape, never the values.
        let json = clip[0].value.jsonString()
        #expect(json.contains("\"shape\":[3,240,320]") && json.count < 200, "\(json)")
    }

    @Test("a gray image against 3-channel means fails its item naming the file; bad options fail before the run")
    func errors() throws {
        let f = try MediaFixtures.get()
        let gray = ImagePayload(image: try ImageDecoder.decode(path: f.p("gray.png"), options: ImageDecodeOptions(channels: .auto)))
        if gray.image.channels == 1 {
            let message = failure { _ = try NodeHarness(builtin("image.normalize")).process(.payload(gray)) }
            #expect(message.contains(f.p("gray.png")) && message.contains("mean/std"), "\(message)")
        }
        #expect(throws: (any Error).self) { try NodeHarness(builtin("image.normalize"), options: ["mean": "imagenot"]) }
        #expect(throws: (any Error).self) { try NodeHarness(builtin("image.normalize"), options: ["std": [1, 0, 1]]) }
        #expect(throws: (any Error).self) { try NodeHarness(builtin("image.normalize"), options: ["mean": ["a"]]) }
    }
}

@Suite("image.tiles")
struct ImageTilesNodeTests {
    @Test("one packet per tile, row-major, then the thumbnail, with ImageTiler's pixels")
    func tiles() throws {
        let f = try MediaFixtures.get()
        let image = try ImageDecoder.decode(path: f.p("photo.jpg"))  // 400x300: a 4:3 grid
        let node = try NodeHarness(builtin("image.tiles"), options: ["tile_size": 64, "max_tiles": 12])
        let out = try node.process(.payload(ImagePayload(image: image, path: f.p("photo.jpg"))), sequence: 2)
        let tiling = try ImageTiler(tileSize: 64, maxTiles: 12).tile(image)
        let tiles = try images(out)
        #expect(tiles.count == tiling.tiles.count + 1)
        #expect(tiling.columns * tiling.rows == tiling.tiles.count && tiling.tiles.count > 1)
        for (i, tile) in tiles.enumerated() {
            let position = try #require(tile.tile)
            #expect(position.index == i)
            #expect(position.columns == tiling.columns && position.rows == tiling.rows)
            #expect(out[i].sequence == 2 * 13 + i)
            if i < tiling.tiles.count {
                #expect(tile.image == tiling.tiles[i])
                #expect(position.row == i / tiling.columns && position.column == i % tiling.columns)
            } else {
                #expect(position.isThumbnail)
                #expect(tile.image == tiling.thumbnail)
            }
        }
        #expect(out.last?.value.jsonString().contains("\"thumbnail\":true") == true)
    }

    @Test("one tile and no thumbnail when max_tiles is 1")
    func single() throws {
        let image = Image(width: 50, height: 40, channels: 3, fill: [10, 20, 30])
        let out = try NodeHarness(builtin("image.tiles"), options: ["tile_size": 32, "max_tiles": 1]).process(.payload(ImagePayload(image: image)))
        #expect(out.count == 1)
        #expect(try images(out)[0].image.width == 32)
    }
}

@Suite("audio.decode")
struct AudioDecodeNodeTests {
    @Test("windows equal AudioWindows', timestamped at their start, sequence = window number")
    func windows() throws {
        let f = try MediaFixtures.get()
        let path = f.p("tone.wav")
        let out = try NodeHarness(builtin("audio.decode"), options: ["window": 1.0, "hop": 0.5]).process(.string(path), item: path)
        let decoder = try AudioDecoder(path: path, options: AudioDecodeOptions(sampleRate: 16000, channels: 1))
        let reference = try AudioWindows(decoder: decoder, windowFrames: 16000, hopFrames: 8000)
        var expected: [AudioWindow] = []
        while let w = try reference.next() { expected.append(w) }
        #expect(out.count == expected.count && out.count == 4)  // 2.5 s: starts 0, 0.5, 1, 1.5 (the last ends at 2.5)
        for (i, packet) in out.enumerated() {
            let audio = try #require(packet.value.audioPayload)
            #expect(audio.audio == expected[i].audio)
            #expect(audio.audio.sampleRate == 16000 && audio.audio.channels == 1 && audio.audio.frameCount == 16000)
            #expect(packet.sequence == i && audio.window == i)
            #expect(packet.timestamp == Double(i) * 0.5)
            #expect(audio.path == path)
        }
        // Back to back, the last window (2 s to 2.5 s) is padded to a full second.
        let plain = try NodeHarness(builtin("audio.decode")).process(.string(path), item: path)
        #expect(plain.map(\.timestamp) == [0, 1, 2])
        #expect(plain.last?.value.audioPayload?.paddedFrames == 8000)
    }

    @Test("back-to-back windows put together are what the ffmpeg CLI decodes")
    func matchesCLI() throws {
        let f = try MediaFixtures.get()
        let resampled = f.p("tone-16k.wav")
        try FFmpegCLI.run(["-i", f.p("tone.wav"), "-ar", "16000", "-ac", "1", "-c:a", "pcm_f32le", resampled])
        let reference = try FFmpegCLI.rawF32(resampled)
        let out = try NodeHarness(builtin("audio.decode"), options: ["window": 0.5, "last": "partial"]).process(.string(f.p("tone.wav")))
        let samples = out.flatMap { $0.value.audioPayload?.audio.samples ?? [] }
        #expect(samples.count == reference.count)
        let worst = zip(samples, reference).map { abs($0 - $1) }.max() ?? 1
        #expect(worst < 1e-5)
    }

    @Test("the audio track of a video decodes; the source rate and channels can be kept")
    func videoAudio() throws {
        let f = try MediaFixtures.get()
        let out = try NodeHarness(builtin("audio.decode"), options: ["window": 0.5]).process(.string(f.p("clip.mp4")))
        #expect(out.count >= 4)
        #expect(out.allSatisfy { $0.value.audioPayload?.audio.sampleRate == 16000 })
        let native = try NodeHarness(builtin("audio.decode"), options: ["sample_rate": 0, "channels": 0]).process(.string(f.p("tone.wav")))
        #expect(native.first?.value.audioPayload?.audio.sampleRate == 44100)
        #expect(native.first?.value.audioPayload?.audio.channels == 2)
        let json = native[0].value.jsonString()
        #expect(json.contains("\"sample_rate\":44100") && json.count < 200, "\(json)")
    }

    @Test("files without audio and broken files fail their item with the path and reason")
    func badInputs() throws {
        let f = try MediaFixtures.get()
        let node = try NodeHarness(builtin("audio.decode"))
        for (path, reason) in brokenInputs(f, fake: "no audio stream") + [(f.p("photo.png"), "no audio stream"), (f.p("silent.mp4"), "no audio stream")] {
            let message = failure { _ = try node.process(.string(path), item: path) }
            #expect(message.contains(path) && message.contains(reason), "\(message)")
        }
        #expect(try node.process(.string(f.p("tone.wav"))).count == 3)
    }
}

@Suite("video.decode")
struct VideoDecodeNodeTests {
    @Test("every frame, with VideoDecoder's pixels and ffprobe's timestamps")
    func allFrames() throws {
        let f = try MediaFixtures.get()
        let path = f.p("clip.mp4")
        let out = try NodeHarness(builtin("video.decode"), options: ["threads": 1]).process(.string(path), item: path)
        let times = try FFmpegCLI.frameTimes(path)
        #expect(out.count == 50 && times.count == 50)
        let decoder = try VideoDecoder(path: path, options: VideoDecodeOptions(threads: 1))
        for (i, packet) in out.enumerated() {
            let frame = try #require(packet.value.imagePayload)
            let reference = try #require(try decoder.next())
            #expect(frame.image == reference.image)
            #expect(packet.sequence == i && frame.frameIndex == i)
            let timestamp = try #require(packet.timestamp)
            #expect(abs(timestamp - times[i]) < 1e-6 && frame.pts == timestamp)
            #expect(frame.path == path)
        }
    }

    @Test("interval, fps, every, keyframes, time range and limit choose the frames")
    func sampling() throws {
        let f = try MediaFixtures.get()
        let path = f.p("clip.mp4")
        func run(_ options: [String: Value]) throws -> [NodeHarness.Emitted] {
            try NodeHarness(builtin("video.decode"), options: options).process(.string(path))
        }
        func times(_ out: [NodeHarness.Emitted]) -> [Double] { out.map { (($0.timestamp ?? -1) * 1000).rounded() / 1000 } }
        // 25 fps: the first frame at or after each half second.
        #expect(times(try run(["interval": 0.5])) == [0, 0.52, 1.0, 1.52])
        #expect(times(try run(["fps": 2])) == [0, 0.52, 1.0, 1.52])
        #expect(try images(try run(["every": 10])).map(\.frameIndex) == [0, 10, 20, 30, 40])
        let keys = try images(try run(["keyframes": true]))
        #expect(!keys.isEmpty && keys.allSatisfy { $0.isKeyframe == true })
        #expect(keys.map(\.pts) == (try ProbeKeyframes.times(path)).map { Optional($0) })
        let range = times(try run(["start": 1.0, "end": 1.5]))
        #expect(range.first == 1.0 && range.count == 13 && range.allSatisfy { $0 >= 1.0 && $0 < 1.5 })
        #expect(try run(["limit": 3]).count == 3)
        let small = try images(try run(["width": 80, "limit": 1]))
        #expect(small.map { [$0.image.width, $0.image.height] } == [[80, 60]])
    }

    @Test("two sampling modes at once are refused before the run")
    func conflicts() throws {
        #expect(throws: (any Error).self) { try NodeHarness(builtin("video.decode"), options: ["fps": 1, "every": 2]) }
        #expect(throws: (any Error).self) { try NodeHarness(builtin("video.decode"), options: ["start": 2, "end": 1]) }
    }

    @Test("files without video and broken files fail their item with the path and reason")
    func badInputs() throws {
        let f = try MediaFixtures.get()
        let node = try NodeHarness(builtin("video.decode"))
        for (path, reason) in brokenInputs(f, fake: "video stream has no size") + [(f.p("tone.wav"), "no video stream")] {
            let message = failure { _ = try node.process(.string(path), item: path) }
            #expect(message.contains(path) && message.contains(reason), "\(message)")
        }
        #expect(try node.process(.string(f.p("silent.mp4"))).count == 10)
    }
}

/// Keyframe times from ffprobe's packet flags.
enum ProbeKeyframes {
    static func times(_ path: String) throws -> [Double] {
        let out = try FFmpegCLI.tool(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                                      "packet=pts_time,flags", "-of", "csv=p=0", path])
        return String(decoding: out, as: UTF8.self).split(whereSeparator: \.isNewline).compactMap { line -> Double? in
            let parts = line.split(separator: ",")
            guard parts.count >= 2, parts[1].contains("K") else { return nil }
            return Double(parts[0])
        }.sorted()
    }
}

@Suite("sink.image")
struct ImageSinkTests {
    @Test("PNG files decode back to the same pixels; JPEG by extension; no temporaries left")
    func writes() throws {
        let f = try MediaFixtures.get()
        let tmp = try TempDir()
        let image = try ImageDecoder.decode(path: f.p("photo.png"))
        let payload = Value.payload(ImagePayload(image: image, path: f.p("photo.png")))
        let png = try NodeHarness(builtin("sink.image"), options: ["dir": .string(tmp.path + "/out"), "name": "{stem}-{seq}-{ms}.png"])
        let out = try png.process(payload, item: "in/clip.mp4", sequence: 7, timestamp: 1.25)
        let path = tmp.path + "/out/clip-7-1250.png"
        #expect(out.map(\.value) == [.string(path)])
        #expect(try ImageDecoder.decode(path: path).pixels == image.pixels)
        let probe = try FFmpegCLI.probe(path)
        #expect(probe["codec_name"] == "png" && probe["width"] == "320" && probe["height"] == "240")

        let jpeg = try NodeHarness(builtin("sink.image"), options: ["dir": .string(tmp.path + "/out"), "name": "{stem}.jpg", "quality": 80])
        _ = try jpeg.process(payload, item: "photo.png")
        #expect(try FFmpegCLI.probe(tmp.path + "/out/photo.jpg")["codec_name"] == "mjpeg")
        #expect(tmp.list("out") == ["clip-7-1250.png", "photo.jpg"])
    }

    @Test("a name without an image extension is refused before the run; overwrite false fails the item")
    func errors() throws {
        let tmp = try TempDir()
        #expect(throws: (any Error).self) { try NodeHarness(builtin("sink.image"), options: ["dir": .string(tmp.path), "name": "{stem}.txt"]) }
        let node = try NodeHarness(builtin("sink.image"), options: ["dir": .string(tmp.path), "name": "{stem}.png", "overwrite": false])
        let payload = Value.payload(ImagePayload(image: Image(width: 4, height: 4, channels: 3, fill: [1, 2, 3])))
        _ = try node.process(payload, item: "a.jpg")
        #expect(failure { _ = try node.process(payload, item: "a.jpg") }.contains("exists"))
    }
}

@Suite("sink.audio")
struct AudioSinkTests {
    @Test("float32 WAVs hold the exact samples; pcm16 is the default; ffprobe reads both")
    func writes() throws {
        let f = try MediaFixtures.get()
        let tmp = try TempDir()
        let windows = try NodeHarness(builtin("audio.decode"), options: ["window": 1.0]).process(.string(f.p("tone.wav")), item: f.p("tone.wav"))
        let float = try NodeHarness(builtin("sink.audio"), options: ["dir": .string(tmp.path + "/f"), "encoding": "float32"])
        let pcm = try NodeHarness(builtin("sink.audio"), options: ["dir": .string(tmp.path + "/p"), "name": "{stem}-{ms}.wav"])
        for w in windows {
            _ = try float.process(w.value, item: w.item, sequence: w.sequence, timestamp: w.timestamp)
            _ = try pcm.process(w.value, item: w.item, sequence: w.sequence, timestamp: w.timestamp)
        }
        #expect(tmp.list("f") == ["tone-0.wav", "tone-1.wav", "tone-2.wav"])
        #expect(tmp.list("p") == ["tone-0.wav", "tone-1000.wav", "tone-2000.wav"])
        let first = try #require(windows[0].value.audioPayload)
        #expect(try FFmpegCLI.rawF32(tmp.path + "/f/tone-0.wav") == first.audio.samples)
        let probe = try FFmpegCLI.probe(tmp.path + "/f/tone-1.wav")
        #expect(probe["codec_name"] == "pcm_f32le" && probe["sample_rate"] == "16000" && probe["channels"] == "1")
        #expect(try FFmpegCLI.probe(tmp.path + "/p/tone-0.wav")["codec_name"] == "pcm_s16le")
        let decoded = try FFmpegCLI.rawF32(tmp.path + "/p/tone-0.wav")
        #expect(zip(decoded, first.audio.samples).allSatisfy { abs($0 - $1) < 1.0 / 16000 })
    }
}

@Suite("Media payloads")
struct MediaPayloadTests {
    @Test("media port types ask for small queues; JSON shows a summary, never the pixels")
    func summaries() throws {
        #expect(PortType.image.queueCapacity == 8 && PortType.audio.queueCapacity == 8 && PortType.tensor.queueCapacity == 8)
        let payload = ImagePayload(image: Image(width: 640, height: 480, channels: 3), path: "a.mp4", pts: 2.5, frameIndex: 60, isKeyframe: false)
        let json = Value.payload(payload).jsonString()
        #expect(json == #"{"format":"rgb24","frame":60,"height":480,"keyframe":false,"path":"a.mp4","pts":2.5,"width":640}"#)
        #expect(PortType.json.accepts(.image) == false && PortType.any.accepts(.image))
    }
}

@Suite("Media graphs", .serialized)
struct MediaGraphTests {
    let registry = NodeRegistry(BuiltinNodes.all)

    @Test("bad files among good ones fail alone, each reported with its path; the good ones are written")
    func badAmongGood() throws {
        let f = try MediaFixtures.get()
        let tmp = try TempDir()
        let paths = ["photo.png", "fake.jpg", "missing.png", "folder.png", "photo.jpg"].map { "\"\(f.p($0))\"" }
        let yaml = """
            version: 1
            settings: { watchdog_seconds: 0 }
            nodes:
              - id: src
                type: source.files
                with: { paths: [\(paths.joined(separator: ", "))] }
              - id: decode
                type: image.decode
                inputs: { path: src.path }
              - id: small
                type: image.resize
                inputs: { image: decode.image }
                with: { width: 64, height: 64, policy: letterbox }
              - id: save
                type: sink.image
                inputs: { image: small.image }
                with: { dir: "\(tmp.path)/out", name: "{name}.png" }
              - id: info
                type: sink.jsonl
                inputs: { record: decode.info }
                with: { path: "\(tmp.path)/info.jsonl", envelope: false }
            """
        let summary = try PipelineRun(graph: try PipelineLoader(registry: registry).load(text: yaml)).run()
        #expect(summary.itemsOK == 2 && summary.itemsFailed == 3, "\(summary.text())")
        for bad in ["fake.jpg", "missing.png", "folder.png"] {
            #expect(summary.failures.contains { $0.item == f.p(bad) && $0.message.contains(f.p(bad)) }, "\(summary.failures)")
        }
        #expect(summary.failures.contains { $0.message.contains("Invalid data found when processing input") })
        #expect(tmp.list("out") == ["photo.jpg.png", "photo.png.png"])
        #expect(tmp.read("info.jsonl")?.split(separator: "\n").count == 2)
    }

    @Test("a slow consumer holds video.decode back: the frame queue never holds more than 8")
    func boundedFrames() throws {
        let f = try MediaFixtures.get()
        let tmp = try TempDir()
        let yaml = """
            version: 1
            settings: { watchdog_seconds: 0 }
            nodes:
              - id: src
                type: source.files
                with: { paths: ["\(f.p("clip.mp4"))"] }
              - id: frames
                type: video.decode
                inputs: { path: src.path }
                with: { threads: 1 }
              - id: slow
                type: util.delay
                inputs: { in: frames.frame }
                with: { ms: 2 }
              - id: out
                type: sink.jsonl
                inputs: { record: slow.out }
                with: { path: "\(tmp.path)/frames.jsonl" }
            """
        let summary = try PipelineRun(graph: try PipelineLoader(registry: registry).load(text: yaml)).run()
        #expect(summary.succeeded, "\(summary.text())")
        let edge = try #require(summary.edges.first { $0.edge.hasPrefix("frames") })
        #expect(edge.capacity == 8 && edge.pushed == 50)
        #expect(edge.highWater <= 8)
        let lines = tmp.read("frames.jsonl")?.split(separator: "\n") ?? []
        #expect(lines.count == 50)
        #expect(lines.first.map { $0.contains("\"pts\":0.0") && !$0.contains("pixels") } == true)
    }
}
