import Foundation
import PipelineCore

/// The one HTML page that shows scenes: the viewer a person opens (next to each exported
/// scene, with OrbitControls) and the page the renderer drives in headless Chromium.
///
/// The page needs `three.min.js` and `OrbitControls.js` from Debian's `libjs-three` (r111)
/// beside it; `install(into:)` copies them so the page works with no network. Opened with
/// `?scene=FILE.json` (or with the scene name baked in by `viewer(for:)`) it fetches the scene
/// over HTTP (`pipeline view` serves the folder: browsers refuse `fetch` on `file://`). The
/// renderer instead calls `pipelineScene.render(json, options)`, which resolves to a PNG data
/// URL and what was loaded.
enum ScenePage {
    /// Where Debian's libjs-three puts three.js; `PIPELINE_THREE_DIR` overrides it.
    static var threeDirectory: String {
        ProcessInfo.processInfo.environment["PIPELINE_THREE_DIR"] ?? "/usr/share/javascript/three"
    }

    /// The library files the page loads, relative to `threeDirectory`.
    static let libraryFiles = ["three.min.js", "examples/js/controls/OrbitControls.js"]

    /// Nil when the library files are present, else what is missing and how to get it.
    static func missingLibrary() -> String? {
        for file in libraryFiles where !FileManager.default.fileExists(atPath: threeDirectory + "/" + file) {
            return "\(threeDirectory)/\(file) is missing: install Debian's libjs-three (scripts/setup), or set PIPELINE_THREE_DIR"
        }
        return nil
    }

    /// Copies the library files into `dir` (flat: `three.min.js`, `OrbitControls.js`) unless an
    /// identical copy is there; each copy is written atomically.
    static func install(into dir: String) throws {
        if let missing = missingLibrary() { throw NodeError(missing) }
        for file in libraryFiles {
            let source = threeDirectory + "/" + file
            let target = dir + "/" + (file as NSString).lastPathComponent
            guard let bytes = FileManager.default.contents(atPath: source) else { throw NodeError("cannot read \(source)") }
            if FileManager.default.contents(atPath: target) == bytes { continue }
            try AtomicFile.write(Array(bytes), to: target)
        }
    }

    /// The viewer page for the scene file named `sceneFile` (a name in the same folder).
    static func viewer(for sceneFile: String, title: String) -> String {
        html.replacingOccurrences(of: "__SCENE__", with: jsString(sceneFile))
            .replacingOccurrences(of: "__TITLE__", with: escapeHTML(title))
    }

    /// The page the renderer loads (no scene named; it waits for `pipelineScene.render`).
    static var rendererPage: String { viewer(for: "", title: "pipeline renderer") }

    static func jsString(_ s: String) -> String { Value.string(s).jsonString() }

