import Foundation
import XCTest
@testable import ResNetSafeTensors

/// Interoperability with Python's `safetensors` package (pip install safetensors numpy; installed
/// by launch/setup). Skipped, with a message, when python3 or the package is missing.
final class SafeTensorsPythonTests: XCTestCase {

    /// Runs `python3 -c script args...`; returns (exit status, stdout, stderr).
    func runPython(_ script: String, _ args: [String] = []) throws -> (Int32, String, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script] + args
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }

    func requirePythonSafetensors() throws {
        let status = (try? runPython("import safetensors, numpy"))?.0 ?? -1
        if status != 0 {
            throw XCTSkip("python3 with the safetensors and numpy packages is unavailable (pip install safetensors numpy; launch/setup does this)")
        }
    }

    func testPythonReadsSwiftFile() throws {
        try requirePythonSafetensors()
        let dir = try makeTemporaryDirectory("st-py1")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/swift.safetensors"
        var file = SafeTensorsFile(tensors: [
            SafeTensor(name: "blocks.0.linear1.weight", shape: [2, 3], floats: [1, 2, 3, -4, 5.5, 6e-8]),
            SafeTensor(name: "h", shape: [], doubles: [0.5]),
            SafeTensor(name: "empty", shape: [0], floats: []),
            SafeTensor(name: "step", shape: [2], int64s: [-1, 1 << 40]),
            SafeTensor(name: "mask", shape: [3], uint8s: [0, 1, 255]),
        ], metadata: ["epoch": "7", "integrator": "rk2"])
        file.storeChecksum()
        try file.write(atomicallyTo: path)

        let script = """
        import sys, json, numpy as np
        from safetensors import safe_open
        from safetensors.numpy import load_file
        t = load_file(sys.argv[1])
        with safe_open(sys.argv[1], framework="np") as f:
            md = f.metadata()
        out = {k: {"dtype": str(v.dtype), "shape": list(v.shape), "values": v.reshape(-1).tolist()} for k, v in t.items()}
        print(json.dumps({"tensors": out, "metadata": md}))
        """
        let (status, stdout, stderr) = try runPython(script, [path])
        XCTAssertEqual(status, 0, stderr)
        let json = try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as! [String: Any]
        let tensors = json["tensors"] as! [String: [String: Any]]
        XCTAssertEqual(Set(tensors.keys), ["blocks.0.linear1.weight", "h", "empty", "step", "mask"])
        XCTAssertEqual(tensors["blocks.0.linear1.weight"]?["dtype"] as? String, "float32")
        XCTAssertEqual(tensors["blocks.0.linear1.weight"]?["shape"] as? [Int], [2, 3])
        XCTAssertEqual((tensors["blocks.0.linear1.weight"]?["values"] as? [Double])?.map(Float.init), [1, 2, 3, -4, 5.5, 6e-8])
        XCTAssertEqual(tensors["h"]?["shape"] as? [Int], [])
        XCTAssertEqual(tensors["h"]?["values"] as? [Double], [0.5])
        XCTAssertEqual(tensors["h"]?["dtype"] as? String, "float64")
        XCTAssertEqual(tensors["empty"]?["shape"] as? [Int], [0])
        XCTAssertEqual(tensors["step"]?["dtype"] as? String, "int64")
        XCTAssertEqual(tensors["step"]?["values"] as? [Int], [-1, 1 << 40])
        XCTAssertEqual(tensors["mask"]?["dtype"] as? String, "uint8")
        XCTAssertEqual(tensors["mask"]?["values"] as? [Int], [0, 1, 255])
        XCTAssertEqual(json["metadata"] as? [String: String], file.metadata)
    }

    func testSwiftReadsPythonFile() throws {
        try requirePythonSafetensors()
        let dir = try makeTemporaryDirectory("st-py2")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/python.safetensors"
        let script = """
        import sys, numpy as np
        from safetensors.numpy import save_file
        save_file({
            "w": np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5,
            "i": np.array([1, -2], dtype=np.int64),
            "s": np.array(3.5, dtype=np.float64),
            "e": np.zeros((0, 3), dtype=np.float32),
            "b": np.array([1, 2, 3], dtype=np.uint8),
            "i32": np.array([[7], [-8]], dtype=np.int32),
        }, sys.argv[1], metadata={"epoch": "3", "note": "é"})
        """
        let (status, _, stderr) = try runPython(script, [path])
        XCTAssertEqual(status, 0, stderr)
        let file = try SafeTensorsFile.read(path: path)
        XCTAssertEqual(Set(file.tensors.map(\.name)), ["w", "i", "s", "e", "b", "i32"])
        XCTAssertEqual(file["w"]?.shape, [2, 3])
        XCTAssertEqual(try file["w"]?.floats, [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5])
        XCTAssertEqual(try file["i"]?.int64s, [1, -2])
        XCTAssertEqual(file["s"]?.shape, [])
        XCTAssertEqual(try file["s"]?.doubles, [3.5])
        XCTAssertEqual(file["e"]?.shape, [0, 3])
        XCTAssertEqual(file["e"]?.bytes, [])
        XCTAssertEqual(try file["b"]?.uint8s, [1, 2, 3])
        XCTAssertEqual(file["i32"]?.shape, [2, 1])
        XCTAssertEqual(try file["i32"]?.int32s, [7, -8])
        XCTAssertEqual(file.metadata, ["epoch": "3", "note": "é"])
    }

    /// For a file whose tensors Python would order the same way (one dtype, names sorted) and one
    /// metadata key, Swift's bytes are identical to the reference writer's.
    func testSwiftBytesMatchPythonBytes() throws {
        try requirePythonSafetensors()
        let dir = try makeTemporaryDirectory("st-py3")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/python.safetensors"
        let script = """
        import sys, numpy as np
        from safetensors.numpy import save_file
        save_file({"a.bias": np.array([1, 2], dtype=np.float32),
                   "a.weight": np.array([[0.5, -1], [2, 3]], dtype=np.float32),
                   "b": np.array(9, dtype=np.float32)}, sys.argv[1], metadata={"epoch": "12"})
        """
        let (status, _, stderr) = try runPython(script, [path])
        XCTAssertEqual(status, 0, stderr)
        let pythonBytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let swift = SafeTensorsFile(tensors: [
            SafeTensor(name: "a.bias", shape: [2], floats: [1, 2]),
            SafeTensor(name: "a.weight", shape: [2, 2], floats: [0.5, -1, 2, 3]),
            SafeTensor(name: "b", shape: [], floats: [9]),
        ], metadata: ["epoch": "12"])
        XCTAssertEqual(swift.serialized(), pythonBytes,
                       "Swift: \(String(decoding: swift.serialized().prefix(200), as: UTF8.self))\nPython: \(String(decoding: pythonBytes.prefix(200), as: UTF8.self))")
    }
}
