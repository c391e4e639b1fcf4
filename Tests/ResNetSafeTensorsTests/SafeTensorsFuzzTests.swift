import Foundation
import XCTest
@testable import ResNetSafeTensors

/// Bounded, seeded fuzzing of `SafeTensorsFile.parse` (inputs drawn from ResNetBase's
/// SplitMix64): every input must end in a thrown `SafeTensorsError` or in a self-consistent
/// parse. A crash or trap fails the whole test run.
final class SafeTensorsFuzzTests: XCTestCase {
    static let seed: UInt64 = 0x5AFE_7E45_0125_2026

    var parsedCount = 0
    var thrownCount = 0

    override func tearDown() {
        print("\(name): \(parsedCount + thrownCount) inputs, \(parsedCount) parsed, \(thrownCount) rejected with an error")
        super.tearDown()
    }

    func baseFile() -> SafeTensorsFile {
        var file = SafeTensorsFile(tensors: [
            SafeTensor(name: "linear.weight", shape: [2, 3], floats: [1, 2, 3, 4, 5, 6]),
            SafeTensor(name: "h", shape: [], doubles: [0.5]),
            SafeTensor(name: "empty", shape: [0, 2], floats: []),
            SafeTensor(name: "step", shape: [1], int64s: [17]),
            SafeTensor(name: "mask", shape: [3], uint8s: [1, 0, 1]),
        ], metadata: ["epoch": "3", "level": "1"])
        file.storeChecksum()
        return file
    }