    static func escapeHTML(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static let html = #"""
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <title>__TITLE__</title>
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <style>
          html, body { margin: 0; height: 100%; overflow: hidden; background: #222; font: 14px sans-serif; }
          #info { position: absolute; left: 8px; top: 8px; color: #fff; background: rgba(0,0,0,.45); padding: 4px 8px; border-radius: 4px; }
          canvas { display: block; }
        </style>
        <script src="three.min.js"></script>
        <script src="OrbitControls.js"></script>
        </head>
        <body>
        <div id="info">__TITLE__</div>
        <script>
        "use strict";
        // Made by pipeline's scene.threejs: three.js r111 (Debian libjs-three) ObjectLoader + OrbitControls.
        window.pipelineScene = (function () {
          var state = { renderer: null, scene: null, camera: null, controls: null, errors: [] };
          window.addEventListener("error", function (e) { state.errors.push(String(e.message)); });

          // The WebGL renderer, made once. The viewer puts its canvas in the page; the renderer
          // keeps it off the page, so the compositor has nothing to draw.
          function renderer(width, height, onPage) {
            if (!state.renderer) {
              // ?antialias=0 turns multisampling off (the renderer's choice: 4x MSAA costs SwiftShader dearly).
              var antialias = new URLSearchParams(location.search).get("antialias") !== "0";
              state.renderer = new THREE.WebGLRenderer({ antialias: antialias, preserveDrawingBuffer: true });
              state.renderer.setPixelRatio(1);
            }
            if (onPage && !state.renderer.domElement.parentNode) document.body.appendChild(state.renderer.domElement);
            // Setting a canvas's size, even to the same value, throws its drawing buffer away.
            var canvas = state.renderer.domElement;
            if (canvas.width !== width || canvas.height !== height) state.renderer.setSize(width, height, onPage);
            return state.renderer;
          }

          // Frees a scene's GPU buffers and textures. Materials are left to the garbage collector:
          // disposing the last material of a kind deletes its shader program, and compiling it
          // again for the next scene is most of a software-rendered frame.
          function dispose(scene) {
            scene.traverse(function (o) {
              if (o.geometry) o.geometry.dispose();
              if (o.material && o.material.map) o.material.map.dispose();
            });
          }

          // Parses a three.js JSON object; resolves once its images are decoded.
          function load(json) {
            return new Promise(function (resolve, reject) {
              if (!json || !json.metadata || !json.object) {
                throw new Error("not a three.js JSON scene" + (json && json.objects ? " (a scene record: export it with scene.threejs)" : ""));
              }
              var loader = new THREE.ObjectLoader();
              var manager = loader.manager;
              var failed = null;
              manager.onError = function (url) { failed = "cannot load image " + String(url).slice(0, 60); };
              try {
                loader.parse(json, function (scene) { failed ? reject(new Error(failed)) : resolve(scene); });
              } catch (e) { reject(e); }
            });
          }

          function cameraOf(scene) {
            var camera = scene.getObjectByName("camera");
            if (!camera || !camera.isPerspectiveCamera) {
              camera = new THREE.PerspectiveCamera(50, 1, 0.05, 5000);
              camera.position.set(4, 3, 6);
              camera.lookAt(0, 0.5, 0);
            }
            return camera;
          }

          function target(camera) {
            var t = camera.userData && camera.userData.look_at;
            return t ? new THREE.Vector3(t[0], t[1], t[2]) : new THREE.Vector3(0, 0.5, 0);
          }

          function applyCamera(camera, override) {
            if (!override) return;
            if (override.fov) camera.fov = override.fov;
            if (override.position) camera.position.fromArray(override.position);
            var t = override.look_at ? new THREE.Vector3().fromArray(override.look_at) : target(camera);
            camera.lookAt(t);
            camera.userData.look_at = t.toArray();
          }

          function kinds(scene) {
            var counts = { object: 0, image: 0, points: 0, label: 0 };
            scene.traverse(function (o) { if (o.userData && counts[o.userData.kind] !== undefined) counts[o.userData.kind]++; });
            return counts;
          }

          // The drawing buffer as base64 RGBA, bottom row first (as WebGL reads it): much faster
          // than toDataURL's PNG encoder; the renderer makes the PNG.
          function readPixels(r, width, height) {
            var gl = r.getContext();
            var pixels = new Uint8Array(width * height * 4);
            gl.readPixels(0, 0, width, height, gl.RGBA, gl.UNSIGNED_BYTE, pixels);
            var parts = [];
            for (var i = 0; i < pixels.length; i += 0x8000) {
              parts.push(String.fromCharCode.apply(null, pixels.subarray(i, i + 0x8000)));
            }
            return btoa(parts.join(""));
          }

          // Renders one scene off-screen: resolves to { rgba (or png with options.png), counts, errors, ms }.
          function render(json, options) {
            options = options || {};
            var width = options.width || 224, height = options.height || 224;
            state.errors = [];
            var t0 = performance.now(), t1, t2;
            return load(json).then(function (scene) {
              t1 = performance.now();
              var r = renderer(width, height);
              var camera = cameraOf(scene);
              applyCamera(camera, options.camera);
              camera.aspect = width / height;
              camera.updateProjectionMatrix();
              scene.updateMatrixWorld(true);
              r.render(scene, camera);
              t2 = performance.now();
              var out = { width: width, height: height, counts: kinds(scene), errors: state.errors.slice() };
              if (options.png) out.png = r.domElement.toDataURL("image/png");
              else out.rgba = readPixels(r, width, height);
              out.ms = { load: t1 - t0, draw: t2 - t1, read: performance.now() - t2 };
              if (options.roundTrip) out.json = scene.toJSON();
              if (options.keep) { if (state.scene) dispose(state.scene); state.scene = scene; state.camera = camera; }
              else dispose(scene);
              return out;
            });
          }

          // Shows a scene in the window with orbit controls (the viewer).
          function show(json) {
            return load(json).then(function (scene) {
              var r = renderer(window.innerWidth, window.innerHeight, true);
              if (state.scene) dispose(state.scene);
              state.scene = scene;
              state.camera = cameraOf(scene);
              state.camera.aspect = window.innerWidth / window.innerHeight;
              state.camera.updateProjectionMatrix();
              state.controls = new THREE.OrbitControls(state.camera, r.domElement);
              state.controls.target.copy(target(state.camera));
              state.controls.update();
              state.controls.addEventListener("change", draw);
              window.addEventListener("resize", function () {
                r.setSize(window.innerWidth, window.innerHeight);
                state.camera.aspect = window.innerWidth / window.innerHeight;
                state.camera.updateProjectionMatrix();
                draw();
              });
              draw();
              var c = kinds(scene);
              document.getElementById("info").textContent = document.title + ": " + c.object + " objects, " +
                c.image + " pictures, " + c.points + " point sets (drag to turn, wheel to zoom)";
              return c;
            });
          }

          function draw() { state.renderer.render(state.scene, state.camera); }

          return { render: render, show: show, load: load, state: state };
        })();

        (function () {
          var name = new URLSearchParams(location.search).get("scene") || __SCENE__;
          if (!name) return;
          var info = document.getElementById("info");
          if (location.protocol === "file:") {
            info.textContent = "Browsers do not let a file:// page read " + name + ": run `pipeline view " + name + "` and open the URL it prints.";
            return;
          }
          fetch(name).then(function (r) {
            if (!r.ok) throw new Error(name + ": HTTP " + r.status);
            return r.json();
          }).then(pipelineScene.show).catch(function (e) { info.textContent = "cannot show " + name + ": " + e.message; console.error(e); });
        })();
        </script>
        </body>
        </html>

        """#
}
