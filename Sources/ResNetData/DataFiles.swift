import Foundation

/// Where Debian's `dataset-fashion-mnist` package puts the files.
public let defaultFashionMNISTDirectory = "/usr/share/datasets/fashion-mnist"

/// Where users are asked to unpack the CIFAR-10 binary version (nothing installs it by default).
public let defaultCIFAR10Directory = "/usr/share/datasets/cifar-10-batches-bin"

let fashionMNISTHint = "Install it with `apt-get install dataset-fashion-mnist`, "
    + "or pass --data-dir DIR pointing at a directory with the Fashion-MNIST IDX files."

let cifar10Hint = "Download the CIFAR-10 binary version "
    + "(https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz), unpack it and pass "
    + "--data-dir DIR pointing at the cifar-10-batches-bin directory."

/// File access shared by the loaders.
enum DataFiles {
    /// The path of `name` in `directory`, preferring `name.gz`; throws if neither exists.
    static func locate(_ name: String, in directory: String, hint: String) throws(DataError) -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory),
              isDirectory.boolValue else {
            throw .missingDirectory(path: directory, hint: hint)
        }
        let plain = (directory as NSString).appendingPathComponent(name)
        for candidate in [plain + ".gz", plain] where FileManager.default.fileExists(atPath: candidate) {
            return candidate
        }
        throw .missingFile(path: plain, hint: hint)
    }

    /// The bytes of `path`, inflated if it is gzip-compressed (detected by its magic, not its name).
    static func readDecoded(_ path: String) throws(DataError) -> [UInt8] {
        let raw = try read(path)
        return Gzip.isGzip(raw) ? try Gzip.decompress(raw, path: path) : raw
    }

    /// The bytes of an IDX file, inflated if gzip-compressed — never past the size its header
    /// announces, so a small file that inflates to gigabytes (a gzip bomb) is refused at once.
    static func readDecodedIDX(_ path: String, magic: UInt32) throws(DataError) -> [UInt8] {
        let raw = try read(path)
        guard Gzip.isGzip(raw) else { return raw }
        let headerSize = 4 + 4 * Int(magic & 0xFF)
        let header = try Gzip.decompressPrefix(raw, count: headerSize, path: path)
        // A damaged stream: inflating (a little of) it names the damage. A wrong magic: parsing
        // the header says so.
        guard header.count == headerSize else { return try Gzip.decompress(raw, path: path, maxOutputBytes: 1 << 20) }
        guard readUInt32BE(header, 0) == magic else { return header }
        var announced = headerSize, elements = 1
        for k in 1..<(headerSize / 4) {
            let (product, overflow) = elements.multipliedReportingOverflow(by: Int(readUInt32BE(header, 4 * k)))
            guard !overflow, product <= Int.max / 2 else { return header }
            elements = product
        }
        announced += elements
        // The header's claim bounds nothing by itself (a small file can claim 2^48 bytes and
        // inflate for gigabytes before it is found short): no IDX dataset this program reads
        // comes near 1 GiB, so a larger claim is refused before inflating anything.
        guard elements <= maxIDXDataBytes else {
            let dims = (1..<(headerSize / 4)).map { String(readUInt32BE(header, 4 * $0)) }.joined(separator: " × ")
            throw .badDimensions(path: path, detail: "its header announces \(dims) = \(elements) bytes of data, more than the \(maxIDXDataBytes >> 30) GiB an IDX dataset may hold here; the file is corrupt or not a dataset resnet-dist reads")
        }
        do {
            return try Gzip.decompress(raw, path: path, maxOutputBytes: announced + 1)
        } catch {
            if case .corruptGzip(_, let detail) = error, detail.hasPrefix("decompressed data exceed") {
                throw .corruptGzip(path: path, detail: "it inflates to more than the \(announced) bytes its IDX header announces (inflating stopped there)")
            }
            throw error
        }
    }

    /// The most data bytes an IDX file may announce (Fashion-MNIST's training images: 47 MB).
    static let maxIDXDataBytes = 1 << 30

    static func read(_ path: String) throws(DataError) -> [UInt8] {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw .unreadableFile(path: path, reason: "it is a directory, not a data file; --data-dir names the directory that holds the files")
        }
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe)
            return [UInt8](data)
        } catch {
            throw .unreadableFile(path: path, reason: (error as NSError).localizedDescription)
        }
    }
}