    /// Parses `bytes`; on success checks that the result is consistent and survives a round trip.
    func check(_ bytes: [UInt8], _ label: @autoclosure () -> String, file: StaticString = #filePath, line: UInt = #line) {
        let parsed: SafeTensorsFile
        do {
            parsed = try SafeTensorsFile.parse(bytes)
        } catch {
            thrownCount += 1
            XCTAssertFalse(error.description.isEmpty, label(), file: file, line: line)
            return
        }
        parsedCount += 1
        do {
            try parsed.validate()
        } catch {
            return XCTFail("\(label()): parse succeeded but the result is invalid: \(error)", file: file, line: line)
        }
        let headerLength = bytes[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let dataLength = bytes.count - 8 - Int(headerLength)
        XCTAssertEqual(parsed.tensors.reduce(0) { $0 + $1.bytes.count }, dataLength,
                       "\(label()): tensors cover the data region", file: file, line: line)
        let again = try? SafeTensorsFile.parse(parsed.serialized())
        XCTAssertEqual(again, parsed, "\(label()): re-serialized file parses to the same content", file: file, line: line)
    }

    func withHeaderLength(_ bytes: [UInt8], _ length: UInt64) -> [UInt8] {
        var out = bytes
        withUnsafeBytes(of: length.littleEndian) { for i in 0..<8 { out[i] = $0[i] } }
        return out
    }

    func testTruncationsAtEveryLength() {
        let bytes = baseFile().serialized()
        for n in 0..<bytes.count {
            check(Array(bytes[0..<n]), "truncated to \(n)")
        }
        XCTAssertEqual(parsedCount, 0, "no proper prefix of a file is a valid file")
        check(bytes, "whole file")
        XCTAssertEqual(parsedCount, 1)
    }

    func testRandomBitFlipsAndByteEdits() {
        var rng = SplitMix64(seed: Self.seed)
        let original = baseFile()
        let bytes = original.serialized()
        var checksumCaught = 0
        for iteration in 0..<5000 {
            var mutated = bytes
            let edits = Int.random(in: 1...4, using: &rng)
            for _ in 0..<edits {
                let i = Int.random(in: 0..<mutated.count, using: &rng)
                switch rng.next() % 3 {
                case 0: mutated[i] ^= 1 << UInt8(rng.next() % 8)
                case 1: mutated[i] = UInt8(truncatingIfNeeded: rng.next())
                default: // a JSON-significant character
                    let alphabet = Array("{}[]\":,-.0123456789e \\u".utf8)
                    mutated[i] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                }
            }
            check(mutated, "iteration \(iteration) of bit flips")
            // A mutation that still parses either keeps the tensors or is caught by the checksum.
            if let parsed = try? SafeTensorsFile.parse(mutated) {
                if (try? parsed.verifyChecksum()) != nil {
                    XCTAssertEqual(parsed.tensors, original.tensors, "iteration \(iteration): checksum passed on changed tensors")
                } else {
                    checksumCaught += 1
                }
            }
        }
        XCTAssertGreaterThan(thrownCount, 0)
        XCTAssertGreaterThan(checksumCaught, 0, "data corruption that parses is caught by the checksum")
    }

    func testHeaderLengthFieldLies() {
        var rng = SplitMix64(seed: Self.seed ^ 1)
        let bytes = baseFile().serialized()
        let trueLength = bytes[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        var lengths: [UInt64] = [0, 1, 7, trueLength - 1, trueLength + 1, UInt64(bytes.count - 8),
                                 UInt64(bytes.count - 7), UInt64(bytes.count), UInt64(SafeTensorsFile.maxHeaderSize),
                                 UInt64(SafeTensorsFile.maxHeaderSize) + 1, UInt64(Int.max), UInt64(Int.max) + 1, .max]
        for _ in 0..<500 { lengths.append(rng.next() >> (rng.next() % 64)) }
        for length in lengths {
            let mutated = withHeaderLength(bytes, length)
            check(mutated, "header length \(length)")
            do {
                _ = try SafeTensorsFile.parse(mutated)
                XCTAssertEqual(length, trueLength, "only the true length parses")
            } catch {
                if length > UInt64(bytes.count - 8) {
                    let e = error.underlying
                    XCTAssertTrue(e == .headerPastEnd(length: length, available: bytes.count - 8)
                                  || e == .headerTooLarge(length: length, limit: SafeTensorsFile.maxHeaderSize), "\(error)")
                }
            }
        }
    }

    /// Headers written from random pieces: offsets past the end, overlapping or gapped, wrong
    /// dtypes and shapes, numbers of every kind, broken JSON.
    func testRandomStructuredHeaders() {
        var rng = SplitMix64(seed: Self.seed ^ 2)
        let dtypes = SafeTensorDType.allCases.map(\.rawValue) + ["F31", "f32", "", "F4", "I128", "\\u0046\\u00332"]
        let numbers = ["0", "1", "2", "3", "4", "8", "-1", "-0", "1.0", "1e3", "2E+1", "0.5", "00", "01",
                       "9223372036854775807", "9223372036854775808", "18446744073709551616", "4294967296",
                       "99999999999999999999999999", "1e400", "-", "1.", "true", "null", "\"4\"", "[]", "{}"]
        func pick<T>(_ a: [T]) -> T { a[Int(rng.next() % UInt64(a.count))] }
        func number() -> String {
            rng.next() % 3 == 0 ? pick(numbers) : String(rng.next() % 40)
        }
        for iteration in 0..<2500 {
            var entries: [String] = []
            let count = Int(rng.next() % 5)
            var offset = 0
            for k in 0..<count {
                let dtype = pick(dtypes)
                var fields: [String] = []
                // Mostly plausible entries, sometimes broken ones.
                let size = SafeTensorDType(rawValue: dtype)?.byteSize ?? 4
                let elements = Int(rng.next() % 4)
                let shape: String
                switch rng.next() % 6 {
                case 0: shape = "[" + (0..<Int(rng.next() % 4)).map { _ in number() }.joined(separator: ",") + "]"
                case 1: shape = pick(["[]", "[0]", "[1,0,3]", "2", "\"[2]\"", "[[2]]", "null"])
                default: shape = "[\(elements)]"
                }
                let begin: String, end: String
                if rng.next() % 5 == 0 {
                    begin = number(); end = number()
                } else {
                    begin = String(offset)
                    offset += elements * size
                    end = String(offset)
                }
                if rng.next() % 16 != 0 { fields.append("\"dtype\":\"\(dtype)\"") }
                if rng.next() % 16 != 0 { fields.append("\"shape\":\(shape)") }
                if rng.next() % 16 != 0 {
                    fields.append(rng.next() % 8 == 0 ? "\"data_offsets\":[\(begin)]" : "\"data_offsets\":[\(begin),\(end)]")
                }
                if rng.next() % 8 == 0 { fields.append("\"extra\":{\"a\":[1,2,{}]}") }
                fields.shuffle(using: &rng)
                let name = rng.next() % 10 == 0 ? "t" : "t\(k)"   // sometimes duplicate names
                entries.append("\"\(name)\":{\(fields.joined(separator: ","))}")
            }
            if rng.next() % 3 == 0 {
                entries.append(pick(["\"__metadata__\":{\"a\":\"b\"}", "\"__metadata__\":{\"a\":1}", "\"__metadata__\":null",
                                     "\"__metadata__\":[]", "\"__metadata__\":{\"a\":\"\\ud800\"}", "\"__metadata__\":{}"]))
            }
            entries.shuffle(using: &rng)
            var header = "{" + entries.joined(separator: ",") + "}"
            // Sometimes break the JSON itself.
            var headerBytes = Array(header.utf8)
            switch rng.next() % 10 {
            case 0 where !headerBytes.isEmpty:
                headerBytes.remove(at: Int(rng.next() % UInt64(headerBytes.count)))
            case 1:
                headerBytes.insert(pick(Array("{}[]\",:\u{0}\u{7f}".utf8)), at: Int(rng.next() % UInt64(headerBytes.count + 1)))
            case 2:
                headerBytes.append(contentsOf: Array(String(repeating: " ", count: Int(rng.next() % 9)).utf8))
            default: break
            }
            header = String(decoding: headerBytes, as: UTF8.self)
            // Usually the data region matches the planned offsets, so that valid files occur.
            let dataLength = rng.next() % 4 == 0 ? Int(rng.next() % 48) : offset
            let data = (0..<dataLength).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            check(rawSafeTensors(header: header, data: data), "iteration \(iteration): \(header)")
        }
        XCTAssertGreaterThan(parsedCount, 50, "some random headers are valid, so the success path is exercised")
        XCTAssertGreaterThan(thrownCount, 500)
    }

    func testDeepNestingAndHugeInputsAreBounded() {
        for depth in [63, 64, 65, 10_000] {
            check(rawSafeTensors(header: "{\"__metadata__\":" + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}", data: []), "depth \(depth)")
        }
        // Claimed sizes far larger than the file never cause allocation: the data slice is bounded by
        // the file and shape products are checked for overflow.
        check(rawSafeTensors(header: #"{"w":{"dtype":"F64","shape":[9223372036854775807],"data_offsets":[0,9223372036854775807]}}"#, data: []), "huge")
        check(rawSafeTensors(header: #"{"w":{"dtype":"U8","shape":[3037000500,3037000500],"data_offsets":[0,0]}}"#, data: []), "overflowing shape")
    }
}
